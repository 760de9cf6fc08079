"""The Milvus store shared by several processes: `newsrag serve`, `add`, `build`, `ask` and
`eval` against one Milvus server on 127.0.0.1.

Milvus Lite opens its data folder in one process only (a lock file; milvus-lite issue #264:
"not possible to share between process"), so these tests start milvus-lite's own gRPC server
(`milvus-lite server --data-dir ... --host 127.0.0.1`), the same protocol as a Milvus server,
and every newsrag process talks to it by `http://127.0.0.1:PORT`, as replicas talk to a Milvus
cluster. Real processes throughout: the server, the CLI, `newsrag serve` over HTTP.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import CORPUS, free_port, newsrag_cmd, run_cli, start_serve
from test_live_reload import HARBOUR, NEW_QUESTION, NEW_TITLE, stop
from test_web import http, wait_ready

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'newsrag[scale]')")
pytestmark = [pytest.mark.slow, pytest.mark.model]  # builds and servers on the real model

LEASE = "5"  # seconds a killed build's lease lives (NEWSRAG_MILVUS_LEASE_SECONDS)


@pytest.fixture
def milvus_server(tmp_path):
    """milvus-lite's gRPC server on a free loopback port; its URI."""
    port = free_port()
    log = open(tmp_path / "milvus-server.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "milvus-lite"), "server",
                             "--data-dir", str(tmp_path / "milvus-data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail((tmp_path / "milvus-server.log").read_text()[-3000:])
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGINT)  # run_server closes the database on KeyboardInterrupt
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def where(folder: Path, uri: str) -> list[str]:
    return ["--corpus", str(folder / "corpus"), "--index", str(folder / "index"), "--store",
            "milvus", "--milvus-uri", uri]


def milvus_env() -> dict[str, str]:
    # Upsert as on a Milvus server: milvus-lite's server, being Milvus Lite, would write a new
    # epoch per build by default (its BM25 statistics are per segment; milvus_store.upsert_mode)
    return {"NEWSRAG_MILVUS_LEASE_SECONDS": LEASE, "NEWSRAG_MILVUS_UPSERT": "always"}


def milvus(uri: str):  # type: ignore[no-untyped-def]
    from newsrag import Settings
    from newsrag.stores import make_store

    return make_store(Settings(store="milvus", milvus_uri=uri), "unused")


def epochs(uri: str) -> set[str]:
    return milvus(uri).epochs()


# `newsrag build` that SIGKILLs itself when it is about to move the pointer: every row of its
# revision written (new ones born, removed ones marked dead, blobs), none of it live.
KILLED_BEFORE_POINTER = """
import os, signal, sys
from newsrag.milvus_store import MilvusStore
from newsrag.cli import main
MilvusStore._point_to = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
sys.argv = ["newsrag", *sys.argv[1:]]
main()
"""


def test_serve_follows_an_add_on_a_shared_milvus_server_without_failing_a_question(
        tmp_path, milvus_server):
    shared = tmp_path / "shared"
    shutil.copytree(CORPUS, shared / "corpus")
    opts = where(shared, milvus_server)
    built = run_cli("build", *opts, cwd=shared, env=milvus_env())
    assert built.returncode == 0, built.stderr
    (tmp_path / "replica").mkdir()
    proc, url, _ = start_serve(tmp_path / "replica", *opts)
    try:
        assert wait_ready(url)["count"] == 2
        status, data = http(f"{url}/api/ask", {"question": "At what time were the attacks made?"})
        assert status == 200 and "5:30" in data["answer"], data
        status, data = http(f"{url}/api/ask", {"question": "What did Zarif say?",
                                                "speaker": "Zarif"})
        assert status == 200 and data["answered"], data
        first = epochs(milvus_server)

        outcomes: list[int] = []
        done = threading.Event()

        def keep_asking() -> None:
            while not done.is_set():
                status, _ = http(f"{url}/api/ask", {"question": "Which airbases were attacked?"})
                outcomes.append(status)
                time.sleep(0.02)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            started = time.monotonic()
            added = run_cli("add", str(HARBOUR), *opts, cwd=shared, env=milvus_env())
            assert added.returncode == 0, added.stderr
            added_at = time.monotonic()
            while http(f"{url}/api/articles")[1].get("count") != 3:
                assert time.monotonic() - added_at < 90, "the server did not switch"
                time.sleep(0.2)
            switched = time.monotonic() - started
            before = len(outcomes)
            time.sleep(1.0)
        finally:
            done.set()
            asker.join(timeout=120)
        assert len(outcomes) > before and set(outcomes) == {200}, \
            [s for s in outcomes if s != 200][:5]
        status, data = http(f"{url}/api/ask", {"question": NEW_QUESTION})
        assert status == 200 and data["answered"], data
        assert data["citations"][0]["title"] == NEW_TITLE
        assert epochs(milvus_server) == first  # an upsert into the live epoch
        assert milvus(milvus_server).current() == (min(first), 2)
        print(f"\nmilvus live reload: {len(outcomes)} questions while `add` ran "
              f"({added_at - started:.1f} s), 0 failed; served the new article "
              f"{switched:.1f} s after `add` started")
    finally:
        stop(proc)
    log = (tmp_path / "replica" / "serve.log").read_text()
    assert "now serving index generation" in log and "Traceback" not in log, log[-2000:]


def test_a_killed_build_leaves_the_previous_data_and_a_second_build_is_refused(
        tmp_path, milvus_server):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    opts = where(tmp_path, milvus_server)
    assert run_cli("build", *opts, cwd=tmp_path, env=milvus_env()).returncode == 0
    live = epochs(milvus_server)
    assert len(live) == 1

    # an incremental build killed (SIGKILL) with its revision written but the pointer not moved
    shutil.copy(HARBOUR, tmp_path / "corpus" / "harbour.txt")
    killed = subprocess.run([sys.executable, "-c", KILLED_BEFORE_POINTER, "build", *opts],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, **milvus_env(), "HF_HUB_OFFLINE": "1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    killed_at = time.monotonic()
    store = milvus(milvus_server)
    store.client.load_collection(store.name)
    assert epochs(milvus_server) == live and store.current() == (min(live), 1)
    unborn = store.client.query(store.name, filter="born > 1", output_fields=["pk"], limit=100)
    assert unborn  # its rows are there, not live
    info = run_cli("info", "--json", *opts[2:], cwd=tmp_path)
    assert info.returncode == 0 and json.loads(info.stdout)["articles"] == 2, info.stderr
    asked = run_cli("ask", "At what time were the attacks made?", "--json", "--index",
                    str(tmp_path / "index"), "--store", "milvus", "--milvus-uri", milvus_server,
                    cwd=tmp_path / "index")  # no corpus here: answer from the index as it is
    assert asked.returncode == 0 and "5:30" in json.loads(asked.stdout)["answer"], asked.stderr
    # the next build, once the killed one's lease has expired (a machine fast enough got here
    # within LEASE seconds and was refused, as it should be), deletes what the killed one wrote
    # and writes its own revision 2
    time.sleep(max(0.0, float(LEASE) + 1 - (time.monotonic() - killed_at)))
    rebuilt = run_cli("build", *opts, cwd=tmp_path, env=milvus_env())
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert store.current() == (min(live), 2)
    assert sorted(r["pk"] for r in store.client.query(
        store.name, filter="born > 1", output_fields=["pk"], limit=100)) == sorted(
        f"{r['pk'].rsplit('@', 1)[0]}@2" for r in unborn)  # one copy of each, not two
    info = run_cli("info", "--json", *opts[2:], cwd=tmp_path)
    assert json.loads(info.stdout)["articles"] == 3

    # two builds at once: the second is refused while the first holds the lease
    from newsrag import Settings
    from newsrag.milvus_store import MilvusBuildLock
    from newsrag.stores import make_store

    time.sleep(float(LEASE) + 1)  # the killed build's lease has expired by now
    first = subprocess.Popen([*newsrag_cmd(), "build", "--full", *opts], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, **milvus_env()})
    lease = MilvusBuildLock(make_store(Settings(store="milvus", milvus_uri=milvus_server),
                                       tmp_path / "index"))  # type: ignore[arg-type]
    deadline = time.monotonic() + 120
    while not lease.holders():
        assert first.poll() is None and time.monotonic() < deadline, first.stderr
        time.sleep(0.1)
    refused = run_cli("build", *opts, cwd=tmp_path, env=milvus_env())
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: another build is running on Milvus "), \
        refused.stderr
    # the first build finished: harbour is live, the killed build's epoch is gone
    now = epochs(milvus_server)
    assert len(now) == 2 and not (now - live - {max(now)})
    info = run_cli("info", "--json", *opts[2:], cwd=tmp_path)
    assert json.loads(info.stdout)["articles"] == 3


def test_eval_on_a_milvus_server_through_the_cli(tmp_path, milvus_server):
    proc = run_cli("eval", "own", "--json", "--limit", "6", "--store", "milvus", "--milvus-uri",
                   milvus_server, cwd=Path(__file__).resolve().parent.parent, timeout=600,
                   env=milvus_env())
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["questions"] == 6 and result["passages"] == 8
    assert result["correct_rate"] >= 0.8 and result["recall@5"] >= 0.8, result
    assert len(epochs(milvus_server)) == 1  # the evaluation's index lives in that server
