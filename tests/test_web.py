"""The chat server for real: ``newsrag serve`` on a free loopback port, driven in headless Chromium
by playwright, called through ``gradio_client``'s named endpoint and through the plain HTTP API
with real HTTP requests. The answers must be exactly what ``newsrag ask --json`` prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import CORPUS, run_cli, start_serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
DOUBLED = re.compile(r"\[(\d+)\][^\[\]]*\[\1\]")  # the same marker twice with none between


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``newsrag serve`` in a fresh project folder: it has to build the index itself."""
    folder = tmp_path_factory.mktemp("web")
    shutil.copytree(CORPUS, folder / "corpus")
    proc, url, port = start_serve(folder)
    wait_ready(url)
    yield {"url": url, "port": port, "folder": folder, "proc": proc}
    proc.terminate()
    proc.wait(timeout=30)


def http(url: str, body: bytes | str | dict | None = None, method: str | None = None,
         headers: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    """One real HTTP request; returns the status and the decoded JSON body."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_ready(url: str, timeout: float = 240) -> dict:
    """Poll ``GET /api/articles`` until the index is loaded (503 meanwhile)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        status, data = http(f"{url}/api/articles")
        if status == 200:
            return data
        assert status == 503 and "not ready" in data["error"], (status, data)
        assert time.monotonic() < deadline, data
        time.sleep(0.5)


def rounded(value):
    """Floats to 5 places, recursively: the server may have embedded a sentence in another
    batch than the CLI, which changes a score in its last bits, never more."""
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def cli_json(folder: Path, *args: str) -> dict:
    proc = run_cli("ask", *args, "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---- no server needed ------------------------------------------------------------------------
def test_request_checks_bound_every_field():
    from newsrag.errors import QuestionError
    from newsrag.http_api import LIMITS, parse_ask

    req = parse_ask({"question": " Who? ", "k": 3, "speaker": " Zarif ", "since": "2020",
                     "history": ["What did Esper say?", "  "]}, 2000)
    assert (req.question, req.k, req.speaker, req.since, req.history) == (
        "Who?", 3, "Zarif", "2020", ("What did Esper say?",))
    bad = [({"question": "?!"}, "no words"), ({"question": "x", "speaker": "a" * 101}, "speaker"),
           ({"question": "x", "until": "1" * 41}, "until"),
           ({"question": "x", "history": ["q"] * (LIMITS["history_items"] + 1)}, "history"),
           ({"question": "x", "history": ["x" * 2001]}, "history item 1"),
           ({"question": "x", "history": "q"}, "list"), ({"question": "x", "k": True}, "k must"),
           ({"question": "x", "generate": True}, "unknown field"), ([], "JSON object")]
    for payload, message in bad:
        with pytest.raises(QuestionError, match=message):
            parse_ask(payload, 2000)


def test_page_formatting_helpers():
    from newsrag.web import is_person, one_marker_per_run, render_pending, render_question

    assert one_marker_per_run("A. [1] (Javad Zarif via Twitter, January 7, 2020) [1] B. [2]") == \
        "A. (Javad Zarif via Twitter, January 7, 2020) [1] B. [2]"
    assert one_marker_per_run("A. [1] B. [2] C. [1]") == "A. [1] B. [2] C. [1]"
    assert [n for n in ("Lloyd Austin", "Associated Press", "American authorities", "Javad Zarif",
                        "Tasnim News Agency") if is_person(n)] == ["Lloyd Austin", "Javad Zarif"]
    assert render_question("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    pending = render_pending("Loading")
    assert "nr-spinner" in pending
    assert not re.search(r"[\U0001F300-\U0001FAFF\u231B\u23F3]", pending)


# ---- the server ------------------------------------------------------------------------------
def test_binds_loopback_only(server):
    out = subprocess.run(["ss", "-ltnH", f"sport = :{server['port']}"], capture_output=True,
                         text=True)
    if out.returncode != 0:
        pytest.skip("ss not available")
    lines = out.stdout.strip().splitlines()
    assert lines and all("127.0.0.1:" in line for line in lines)


def test_http_api_returns_what_the_cli_prints(server):
    question = "What did Zarif say about Article 51 of the UN Charter?"
    status, data = http(f"{server['url']}/api/ask", {"question": question})
    assert status == 200
    assert rounded(data) == rounded(cli_json(server["folder"], question))
    assert data["answered"] is True and data["generated"] is False and data["generation"] is None

    status, data = http(f"{server['url']}/api/ask",
                        {"question": "What did he warn?", "speaker": "Austim", "since": "2021",
                         "k": 3})
    assert status == 200
    assert rounded(data) == rounded(cli_json(server["folder"], "What did he warn?", "--speaker",
                                             "Austim", "--since", "2021", "-k", "3"))

    # a follow-up: the history names who "he" is
    status, data = http(f"{server['url']}/api/ask", {
        "question": "What did he say about talks?",
        "history": ["What did Esper say about Soleimani?"]})
    assert status == 200 and "peaceful dialog" in data["answer"]

    status, data = http(f"{server['url']}/api/articles")
    assert status == 200 and data["count"] == 2 and data["passages"] > 0
    titles = {a["title"] for a in data["articles"]}
    assert "Iran Fires Rockets At US Forces Stationed In Iraq" in titles
    assert set(data["articles"][0]) >= {"id", "title", "date", "passages"}


def test_http_api_answers_concurrent_clients_like_one(server):
    """20 clients at once: every answer arrives, and each is the answer a lone client gets
    (answers run on worker threads, at most one per core; nothing is shared that should not be)."""
    from concurrent.futures import ThreadPoolExecutor

    questions = ["Which airbases were attacked in January 2020?", "What did Zarif say?",
                 "Who threatened revenge?", "What is the capital of France?"]
    alone = {q: http(f"{server['url']}/api/ask", {"question": q})[1] for q in questions}
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda i: (questions[i % 4], http(
            f"{server['url']}/api/ask", {"question": questions[i % 4]})), range(60)))
    assert all(status == 200 for _, (status, _) in results)
    assert all(rounded(data) == rounded(alone[q]) for q, (_, data) in results)


@pytest.mark.parametrize("body,status,message", [
    ({"question": ""}, 400, "the question is empty"),
    ({}, 400, "no question given"),
    ({"question": "?! ..."}, 400, "no words"),
    ({"question": "x" * 2001}, 400, "2,001 characters"),
    ({"question": "Who?", "speaker": "Zarif" * 2_000}, 400, "speaker is 10,000 characters"),
    ({"question": "Who?", "history": ["Who?"] * 1000}, 400, "history has 1,000 questions"),
    ({"question": "Who?", "history": [1, None]}, 400, "history item 1 must be text"),
    ({"question": "Who?", "k": 0}, 400, "k must be a whole number from 1 to 50"),
    ({"question": "Who?", "k": "5"}, 400, "k must be a whole number"),
    ({"question": "Who?", "since": "the day after tomorrow"}, 400, ""),
    ({"question": "Who?", "generate": True}, 400, "unknown field(s) 'generate'"),
    ('{"question": "\\ud800 Who?"}', 400, "not valid text"),
    ("not json", 400, "not JSON"),
    ('["Who?"]', 400, "JSON object"),
    ({"question": "Who?", "history": ["é" * 2001] * 20}, 400, "history item 1 is 2,001"),
    ({"question": "Who?", "history": ["x" * 2000] * 150}, 413, "over 256 KB"),
])
def test_http_api_refuses_bad_input_clearly(server, body, status, message):
    got, data = http(f"{server['url']}/api/ask", body)
    assert got == status, data
    assert set(data) == {"error"} and message in data["error"] and len(data["error"]) < 300


def test_gradio_endpoint_same_answers_and_clear_errors(server):
    from gradio_client import Client

    client = Client(server["url"], verbose=False)
    question = "What did Esper say about Soleimani?"
    via_gradio = client.predict(question, api_name="/ask")
    assert rounded(via_gradio) == rounded(cli_json(server["folder"], question))
    assert client.predict("What is the capital of France?", api_name="/ask")["answered"] is False

    # only the server's settings turn generation on: the endpoint has no such parameter
    params = [p["parameter_name"] for p in client.view_api(return_format="dict", print_info=False)
              ["named_endpoints"]["/ask"]["parameters"]]
    assert "generate" not in params and params[0] == "question"

    for args, message in [(("",), "the question is empty"),
                          (("Who?", [], "Zarif" * 20_000), "speaker is 100,000 characters"),
                          (("Who?", ["Who?"] * 500), "history has 500 questions")]:
        with pytest.raises(Exception, match=re.escape(message)):
            client.predict(*args, api_name="/ask")


def test_uploads_are_refused_and_errors_log_one_short_line(server):
    boundary = "nrboundary"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\""
               f"\r\nContent-Type: application/octet-stream\r\n\r\n").encode() + b"\0" * 50_000 + \
        f"\r\n--{boundary}--\r\n".encode()
    status, data = http(f"{server['url']}/gradio_api/upload", payload, method="POST",
                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 403 and "uploads are disabled" in data["error"]
    # GET on the ask endpoint says how to call it, not "Not Found"
    status, data = http(f"{server['url']}/api/ask", method="GET")
    assert status == 405 and "use POST" in data["error"]

    http(f"{server['url']}/api/ask", {"question": "Who?", "speaker": "Q" * 20_000})
    log = (server["folder"] / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    refused = [line for line in log.splitlines() if "refused" in line]
    assert any("speaker is 20,000 characters" in line for line in refused)
    assert refused and max(map(len, refused)) < 600 and "Q" * 200 not in log


def test_chat_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server["url"])
        example = page.get_by_text("Which airbases did Iran attack in January 2020?").first
        expect(example).to_be_visible()
        expect(page.locator("#nr-articles")).to_contain_text("Iran Fires Rockets At US Forces",
                                                             timeout=120_000)
        expect(page.locator("#nr-articles")).to_contain_text("undated")
        # no model configured: no "written by the language model" choice, and the reason why
        expect(page.locator("#nr-style")).to_have_count(0)
        expect(page.locator("#nr-style-note")).to_contain_text("--generator openai")

        def ask(question: str) -> None:
            box = page.locator("#nr-question textarea")
            box.fill(question)
            box.press("Enter")

        def assert_in_chat_view(box) -> None:
            """The box's top edge lies inside the visible part of the chat's scroll area and of
            the window: the reader sees the answer without scrolling."""
            seen = box.evaluate("""el => {
                let s = el.parentElement;
                const scrolls = e => e.scrollHeight > e.clientHeight + 2 &&
                                     /(auto|scroll)/.test(getComputedStyle(e).overflowY);
                while (s && !scrolls(s)) s = s.parentElement;
                const r = el.getBoundingClientRect();
                const v = s ? s.getBoundingClientRect() : {top: 0, bottom: innerHeight};
                return {top: r.top, areaTop: v.top, areaBottom: Math.min(v.bottom, innerHeight)};
            }""")
            assert seen["areaTop"] - 1 <= seen["top"] <= seen["areaBottom"] - 40, seen

        ask("Which airbases were attacked in January 2020?")
        answer = page.locator("#nr-chat .nr-answer").last
        expect(answer).to_contain_text("Al-Asad", timeout=120_000)
        expect(answer).to_contain_text("Irbil")
        page.wait_for_timeout(600)  # let the page settle where it scrolls to
        assert_in_chat_view(answer)
        marker = page.locator("#nr-chat a.nr-marker").first
        expect(marker).to_have_text("[1]")
        card = page.locator(f"[id='{marker.get_attribute('href')[1:]}']")
        expect(card).to_contain_text("Iran Fires Rockets At US Forces Stationed In Iraq")
        expect(card.locator("mark").first).to_contain_text("Al-Asad")

        # one marker per run of sentences; the card shows the used sentences, not Rouhani's tweet
        ask("What did Zarif say about Article 51 of the UN Charter?")
        expect(page.locator("#nr-chat .nr-answer")).to_have_count(2, timeout=60_000)
        answer = page.locator("#nr-chat .nr-answer").last
        expect(answer).to_contain_text("(Javad Zarif via Twitter, January 7, 2020) [1]")
        assert not DOUBLED.search(answer.inner_text()), answer.inner_text()
        page.wait_for_timeout(600)
        assert_in_chat_view(answer)
        card = page.locator("#nr-chat .nr-card").last
        excerpt = card.locator(":scope > .nr-card-text")
        # the quoted tweet is among the highlighted sentences (in article order)
        expect(excerpt.locator("mark").filter(has_text="Article 51").first).to_be_visible()
        expect(excerpt).not_to_contain_text("take revenge")
        whole = card.locator("details.nr-full")
        expect(whole.locator(".nr-card-text")).not_to_be_visible()
        whole.locator("summary").click()
        expect(whole.locator(".nr-card-text")).to_contain_text("take revenge")

        # refusals: nothing related -> no passages; somewhat related -> a few, collapsed
        ask("What is the capital of France?")
        refusal = page.locator("#nr-chat .nr-refusal").last
        expect(refusal).to_contain_text("Not in the articles", timeout=60_000)
        expect(refusal).to_contain_text("The articles don't say")
        page.wait_for_timeout(600)
        assert_in_chat_view(refusal)
        expect(page.get_by_text("No passage comes close to this question.")).to_be_visible()
        ask("What did Ayatollah Khamenei say in his speech?")
        expect(page.locator("#nr-chat .nr-refusal")).to_have_count(2, timeout=60_000)
        related = page.locator("#nr-chat details.nr-related").last
        expect(related.locator(":scope > summary")).to_contain_text(
            "Closest passages (they do not answer")
        cards = related.locator(".nr-card")
        assert 1 <= cards.count() <= 3
        expect(cards.first).not_to_be_visible()
        page.wait_for_timeout(600)
        assert_in_chat_view(page.locator("#nr-chat .nr-refusal").last)

        ask("What did Esper say about Soleimani?")
        expect(page.locator("#nr-chat .nr-answer")).to_have_count(3, timeout=60_000)
        ask("What did he say about talks?")
        expect(page.locator("#nr-chat .nr-answer")).to_have_count(4, timeout=60_000)
        expect(page.locator("#nr-chat .nr-answer").last).to_contain_text("peaceful dialog")
        # the source card of a quotation says who said it, where and when
        expect(page.locator("#nr-chat .nr-card-said").first).to_contain_text("Said by ")

        # the reader's own HTML is shown as typed, never run
        ask('<img src=x onerror="window.nrXss=1"> <b>bold</b>')
        expect(page.locator("#nr-chat").get_by_text('<b>bold</b>', exact=False)).to_be_visible(
            timeout=30_000)
        expect(page.locator("#nr-chat .nr-error, #nr-chat .nr-refusal, #nr-chat .nr-answer")
               ).to_have_count(7, timeout=60_000)
        assert page.evaluate("window.nrXss") is None
        assert page.locator("#nr-chat img[src=x]").count() == 0

        ask("?!")
        expect(page.locator("#nr-chat .nr-error").last).to_contain_text("no words", timeout=30_000)

        # one speaker's statements only, chosen in the side panel: people, not news agencies
        page.get_by_role("button", name="New conversation").click()
        expect(page.locator("#nr-chat .nr-answer")).to_have_count(0, timeout=30_000)
        page.locator("#nr-speaker input").click()
        options = page.get_by_role("option")
        expect(options.first).to_be_visible()
        names = options.all_inner_texts()
        assert any("Lloyd Austin" in n for n in names), names
        assert not any("Associated Press" in n or "authorities" in n for n in names), names
        page.get_by_role("option", name=re.compile("Lloyd Austin")).click()
        ask("What did he warn?")
        last = page.locator("#nr-chat .nr-answer").last
        expect(last).to_contain_text("strike", timeout=60_000)
        said = page.locator("#nr-chat .nr-card-said")
        expect(said.last).to_contain_text("Lloyd Austin")
        # a remark dated only by its article says when it was reported, not when it was made
        assert not any("(article date)" in t for t in said.all_inner_texts())

        # the README's screenshot: a fresh conversation, one answer, the page from the top
        page.get_by_role("button", name="New conversation").click()
        page.locator("#nr-speaker input").click()
        page.get_by_role("option", name="Anyone").click()
        ask("What did Zarif say about the attack?")
        expect(page.locator("#nr-chat .nr-answer")).to_have_count(1, timeout=60_000)
        page.wait_for_timeout(600)
        assert_in_chat_view(page.locator("#nr-chat .nr-answer").last)
        page.evaluate("window.scrollTo(0, 0)")
        shot = Path(os.environ.get("NEWSRAG_SCREENSHOT") or tmp_path / "chat.png")
        page.screenshot(path=str(shot))
        print(f"\nscreenshot: {shot}")
        browser.close()
    assert shot.stat().st_size > 10_000
    # The server is still serving after the errors above.
    urllib.request.urlopen(server["url"], timeout=5)
