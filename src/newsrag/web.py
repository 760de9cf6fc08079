"""The chat page (Gradio). Formatting only: answers come from :class:`~newsrag.http_api.Answering`.

An answer shows its [n] markers as links to numbered source cards (title, date or "undated", who
said it, the sentences used highlighted in a little context, the whole passage on demand); after
each answer the page scrolls to the answer's box, not to the bottom of its cards. A "not in the
articles" answer looks different and lists at most a few related passages, collapsed, under a
heading that says they are not an answer. The side panel lists the articles, lets the reader
restrict answers to one person's statements, and offers generated answers only when the server
was started with a language model. The same answering is the named Gradio endpoint ``/ask`` and,
on the same server, the plain HTTP API of :mod:`newsrag.http_api`.
"""

from __future__ import annotations

import html
import itertools
import logging
import os
import queue
import re
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

from .answering import Answer, Citation
from .errors import NewsragError
from .http_api import LIMITS, Answering, add_routes, log_refused, parse_ask, short
from .loader import IndexLoader, IndexNotReadyError
from .passages import split_sentences
from .settings import Settings

__all__ = ["render_answer", "render_articles", "create_app", "serve", "EXAMPLES"]

log = logging.getLogger("newsrag")

EXAMPLES = [
    "Which airbases did Iran attack in January 2020?",
    "What did Zarif say about the attack?",
    "What did Esper say about Soleimani?",
    "Who was killed in the rocket attack near Irbil airport?",
    "What did Lloyd Austin say on March 7?",
    "Who threatened revenge?",
]

CSS = """
.nr-answer, .nr-refusal, .nr-error {border-radius: 8px; padding: 10px 12px; margin-bottom: 8px;}
.nr-answer {background: #eef6ff; border-left: 4px solid #2563eb;}
.nr-refusal {background: #fff7e6; border-left: 4px solid #d97706;}
.nr-error {background: #fdecec; border-left: 4px solid #dc2626;}
.nr-badge {display: inline-block; font-size: 0.75em; font-weight: 600; text-transform: uppercase;
  letter-spacing: .04em; padding: 1px 6px; border-radius: 4px; margin-bottom: 4px;}
.nr-answer .nr-badge {background: #2563eb; color: #fff;}
.nr-refusal .nr-badge {background: #d97706; color: #fff;}
.nr-marker {font-weight: 600; text-decoration: none; color: #1d4ed8;}
.nr-sources-head {font-size: 0.85em; font-weight: 600; color: #555; margin: 6px 0 4px;}
.nr-card {border: 1px solid #ddd; border-radius: 8px; padding: 8px 10px; margin: 6px 0;
  font-size: 0.9em; background: #fff;}
.nr-card.nr-unused {opacity: 0.8;}
.nr-card-head {font-weight: 600;}
.nr-card-meta {color: #666; font-size: 0.85em;}
.nr-card-said {color: #374151; font-size: 0.85em; font-style: italic;}
.nr-notice {font-size: 0.85em; color: #92400e; margin: 4px 0;}
.nr-removed {font-size: 0.85em; color: #555; margin-top: 4px;}
.nr-removed li {text-decoration: line-through; text-decoration-color: #dc2626;}
.nr-removed li span {text-decoration: none; display: inline-block; color: #777; margin-left: 4px;}
.nr-draft {color: #555; font-style: italic;}
.nr-card-text {margin-top: 4px; line-height: 1.45;}
.nr-card mark {background: #fde68a; padding: 0 1px;}
#nr-status {font-size: 0.9em;}
.nr-pending {color: #555;}
.nr-spinner {display: inline-block; width: 0.9em; height: 0.9em; margin-right: 8px;
  vertical-align: -0.1em; border: 2px solid #cbd5e1; border-top-color: #2563eb; border-radius: 50%;
  animation: nr-spin 0.8s linear infinite;}
@keyframes nr-spin {to {transform: rotate(360deg);}}
.nr-full, .nr-related {margin-top: 4px;}
.nr-full summary {font-size: 0.85em; color: #1d4ed8; cursor: pointer;}
.nr-related summary {cursor: pointer;}
"""

_message_ids = itertools.count(1)
# Seconds a stopping server waits for open connections before closing them.
GRACEFUL_SHUTDOWN_S = 5

ANYONE = "Anyone"
EXTRACTIVE = "Quoted from the articles"
GENERATED = "Written by the language model (checked)"
MAX_CHAT_MESSAGES = 100  # the chat a browser sends back is kept to the latest messages
# After an answer, show its box at the top of the chat area (not the bottom of its source cards).
SCROLL_JS = """() => {
  const show = () => {
    const boxes = document.querySelectorAll(
      '#nr-chat .nr-answer, #nr-chat .nr-refusal, #nr-chat .nr-error');
    const box = boxes[boxes.length - 1];
    if (!box) return;
    let area = box.parentElement;  // the chat's own scroll area: move it, not the whole window
    while (area && !(area.scrollHeight > area.clientHeight + 2 &&
                     /(auto|scroll)/.test(getComputedStyle(area).overflowY))) {
      area = area.parentElement;
    }
    if (!area || area === document.scrollingElement) {
      box.scrollIntoView({block: 'start'});
      return;
    }
    area.scrollTop += box.getBoundingClientRect().top - area.getBoundingClientRect().top - 8;
  };
  show(); setTimeout(show, 80); setTimeout(show, 400);
}"""


def _date(value: str | None) -> str:
    return value or "undated"


def _excerpt(c: Citation) -> tuple[str, bool]:
    """The passage as the card shows it at first: the sentences used (highlighted) with one
    sentence of the same paragraph on each side, or the first two sentences of a passage that
    was not used. Returns the HTML and whether anything was left out (the full passage is then
    one click away): a card cited for Zarif must not read as Rouhani's tweet beside it."""
    text = c.passage
    spans = split_sentences(text) or [(0, len(text))]
    marks = [(s - c.start, e - c.start) for s, e in c.highlights]
    used = [i for i, (s, e) in enumerate(spans) if any(ms < e and me > s for ms, me in marks)]
    if used:
        first, last = used[0], used[-1]
        para = lambda i, j: "\n" not in text[spans[i][1]:spans[j][0]]  # noqa: E731
        if first > 0 and para(first - 1, first):
            first -= 1
        if last < len(spans) - 1 and para(last, last + 1):
            last += 1
    else:
        first, last = 0, min(1, len(spans) - 1)
    lo, hi = spans[first][0], spans[last][1]
    body = _highlighted(text, marks, lo, hi)
    cut_before, cut_after = bool(text[:lo].strip()), bool(text[hi:].strip())
    shown = ("… " if cut_before else "") + body + (" …" if cut_after else "")
    return shown, cut_before or cut_after


def _highlighted(text: str, marks: list[tuple[int, int]], lo: int, hi: int) -> str:
    """``text[lo:hi]``, escaped, with the used sentences in ``<mark>``; paragraphs kept."""
    pos, parts = lo, []
    for s, e in sorted(marks):
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            continue
        parts.append(html.escape(text[pos:s]))
        parts.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    parts.append(html.escape(text[pos:hi]))
    return "".join(parts).replace("\n\n", "<br>")  # paragraphs, without the chat's double gaps


def _card(c: Citation, anchor: str) -> str:
    """One source card: title, date, who said it, the used sentences in a little context, and
    the whole passage on demand."""
    excerpt, partial = _excerpt(c)
    full = ""
    if partial:
        marks = [(s - c.start, e - c.start) for s, e in c.highlights]
        full = (f'<details class="nr-full"><summary>Whole passage</summary>'
                f'<div class="nr-card-text">{_highlighted(c.passage, marks, 0, len(c.passage))}'
                "</div></details>")
    cls = "nr-card" if c.used else "nr-card nr-unused"
    labels = dict.fromkeys(st.label() for st in c.statements if st.speaker)
    said = "".join(f'<div class="nr-card-said">Said by {html.escape(label)}</div>'
                   for label in labels)
    return (
        f'<div class="{cls}" id="{anchor}-{c.n}" data-n="{c.n}">'
        f'<div class="nr-card-head">[{c.n}] {html.escape(c.title)}</div>'
        f'<div class="nr-card-meta">{html.escape(_date(c.date))} · similarity {c.score:.2f}</div>'
        f'{said}<div class="nr-card-text">{excerpt}</div>{full}</div>'
    )


def _generation_notes(answer: Answer) -> str:
    """What the grounding check removed, and why an extractive answer stands in, if it does."""
    g = answer.generation
    if g is None:
        return ""
    out = f'<div class="nr-notice">Note: {html.escape(g.notice)}</div>' if g.notice else ""
    removed = [s for s in g.sentences if not s.kept]
    if removed:
        items = "".join(f"<li>{html.escape(s.text)} <span>({html.escape(s.reason)})</span></li>"
                        for s in removed)
        out += (f'<details class="nr-removed"><summary>{len(removed)} generated sentence(s) '
                f"removed by the grounding check</summary><ul>{items}</ul></details>")
    return out


def render_draft(text: str) -> str:
    """The model's reply while it streams, before the grounding check."""
    return (f'<div class="nr-draft">Writing (checked against the articles when done)…<br>'
            f"{html.escape(text)}</div>")


def render_pending(status: str) -> str:
    """The bubble shown while the index loads: a CSS spinner (an emoji would be an empty box
    where no emoji font is installed)."""
    return f'<div class="nr-pending"><span class="nr-spinner"></span>{html.escape(status)}</div>'


def one_marker_per_run(text: str) -> str:
    """Drop a marker when the same marker follows with no other one in between: consecutive
    sentences of one passage (or a quotation and its attribution line) read "... (Javad Zarif
    via Twitter, January 7, 2020) [1]", not "... [1] (Javad Zarif ...) [1]"."""
    return re.sub(r"\s*\[(\d+)\](?=[^\[\]]*\[\1\])", "", text)


def render_answer(answer: Answer) -> str:
    """The chat message for an answer: the answer or refusal box, then the source cards.

    A refusal's closest passages are at most a few, only ones somewhat related to the question,
    and collapsed: they are not an answer, and five unrelated passages buried the refusal."""
    anchor = f"nr-src-{next(_message_ids)}"
    if answer.answered:
        body = re.sub(r"\[(\d+)\]",
                      lambda m: (f'<a class="nr-marker" href="#{anchor}-{m.group(1)}">'
                                 f"[{m.group(1)}]</a>"),
                      html.escape(one_marker_per_run(answer.answer)))
        badge = ("Generated · checked against the articles" if answer.generated
                 else "From the articles")
        head = (f'<div class="nr-answer"><span class="nr-badge">{badge}</span>'
                f'<div class="nr-text">{body}</div>{_generation_notes(answer)}</div>')
        cards = answer.shown_sources()
        return (head + '<div class="nr-sources-head">Sources</div>'
                + "".join(_card(c, anchor) for c in cards))
    head = ('<div class="nr-refusal"><span class="nr-badge">Not in the articles</span>'
            f'<div class="nr-text">{html.escape(answer.answer)}</div></div>')
    related = answer.shown_sources()
    if not related:
        return head + '<div class="nr-sources-head">No passage comes close to this question.</div>'
    return (head + f'<details class="nr-related"><summary class="nr-sources-head">Closest passages '
            f"(they do not answer the question): {len(related)}</summary>"
            + "".join(_card(c, anchor) for c in related) + "</details>")


def render_error(message: str) -> str:
    return f'<div class="nr-error"><span class="nr-badge">Error</span> {html.escape(message)}</div>'


def render_question(question: str) -> str:
    """The reader's own message, as text: typed HTML is shown, never run."""
    return html.escape(question or "(empty question)")


def render_articles(rows: list[Any]) -> str:
    """The side panel: what the bot knows."""
    items = "".join(
        f"<li><b>{html.escape(a.title)}</b><br><small>{html.escape(_date(a.date))} · "
        f"{a.passages} passages</small></li>" for a in rows)
    return f'<ul class="nr-articles">{items}</ul>'


# Words that make a speaker an organisation or a group rather than a person.
NOT_A_PERSON = {"press", "agency", "news", "network", "times", "post", "reuters", "ministry",
                "department", "office", "government", "authorities", "officials", "pentagon",
                "guard", "guards", "corps", "army", "forces", "command", "council", "media",
                "tv", "television", "radio", "house", "state", "embassy", "militia", "militias"}


def is_person(name: str) -> bool:
    """A speaker the "Only statements by" list offers: a person's name (two or more capitalised
    words, none of them an organisation word), not "Associated Press" or "American authorities"."""
    words = name.split()
    return (len(words) >= 2 and all(w[:1].isupper() for w in words)
            and not any(w.lower().strip(".,") in NOT_A_PERSON for w in words))


def create_app(loader: IndexLoader, answering: Answering | None = None) -> Any:
    """The Gradio Blocks app over the index that ``loader`` keeps ready. Formatting only: every
    answer comes from ``answering`` (the same checks and limits as ``/api/ask``)."""
    import gradio as gr

    answering = answering or Answering(loader, workers=default_workers())
    settings = loader.settings
    with_model = answering.generation_available
    views: dict[int, tuple[str, list[str]]] = {}  # per index generation: side panel, speakers

    def view() -> tuple[str, list[str]]:
        """The side panel and the speaker list, rendered once per index generation."""
        gen = loader.generation
        if gen not in views:
            index = loader.wait(0)
            views.clear()
            views[gen] = (render_articles(index.articles()),
                          [ANYONE] + [f"{name} ({n})" for name, n in index.speakers()
                                      if is_person(name)])
        return views[gen]

    def status(shown: int) -> tuple:
        waiting = not loader.ready and loader.error is None
        timer = gr.Timer(value=1.0 if waiting else 5.0, active=loader.error is None)
        text = f"**Status:** {html.escape(loader.status)}"
        if not loader.ready or shown == loader.generation:  # nothing new: send nothing big
            return text, gr.skip(), timer, gr.skip(), shown
        articles, speakers = view()
        return text, articles, timer, gr.Dropdown(choices=speakers), loader.generation

    def respond(question: str, chat: list[dict], asked: list[str],
                speaker: str | None = None, style: str | None = None) -> Iterator[tuple]:
        question = question if isinstance(question, str) else ""
        chat = list(chat or [])[-MAX_CHAT_MESSAGES:]
        chat = chat + [{"role": "user", "content": render_question(question.strip())}]
        if not loader.ready:
            pending = {"role": "assistant", "content": render_pending(loader.status)}
            yield "", chat + [pending], asked
        who = None if not speaker or speaker == ANYONE else re.sub(r" \(\d+\)$", "", speaker)
        payload = {"question": question, "speaker": who,
                   "history": list(asked)[-LIMITS["history_items"]:]}
        try:
            req = parse_ask(payload, settings.max_question_chars)
            if not with_model or style != GENERATED:
                answer = answering.ask(req, extractive_only=True)
            else:  # stream the model's draft into the chat while it writes
                pieces: queue.Queue = queue.Queue()
                box: dict[str, Any] = {}

                def work() -> None:
                    try:
                        box["answer"] = answering.ask(req, on_token=pieces.put)
                    except BaseException as exc:  # re-raised below, in the request's thread
                        box["error"] = exc
                    finally:
                        pieces.put(None)

                threading.Thread(target=work, daemon=True).start()
                draft = ""
                while (piece := pieces.get()) is not None:
                    draft += piece
                    yield "", chat + [{"role": "assistant", "content": render_draft(draft)}], asked
                if "error" in box:
                    raise box["error"]
                answer = box["answer"]
            reply = render_answer(answer)
            asked = (list(asked) + [req.question])[-LIMITS["history_items"]:]
        except NewsragError as exc:
            if not isinstance(exc, IndexNotReadyError):
                log_refused("page", exc, payload)
            reply = render_error(str(exc))
        except Exception:
            log.exception("error answering %s", short(question))
            reply = render_error("Something went wrong while answering this question; it has "
                                 "been logged. Please try again or rephrase it.")
        yield "", chat + [{"role": "assistant", "content": reply}], asked

    def ask_api(question: str, history: list[str] | None = None, speaker: str | None = None,
                since: str | None = None, until: str | None = None,
                k: int | None = None) -> dict:
        """Answer a question from the articles; returns what ``newsrag ask --json`` prints.
        ``history``: earlier questions, oldest first (follow-ups); ``speaker``, ``since`` and
        ``until`` restrict the sources as in ``newsrag ask``; ``k``: passages to retrieve."""
        payload = {"question": question, "history": history, "speaker": speaker, "since": since,
                   "until": until, "k": k}
        try:
            return answering.ask(parse_ask(payload, settings.max_question_chars)).to_dict()
        except NewsragError as exc:  # the message, not Gradio's generic AppError; one log line
            if not isinstance(exc, IndexNotReadyError):
                log_refused("/ask", exc, payload)
            raise gr.Error(str(exc), print_exception=False) from None

    with gr.Blocks(title="newsrag: ask the news articles", analytics_enabled=False) as demo:
        gr.Markdown("## newsrag\nAsk about the Iranian rocket and missile attacks on bases "
                    "housing US forces in Iraq (2020, 2021). Every answer quotes the articles and "
                    "cites them; if the articles don't say, newsrag says so.")
        status_md = gr.Markdown("**Status:** starting…", elem_id="nr-status")
        asked = gr.State([])
        shown = gr.State(0)
        with gr.Row():
            with gr.Column(scale=3):
                # autoscroll off: the page scrolls to the answer box itself (SCROLL_JS), not to
                # the bottom of the source cards
                chatbot = gr.Chatbot(elem_id="nr-chat", height=600, sanitize_html=True,
                                     label="Answers", feedback_options=None, autoscroll=False,
                                     placeholder="Ask a question, or pick an example below.")
                with gr.Row():
                    box = gr.Textbox(placeholder="e.g. What did Zarif say about the attack?",
                                     show_label=False, elem_id="nr-question", scale=6,
                                     max_lines=4, autofocus=True,
                                     max_length=settings.max_question_chars)
                    send = gr.Button("Ask", variant="primary", elem_id="nr-ask", scale=1)
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                clear = gr.Button("New conversation", size="sm")
            with gr.Column(scale=1):
                if with_model:
                    style: Any = gr.Radio(
                        [EXTRACTIVE, GENERATED], label="How answers are written", value=GENERATED,
                        elem_id="nr-style",
                        info=f"Generated answers come from the language model "
                             f"{html.escape(settings.llm_model)} at "
                             f"{html.escape(settings.llm_url)}; sentences the articles do not "
                             "support are removed.")
                else:
                    style = gr.State(EXTRACTIVE)
                    gr.Markdown("Answers are quoted from the articles. To have a language model "
                                "write them (checked against the articles), start the server "
                                "with `--generator openai`.", elem_id="nr-style-note")
                speaker = gr.Dropdown([ANYONE], value=ANYONE, label="Only statements by",
                                      elem_id="nr-speaker", interactive=True,
                                      info="Answer from one person's quotations and remarks.")
                gr.Markdown("### Articles in the index")
                articles_html = gr.HTML(elem_id="nr-articles")
        timer = gr.Timer(1.0)
        outputs = [status_md, articles_html, timer, speaker, shown]
        timer.tick(status, inputs=[shown], outputs=outputs, api_visibility="private", queue=False)
        demo.load(status, inputs=[shown], outputs=outputs, api_visibility="private", queue=False)
        for trigger in (box.submit, send.click):
            trigger(respond, [box, chatbot, asked, speaker, style], [box, chatbot, asked],
                    api_visibility="private", concurrency_limit=None).then(
                None, js=SCROLL_JS, api_visibility="private", queue=False)
        clear.click(lambda: ([], []), outputs=[chatbot, asked], api_visibility="private",
                    queue=False)
        gr.api(ask_api, api_name="ask", concurrency_limit=None)
    return demo


def default_workers() -> int:
    """Answers computed at once: one per core (each uses one intra-op thread, see
    :mod:`newsrag.loader`), at least 2 so a slow question does not hold up a quick one."""
    return max(2, os.cpu_count() or 1)


def serve(corpus_dir: Path, index_dir: Path, host: str, port: int, settings: Settings,
          workers: int | None = None) -> None:
    """Start the page and the HTTP API on one server; the index is loaded (or built) in the
    background meanwhile, and later generations are picked up as they appear."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # One log line per event, INFO and up: libraries that turn on their own DEBUG output (bm25s
    # sets its logger to DEBUG on import) print nothing below INFO, and only warnings from others.
    handler = logging.StreamHandler()
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    log.setLevel(logging.INFO)
    for noisy in ("bm25s", "httpx", "urllib3", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    loader = IndexLoader(Path(corpus_dir), Path(index_dir), settings,
                         progress=sys.stderr.isatty()).start()
    answering = Answering(loader, workers=workers or default_workers())
    demo = create_app(loader, answering)
    demo.queue(default_concurrency_limit=None)
    app = FastAPI(title="newsrag", docs_url=None, redoc_url=None, openapi_url=None)
    add_routes(app, answering)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    app = gr.mount_gradio_app(app, demo, path="/", theme=theme, css=CSS, show_error=False,
                              footer_links=["api"], max_file_size="1kb",
                              server_name=host, server_port=port)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"newsrag: chat on http://{shown_host}:{port}  ·  HTTP API: POST /api/ask, "
          "GET /api/articles", flush=True)
    # Open page connections (Gradio keeps streams open) must not hold a stop (Ctrl-C, SIGTERM)
    # for ever: after a few seconds they are closed.
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
