"""The chat page (Gradio). Formatting only: answers come from :meth:`Index.ask`.

An answer shows its [n] markers as links to numbered source cards (title, date or "undated", the
passage with the sentences used highlighted). A "not in the articles" answer looks different and
lists the closest passages under a heading that says they are not an answer. A card whose passage
carries a statement says who said it, where and when. The side panel lists the articles and lets
the user restrict answers to one speaker. The same answering is served as the named API endpoint
``/ask`` for ``gradio_client``.
"""

from __future__ import annotations

import html
import itertools
import logging
import os
import queue
import re
import threading
from pathlib import Path
from typing import Any, Iterator

from .answering import Answer, Citation
from .errors import NewsragError, QuestionError
from .loader import IndexLoader
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
"""

_message_ids = itertools.count(1)
ANYONE = "Anyone"
EXTRACTIVE = "Quoted from the articles"
GENERATED = "Written by the language model (checked)"


def _date(value: str | None) -> str:
    return value or "undated"


def _card(c: Citation, anchor: str) -> str:
    """One source card: the passage, with the sentences used in the answer highlighted."""
    text, pos, parts = c.passage, 0, []
    for s, e in c.highlights:
        s, e = s - c.start, e - c.start
        parts.append(html.escape(text[pos:s]))
        parts.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    parts.append(html.escape(text[pos:]))
    body = "".join(parts).replace("\n\n", "<br>")  # paragraphs, without the chat's double gaps
    cls = "nr-card" if c.used else "nr-card nr-unused"
    labels = dict.fromkeys(st.label() for st in c.statements if st.speaker)
    said = "".join(f'<div class="nr-card-said">Said by {html.escape(label)}</div>' for label in labels)
    return (
        f'<div class="{cls}" id="{anchor}-{c.n}" data-n="{c.n}">'
        f'<div class="nr-card-head">[{c.n}] {html.escape(c.title)}</div>'
        f'<div class="nr-card-meta">{html.escape(_date(c.date))} · similarity {c.score:.2f}</div>'
        f'{said}<div class="nr-card-text">{body}</div></div>'
    )


def _generation_notes(answer: Answer) -> str:
    """What the grounding check removed, and why an extractive answer stands in, if it does."""
    g = answer.generation
    if g is None:
        return ""
    out = f'<div class="nr-notice">⚠ {html.escape(g.notice)}</div>' if g.notice else ""
    removed = [s for s in g.sentences if not s.kept]
    if removed:
        items = "".join(f"<li>{html.escape(s.text)} <span>({html.escape(s.reason)})</span></li>"
                        for s in removed)
        out += (f'<details class="nr-removed"><summary>{len(removed)} generated sentence(s) removed '
                f"by the grounding check</summary><ul>{items}</ul></details>")
    return out


def render_draft(text: str) -> str:
    """The model's reply while it streams, before the grounding check."""
    return (f'<div class="nr-draft">Writing (checked against the articles when done)…<br>'
            f"{html.escape(text)}</div>")


def render_answer(answer: Answer) -> str:
    """The chat message for an answer: the answer or refusal box, then the source cards."""
    anchor = f"nr-src-{next(_message_ids)}"
    if answer.answered:
        body = re.sub(r"\[(\d+)\]",
                      lambda m: f'<a class="nr-marker" href="#{anchor}-{m.group(1)}">[{m.group(1)}]</a>',
                      html.escape(answer.answer))
        badge = "Generated · checked against the articles" if answer.generated else "From the articles"
        head = (f'<div class="nr-answer"><span class="nr-badge">{badge}</span>'
                f'<div class="nr-text">{body}</div>{_generation_notes(answer)}</div>')
        cards = [c for c in answer.citations if c.used]
        sources = '<div class="nr-sources-head">Sources</div>'
    else:
        head = ('<div class="nr-refusal"><span class="nr-badge">Not in the articles</span>'
                f'<div class="nr-text">{html.escape(answer.answer)}</div></div>')
        cards = answer.citations
        sources = '<div class="nr-sources-head">Closest passages (they do not answer the question)</div>'
    return head + sources + "".join(_card(c, anchor) for c in cards)


def render_error(message: str) -> str:
    return f'<div class="nr-error"><span class="nr-badge">Error</span> {html.escape(message)}</div>'


def render_articles(rows: list[Any]) -> str:
    """The side panel: what the bot knows."""
    items = "".join(
        f"<li><b>{html.escape(a.title)}</b><br><small>{html.escape(_date(a.date))} · "
        f"{a.passages} passages</small></li>" for a in rows)
    return f'<ul class="nr-articles">{items}</ul>'


def create_app(loader: IndexLoader):
    """The Gradio Blocks app over an index that ``loader`` makes ready."""
    import gradio as gr

    generated_default = loader.settings.generator != "extractive"

    def status() -> tuple[str, str, Any, Any]:
        articles = render_articles(loader.wait(0).articles()) if loader.ready else ""
        speakers = ([ANYONE] + [f"{name} ({n})" for name, n in loader.wait(0).speakers()]
                    if loader.ready else [ANYONE])
        return (f"**Status:** {html.escape(loader.status)}", articles,
                gr.Timer(active=not loader.ready and loader.error is None),
                gr.Dropdown(choices=speakers))

    def respond(question: str, chat: list[dict], asked: list[str],
                speaker: str | None = None, style: str | None = None) -> Iterator[tuple]:
        question = (question or "").strip()
        chat = chat + [{"role": "user", "content": question or "(empty question)"}]
        if not loader.ready:
            yield "", chat + [{"role": "assistant", "content": f"⏳ {loader.status}"}], asked
        try:
            index = loader.wait(timeout=600)
            who = None if not speaker or speaker == ANYONE else re.sub(r" \(\d+\)$", "", speaker)
            generate = style == GENERATED
            if not generate:
                answer = index.ask(question, history=asked, speaker=who, generate=False)
            else:  # stream the model's draft into the chat while it writes
                pieces: queue.Queue = queue.Queue()
                box: dict[str, Any] = {}

                def work() -> None:
                    try:
                        box["answer"] = index.ask(question, history=asked, speaker=who,
                                                  generate=True, on_token=pieces.put)
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
            asked = asked + [question]
        except (QuestionError, NewsragError) as exc:
            reply = render_error(str(exc))
        except Exception:
            log.exception("error answering %r", question[:200])
            reply = render_error("Something went wrong while answering this question; it has "
                                 "been logged. Please try again or rephrase it.")
        yield "", chat + [{"role": "assistant", "content": reply}], asked

    def ask_api(question: str, history: list[str] | None = None, speaker: str | None = None,
                since: str | None = None, until: str | None = None,
                generate: bool | None = None) -> dict:
        """Answer a question from the articles; returns the answer with its citations.
        ``speaker``, ``since`` and ``until`` restrict the sources, as in ``newsrag ask``;
        ``generate`` asks the configured language model (checked), None follows the server."""
        return loader.wait(timeout=600).ask(question, history=history or [], speaker=speaker,
                                            since=since, until=until, generate=generate).to_dict()

    with gr.Blocks(title="newsrag: ask the news articles", analytics_enabled=False) as demo:
        gr.Markdown("## newsrag\nAsk about the Iranian rocket and missile attacks on bases housing "
                    "US forces in Iraq (2020, 2021). Every answer quotes the articles and cites them; "
                    "if the articles don't say, newsrag says so.")
        status_md = gr.Markdown("**Status:** starting…", elem_id="nr-status")
        asked = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(elem_id="nr-chat", height=600, sanitize_html=False,
                                     label="Answers", feedback_options=None,
                                     placeholder="Ask a question, or pick an example below.")
                with gr.Row():
                    box = gr.Textbox(placeholder="e.g. What did Zarif say about the attack?",
                                     show_label=False, elem_id="nr-question", scale=6,
                                     max_lines=4, autofocus=True)
                    send = gr.Button("Ask", variant="primary", elem_id="nr-ask", scale=1)
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                clear = gr.Button("New conversation", size="sm")
            with gr.Column(scale=1):
                style = gr.Radio([EXTRACTIVE, GENERATED], label="How answers are written",
                                 value=GENERATED if generated_default else EXTRACTIVE,
                                 elem_id="nr-style",
                                 info="Generated answers come from the language model at "
                                      f"{html.escape(loader.settings.llm_url)}; sentences the "
                                      "articles do not support are removed.")
                speaker = gr.Dropdown([ANYONE], value=ANYONE, label="Only statements by",
                                      elem_id="nr-speaker", interactive=True,
                                      info="Answer from one person's quotations and remarks.")
                gr.Markdown("### Articles in the index")
                articles_html = gr.HTML(elem_id="nr-articles")
        timer = gr.Timer(1.0)
        outputs = [status_md, articles_html, timer, speaker]
        timer.tick(status, outputs=outputs, api_visibility="private")
        demo.load(status, outputs=outputs, api_visibility="private")
        for trigger in (box.submit, send.click):
            trigger(respond, [box, chatbot, asked, speaker, style], [box, chatbot, asked],
                    api_visibility="private")
        clear.click(lambda: ([], []), outputs=[chatbot, asked], api_visibility="private")
        gr.api(ask_api, api_name="ask")
    return demo


def serve(corpus_dir: Path, index_dir: Path, host: str, port: int, settings: Settings) -> None:
    """Start the page; the index is loaded (or built) in the background meanwhile."""
    import gradio as gr

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    loader = IndexLoader(Path(corpus_dir), Path(index_dir), settings).start()
    demo = create_app(loader)
    demo.queue(default_concurrency_limit=8)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    demo.launch(server_name=host, server_port=port, theme=theme, css=CSS, show_error=False,
                footer_links=["api"], quiet=False)
