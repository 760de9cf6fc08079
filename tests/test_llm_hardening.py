"""Issue 14, items 1-3, and issue 11's marker bug: generated answers that contradict their
passage, streams cut before they finish, servers that trickle, and markers written after the
full stop.

The endpoint is a real HTTP server on a free loopback port that speaks the OpenAI streaming
format (server-sent events); each test tells it what to send and how.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import pytest
from conftest import free_port

from newsrag.generation import GroundingChecker, OpenAICompatibleGenerator

QUESTION = "What did Zarif say about the attack?"
GOOD = "Iran took proportionate measures in self-defense under Article 51 of the UN Charter [1]."


class _Stream(http.server.BaseHTTPRequestHandler):
    """Streams ``pieces`` as chat-completion chunks, ``delay`` seconds apart; ``complete`` sends
    the final chunk (finish_reason) and ``[DONE]``, otherwise the connection just closes."""

    pieces: list[str] = []
    delay = 0.0
    complete = True

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for piece in self.pieces:
                self._event({"content": piece}, None)
                time.sleep(self.delay)
            if self.complete:
                self._event({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
        except OSError:  # the client gave up
            pass

    def _event(self, delta: dict[str, str], finish: str | None) -> None:
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def fake_llm(pieces: list[str], delay: float = 0.0, complete: bool = True) -> Iterator[str]:
    """A local OpenAI-compatible endpoint; yields its base URL."""
    handler = type("Handler", (_Stream,), {"pieces": pieces, "delay": delay, "complete": complete})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_fake_endpoint_complete_stream_is_a_generated_answer(seed_index):
    """The control for the tests below: a complete stream is accepted as a generated answer."""
    with fake_llm(["Iran took proportionate measures ", "in self-defense under Article 51 ",
                   "of the UN Charter [1]."]) as url:
        gen = OpenAICompatibleGenerator(url, "fake", None, 10.0, 100)
        answer = seed_index.ask(QUESTION, generate=gen)
    assert answer.generated and not answer.generation.fallback, answer.generation
    assert "Article 51" in answer.answer


def test_stream_cut_before_it_finishes_falls_back(seed_index):
    """Item 2: no finish_reason, no [DONE], connection closed: not a finished answer."""
    with fake_llm(["Javad Zarif said Iran ", "took proportionate measures ",
                   "in self-defense under Article 51 [1]"], complete=False) as url:
        gen = OpenAICompatibleGenerator(url, "fake", None, 10.0, 100)
        answer = seed_index.ask(QUESTION, generate=gen)
    assert answer.answered and not answer.generated
    assert answer.generation.fallback and "cut off" in answer.generation.notice
    assert answer.answer == seed_index.ask(QUESTION, generate=False).answer


def test_timeout_is_a_deadline_for_the_whole_answer(seed_index):
    """Item 3: every chunk arrives well within the timeout, but the whole answer does not."""
    pieces = [f"word{i} " for i in range(30)]
    seen: list[str] = []
    with fake_llm(pieces, delay=0.25) as url:
        gen = OpenAICompatibleGenerator(url, "fake", None, 1.0, 100)
        answer = seed_index.ask(QUESTION, generate=gen, on_token=seen.append)
    assert len(seen) < len(pieces)  # it stopped listening before the server finished
    assert answer.answered and not answer.generated and answer.generation.fallback
    assert "did not finish within 1 s" in answer.generation.notice


@pytest.fixture(scope="module")
def checker_and_passages(seed_index):
    checker = GroundingChecker(seed_index.answerer.encode, seed_index.settings.grounding_threshold)
    hits = seed_index.search("Zarif self-defense escalation war Al-Asad Irbil January 7", k=5)
    return checker, [h.passage for h in hits]


def _number(passages, needle: str) -> int:
    return next(i for i, p in enumerate(passages, 1) if needle in p.text)


@pytest.mark.parametrize("sentence", [
    "Zarif said Iran seeks escalation and war, and will not defend itself [{n}].",
    "Zarif denied that the attack was in self-defense [{n}].",
    "Zarif said Iran never took measures in self-defense under Article 51 [{n}].",
])
def test_sentence_contradicting_its_passage_is_removed(checker_and_passages, sentence):
    """Item 1: negation and denial flip the passage's meaning while reusing its words."""
    checker, passages = checker_and_passages
    n = _number(passages, "We do not seek escalation")
    (checked,) = checker.check(sentence.format(n=n), passages)
    assert not checked.kept and "contradicts" in checked.reason, checked


def test_sentence_with_a_changed_number_is_removed(checker_and_passages):
    """Item 1: "January 3" is in the passage, but the attack it describes was on January 7."""
    checker, passages = checker_and_passages
    n = _number(passages, "5:30 PM Eastern Time on January 7")
    (checked,) = checker.check(
        f"The attacks were made at 5:30 PM Eastern Time on January 3 against the Al-Asad and "
        f"Irbil airbases [{n}].", passages)
    assert not checked.kept and "contradicts" in checked.reason and "7" in checked.reason, checked


def test_faithful_sentences_with_negations_are_kept(checker_and_passages):
    checker, passages = checker_and_passages
    n = _number(passages, "We do not seek escalation")
    for sentence in (f"Zarif said Iran does not seek escalation or war, but will defend itself "
                     f"against any aggression [{n}].",
                     f"Iran took proportionate measures in self-defense under Article 51 [{n}]."):
        (checked,) = checker.check(sentence, passages)
        assert checked.kept, checked


def test_marker_after_the_full_stop_belongs_to_the_sentence_before(checker_and_passages):
    """Issue 11: "... self-defense. [1] Esper ..." cites [1] for the first sentence, and a final
    lone "[2]" is the second sentence's marker, not dropped."""
    checker, passages = checker_and_passages
    zarif = _number(passages, "We do not seek escalation")
    attack = _number(passages, "5:30 PM Eastern Time on January 7")
    reply = (f"Iran took proportionate measures in self-defense under Article 51. [{zarif}] "
             f"The attacks were made at 5:30 PM Eastern Time on January 7 against the Al-Asad "
             f"and Irbil airbases. [{attack}]")
    first, second = checker.check(reply, passages)
    assert first.cited == [zarif] and second.cited == [attack]
    assert "marker" not in first.reason and "marker" not in second.reason
