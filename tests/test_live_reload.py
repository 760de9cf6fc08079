"""Live reload: running servers switch to a new index generation between questions, and a server
started while a build holds the lock waits for it instead of failing every question.

Real ``newsrag serve`` processes over one index folder, real ``newsrag add`` in between, real HTTP
requests all along."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from conftest import CORPUS, run_cli, start_serve
from test_web import http, wait_ready

HARBOUR = Path(__file__).resolve().parent / "data" / "harbour_article.txt"
NEW_TITLE = "Storm-Damaged Harbour In Port Verano Reopens To Cargo Ships"
NEW_QUESTION = "When did the harbour of Port Verano reopen to cargo ships?"

pytestmark = [pytest.mark.slow, pytest.mark.model]  # servers and builds on the real model


def stop(proc) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def test_two_replicas_follow_an_add_without_failing_a_question(tmp_path):
    shared = tmp_path / "shared"
    shutil.copytree(CORPUS, shared / "corpus")
    build = run_cli("build", cwd=shared)
    assert build.returncode == 0, build.stderr
    where = ["--corpus", str(shared / "corpus"), "--index", str(shared / "index")]
    replicas = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        proc, url, _ = start_serve(tmp_path / name, *where)
        replicas.append((proc, url))
    try:
        for _, url in replicas:
            assert wait_ready(url)["count"] == 2

        outcomes: list[int] = []
        done = threading.Event()

        def keep_asking() -> None:  # questions in flight while the index changes under them
            i = 0
            while not done.is_set():
                url = replicas[i % 2][1]
                status, _ = http(f"{url}/api/ask", {"question": "Which airbases were attacked?"})
                outcomes.append(status)
                i += 1
                time.sleep(0.02)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            started = time.monotonic()
            added = run_cli("add", str(HARBOUR), *where, cwd=shared)
            assert added.returncode == 0, added.stderr
            added_at = time.monotonic()
            switched = {}
            while len(switched) < 2:
                for _, url in replicas:
                    if url not in switched and http(f"{url}/api/articles")[1]["count"] == 3:
                        switched[url] = time.monotonic() - started
                assert time.monotonic() - added_at < 90, f"not switched: {switched}"
                time.sleep(0.2)
            before = len(outcomes)
            time.sleep(1.0)  # and keeps answering on the new generation
        finally:
            done.set()
            asker.join(timeout=120)
        assert len(outcomes) > before
        assert outcomes and set(outcomes) == {200}, [s for s in outcomes if s != 200][:5]
        for _, url in replicas:
            status, data = http(f"{url}/api/ask", {"question": NEW_QUESTION})
            assert status == 200 and data["answered"], data
            assert data["citations"][0]["title"] == NEW_TITLE
        print(f"\nlive reload: {len(outcomes)} questions while `add` ran "
              f"({added_at - started:.1f} s), 0 failed; replicas served the new article "
              f"{', '.join(f'{s:.1f} s' for s in switched.values())} after `add` started")
    finally:
        for proc, _ in replicas:
            stop(proc)
    for name in ("a", "b"):
        log = (tmp_path / name / "serve.log").read_text()
        assert "now serving index generation" in log and "Traceback" not in log, log[-2000:]


def test_server_started_during_a_build_waits_then_loads(tmp_path):
    from newsrag.store import IndexStore

    shutil.copytree(CORPUS, tmp_path / "corpus")
    assert run_cli("build", cwd=tmp_path).returncode == 0
    shutil.copy(HARBOUR, tmp_path / "corpus" / "harbour.txt")  # the index is now stale
    with IndexStore(tmp_path / "index").lock():  # as a build in another process would
        proc, url, _ = start_serve(tmp_path)
        try:
            deadline = time.monotonic() + 60
            while True:
                status, data = http(f"{url}/api/articles")
                if "waiting for a build" in data.get("error", ""):
                    break
                assert status == 503 and time.monotonic() < deadline, (status, data)
                time.sleep(0.3)
            status, data = http(f"{url}/api/ask", {"question": NEW_QUESTION})
            assert status == 503 and "waiting for a build" in data["error"]
        except BaseException:
            stop(proc)
            raise
    try:  # the lock is free: the server builds the stale index itself and serves it
        assert wait_ready(url)["count"] == 3
        status, data = http(f"{url}/api/ask", {"question": NEW_QUESTION})
        assert status == 200 and data["citations"][0]["title"] == NEW_TITLE
    finally:
        stop(proc)
