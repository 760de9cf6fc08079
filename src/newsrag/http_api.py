"""The plain HTTP JSON API beside the chat page, and the request checks every entry point shares.

``POST /api/ask`` takes ``{"question", "k"?, "speaker"?, "since"?, "until"?, "history"?}`` and
returns exactly the object ``newsrag ask --json`` prints (:meth:`Answer.to_dict`); bad input gets
HTTP 400 with ``{"error": "<the clear message>"}``. ``GET /api/articles`` lists the articles.

Developers and other services get one ordinary POST instead of Gradio's two-step queue protocol.
The page's handlers, Gradio's ``/ask`` endpoint and ``/api/ask`` all go through
:func:`parse_ask` and :class:`Answering`, so every field is bounded the same way everywhere (an
unbounded speaker or history once let one caller slow everyone 20x), only the server's own
settings decide whether a language model writes answers, and errors reach the caller as their
message while the log gets one short line.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .answering import Answer, check_question
from .errors import NewsragError, QuestionError
from .loader import IndexLoader, IndexNotReadyError

__all__ = ["AskRequest", "Answering", "parse_ask", "short", "add_routes", "LIMITS"]

log = logging.getLogger("newsrag")

# Bounds on what one request may carry; generous for people, small for abuse.
LIMITS = {
    # the largest valid request (21 questions of 2,000 characters, even as 3-byte UTF-8) fits
    "body_bytes": 256 * 1024,
    "speaker_chars": 100,      # the longest speaker name in the seed corpus has 16
    "date_chars": 40,          # "2020-01-07", "January 2020"
    "history_items": 20,       # follow-ups only look at the latest earlier question
    "k_max": 50,               # as `newsrag ask -k`
}
HTTP_WAIT_SECONDS = 5.0
FIELDS = ("question", "k", "speaker", "since", "until", "history")
HAS_WORD = re.compile(r"\w")


def short(value: Any, limit: int = 80) -> str:
    """``repr`` cut to ``limit`` characters, for log lines: a 100 KB bad value must not be
    copied into the log."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} chars)"


def _text(name: str, value: Any, limit: int) -> str | None:
    """An optional text field: None or blank means unset; otherwise a bounded, encodable str."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise QuestionError(f"{name} must be text")
    _encodable(name, value)
    value = value.strip()
    if len(value) > limit:
        raise QuestionError(f"{name} is {len(value):,} characters long; the limit is {limit:,}")
    return value or None


def _encodable(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError(f"{name} contains characters that are not valid text "
                            "(lone surrogates); send UTF-8 text") from None


def check_words(question: object, max_chars: int) -> str:
    """:func:`check_question`, plus: valid UTF-8 and at least one letter or digit ("?!" alone
    used to retrieve five unrelated passages)."""
    if isinstance(question, str):
        _encodable("the question", question)
    text = check_question(question, max_chars)
    if not HAS_WORD.search(text):
        raise QuestionError("the question has no words in it: type a question about the articles")
    return text


@dataclass(frozen=True)
class AskRequest:
    """One question with its optional filters and conversation, already checked and bounded."""

    question: str
    k: int | None = None
    speaker: str | None = None
    since: str | None = None
    until: str | None = None
    history: tuple[str, ...] = ()


def parse_ask(payload: Any, max_question_chars: int) -> AskRequest:
    """Check a request's fields; a clear :class:`QuestionError` for the first one that is wrong.

    Unknown fields are refused rather than ignored, so a caller sending ``"generate": true`` or
    ``"speakers"`` learns at once that it has no effect."""
    if not isinstance(payload, dict):
        raise QuestionError('the body must be a JSON object such as {"question": "..."}')
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise QuestionError(f"unknown field(s) {', '.join(map(repr, unknown))[:200]}; "
                            f"the fields are {', '.join(FIELDS)}")
    question = check_words(payload.get("question"), max_question_chars)
    k = payload.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int)
                          or not 1 <= k <= LIMITS["k_max"]):
        raise QuestionError(f"k must be a whole number from 1 to {LIMITS['k_max']}")
    history = payload.get("history") or []
    if not isinstance(history, list):
        raise QuestionError("history must be a list of the earlier questions, oldest first")
    if len(history) > LIMITS["history_items"]:
        raise QuestionError(f"history has {len(history):,} questions; the limit is "
                            f"{LIMITS['history_items']} (only the latest ones matter)")
    earlier = []
    for i, item in enumerate(history, 1):
        if not isinstance(item, str):
            raise QuestionError(f"history item {i} must be text")
        _encodable(f"history item {i}", item)
        if len(item) > max_question_chars:
            raise QuestionError(f"history item {i} is {len(item):,} characters long; the limit is "
                                f"{max_question_chars:,}")
        if item.strip():
            earlier.append(item.strip())
    return AskRequest(
        question, k,
        _text("speaker", payload.get("speaker"), LIMITS["speaker_chars"]),
        _text("since", payload.get("since"), LIMITS["date_chars"]),
        _text("until", payload.get("until"), LIMITS["date_chars"]),
        tuple(earlier),
    )


class Answering:
    """Answers requests from the loader's live index, a bounded number at a time.

    Answering is CPU work (encoding, FAISS, scoring); running more at once than there are cores
    only makes every answer slower, so at most ``workers`` run and the rest wait their turn in
    their own threads, never on the server's event loop. A request for a generated answer does
    not hold a slot while the model writes: that is waiting on the network, not computing.
    """

    def __init__(self, loader: IndexLoader, workers: int, wait_seconds: float = 120):
        self.loader = loader
        self.wait_seconds = wait_seconds
        self._slots = threading.BoundedSemaphore(workers)

    @property
    def generation_available(self) -> bool:
        """Only the server's own settings turn a language model on."""
        return self.loader.settings.generator != "extractive"

    def ask(self, req: AskRequest, extractive_only: bool = False,
            on_token: Callable[[str], None] | None = None, wait: float | None = None) -> Answer:
        """The answer to ``req`` from the live index. ``extractive_only`` lets the page's reader
        choose quoted answers on a server with a model; nothing lets a caller turn one on.
        ``wait``: seconds to wait for an index still loading (default ``wait_seconds``)."""
        index = self.loader.wait(timeout=self.wait_seconds if wait is None else wait)
        generate = None if self.generation_available and not extractive_only else False
        kwargs: dict[str, Any] = dict(history=list(req.history), speaker=req.speaker, since=req.since,
                      until=req.until, generate=generate)
        if generate is None:
            return index.ask(req.question, req.k, on_token=on_token, **kwargs)
        with self._slots:
            return index.ask(req.question, req.k, **kwargs)


def log_refused(where: str, exc: Exception, fields: dict[str, Any]) -> None:
    """One line for a request refused with a clear message: no traceback, values cut short."""
    shown = " ".join(f"{k}={short(v)}" for k, v in fields.items() if v not in (None, "", [], ()))
    log.warning("%s refused: %s [%s]", where, short(str(exc), 200)[1:-1], shown)


def add_routes(app: FastAPI, answering: Answering) -> None:
    """``POST /api/ask``, ``GET /api/articles``, and no uploads, on the FastAPI ``app`` that the
    Gradio page is mounted on."""
    settings = answering.loader.settings

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.middleware("http")
    async def no_uploads(request: Request, call_next):  # type: ignore[no-untyped-def]
        # The page has no file inputs; Gradio's upload route would still take any file of any
        # size into the temp folder. Refuse it before a byte is read.
        if request.url.path.rstrip("/").endswith("/upload"):
            return error(403, "uploads are disabled on this server")
        return await call_next(request)

    @app.get("/api/ask")
    async def api_ask_get() -> JSONResponse:
        # A browser or `curl` without -d: say what the endpoint takes, not "Not Found".
        response = error(405, 'use POST with a JSON body such as {"question": "..."}')
        response.headers["Allow"] = "POST"
        return response

    @app.post("/api/ask")
    async def api_ask(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > LIMITS["body_bytes"]:
            return error(413, f"the request body is over {LIMITS['body_bytes'] // 1024} KB")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > LIMITS["body_bytes"]:
                return error(413, f"the request body is over {LIMITS['body_bytes'] // 1024} KB")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            log_refused("/api/ask", exc, {"body": body[:80]})
            return error(400, f"the body is not JSON ({exc}); send "
                              '{"question": "..."} with Content-Type: application/json')
        try:
            req = parse_ask(payload, settings.max_question_chars)
            # HTTP callers get a quick 503 while the index loads, not a request hanging for minutes
            answer = await run_in_threadpool(answering.ask, req, False, None, HTTP_WAIT_SECONDS)
        except IndexNotReadyError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "2"})
        except NewsragError as exc:
            log_refused("/api/ask", exc, payload if isinstance(payload, dict) else {})
            return error(400, str(exc))
        except Exception:
            log.exception("/api/ask failed on %s", short(payload))
            return error(500, "something went wrong while answering; it has been logged")
        return JSONResponse(answer.to_dict())

    @app.get("/api/articles")
    async def api_articles() -> JSONResponse:
        try:
            return JSONResponse(answering.loader.articles())
        except IndexNotReadyError as exc:
            return error(503, str(exc))
