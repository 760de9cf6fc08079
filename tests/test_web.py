"""The chat page for real: ``newsrag serve`` on a free loopback port, driven in headless Chromium
by playwright, and called through ``gradio_client``'s named endpoint."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request

import pytest

from conftest import CORPUS, start_serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``newsrag serve`` in a fresh project folder: it has to build the index itself."""
    folder = tmp_path_factory.mktemp("web")
    shutil.copytree(CORPUS, folder / "corpus")
    proc, url, port = start_serve(folder)
    yield {"url": url, "port": port, "folder": folder, "proc": proc}
    proc.terminate()
    proc.wait(timeout=30)


def test_binds_loopback_only(server):
    out = subprocess.run(["ss", "-ltnH", f"sport = :{server['port']}"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("ss not available")
    assert out.stdout.strip() and all("127.0.0.1:" in line for line in out.stdout.strip().splitlines())


def test_api_endpoint_matches_python_api(server, settings, embedder):
    from gradio_client import Client

    from newsrag import Index

    client = Client(server["url"], verbose=False)
    question = "What did Zarif say about Article 51 of the UN Charter?"
    via_http = client.predict(question, api_name="/ask")
    local = Index.load(server["folder"] / "index", settings, embedder).ask(question).to_dict()
    assert via_http["answer"] == local["answer"] and via_http["answered"] is True
    assert [c["passage"] for c in via_http["citations"]] == [c["passage"] for c in local["citations"]]
    refused = client.predict("What is the capital of France?", api_name="/ask")
    assert refused["answered"] is False


def test_chat_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(server["url"])
        expect(page.get_by_text("Which airbases did Iran attack in January 2020?").first).to_be_visible()
        expect(page.locator("#nr-articles")).to_contain_text("Iran Fires Rockets At US Forces",
                                                             timeout=120_000)
        expect(page.locator("#nr-articles")).to_contain_text("undated")

        def ask(question: str) -> None:
            box = page.locator("#nr-question textarea")
            box.fill(question)
            box.press("Enter")

        ask("Which airbases were attacked in January 2020?")
        answer = page.locator("#nr-chat .nr-answer").first
        expect(answer).to_contain_text("Al-Asad", timeout=120_000)
        expect(answer).to_contain_text("Irbil")
        marker = page.locator("#nr-chat a.nr-marker").first
        expect(marker).to_have_text("[1]")
        card = page.locator(f"[id='{marker.get_attribute('href')[1:]}']")
        expect(card).to_contain_text("Iran Fires Rockets At US Forces Stationed In Iraq")
        expect(card.locator("mark").first).to_contain_text("Al-Asad")

        ask("What is the capital of France?")
        refusal = page.locator("#nr-chat .nr-refusal").first
        expect(refusal).to_contain_text("Not in the articles", timeout=60_000)
        expect(refusal).to_contain_text("The articles don't say")
        expect(page.get_by_text("Closest passages (they do not answer the question)")).to_be_visible()

        ask("What did Esper say about Soleimani?")
        expect(page.locator("#nr-chat .nr-answer")).to_have_count(2, timeout=60_000)
        ask("What did he say about talks?")
        expect(page.locator("#nr-chat .nr-answer")).to_have_count(3, timeout=60_000)
        expect(page.locator("#nr-chat .nr-answer").last).to_contain_text("peaceful dialog")

        # the source card of a quotation says who said it, where and when
        expect(page.locator("#nr-chat .nr-card-said").first).to_contain_text("Said by Mark Esper")

        ask("   ")
        expect(page.locator("#nr-chat .nr-error").last).to_contain_text("empty", timeout=30_000)

        # one speaker's statements only, chosen in the side panel
        page.get_by_role("button", name="New conversation").click()
        expect(page.locator("#nr-chat .nr-answer")).to_have_count(0, timeout=30_000)
        page.locator("#nr-speaker input").click()
        page.get_by_role("option", name=re.compile("Lloyd Austin")).click()
        ask("What did he warn?")
        last = page.locator("#nr-chat .nr-answer").last
        expect(last).to_contain_text("strike", timeout=60_000)
        expect(page.locator("#nr-chat .nr-card-said").last).to_contain_text("Lloyd Austin")

        shot = tmp_path / "chat.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot: {shot}")
        browser.close()
    assert shot.stat().st_size > 10_000
    # The server is still serving after the error above.
    urllib.request.urlopen(server["url"], timeout=5)
