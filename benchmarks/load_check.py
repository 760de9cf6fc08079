"""Load check of the chat server: 40 concurrent clients x 10 questions, through each API.

Starts ``newsrag serve`` on a free loopback port over a copy of corpus/, waits until the index is
loaded, then for each API (``--via http``: plain ``POST /api/ask``; ``--via gradio``: the named
Gradio endpoint ``/ask`` through ``gradio_client``) runs ``--clients`` threads that each ask
``--per-client`` questions from tests/questions.json, one after another. Prints errors (must be
0), p50/p95/max latency and throughput per API. Exit status 1 on any error.

    python benchmarks/load_check.py [--clients 40] [--per-client 10] [--via both|http|gradio]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_server(work: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    exe = Path(sys.executable).parent / "newsrag"
    server = subprocess.Popen([str(exe), "serve", "--port", str(port)], cwd=work,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + 300
    while True:  # until the index is loaded: /api/articles answers 200 (503 while loading)
        try:
            urllib.request.urlopen(f"{url}/api/articles", timeout=2)
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise SystemExit("server did not start") from None
            time.sleep(0.5)


def http_asker(url: str) -> Callable[[str], dict]:
    def ask(question: str) -> dict:
        req = urllib.request.Request(f"{url}/api/ask",
                                     data=json.dumps({"question": question}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())
    return ask


def gradio_asker(url: str) -> Callable[[str], dict]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    return lambda question: client.predict(question, api_name="/ask")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by this process or by ``pid``: shows whether the
    server or the load-generating clients (on the same cores) were the bottleneck."""
    if pid is None:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(make_asker: Callable[[], Callable[[str], dict]], pool: list[str], clients: int,
        per_client: int) -> dict:
    """``clients`` threads, each asking ``per_client`` questions in turn; latencies and errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def worker(c: int) -> None:
        try:
            ask = make_asker()
        except Exception as exc:  # a client that cannot even connect is an error per question
            with lock:
                errors.extend([f"connect: {type(exc).__name__}: {exc}"] * per_client)
            start.wait()
            return
        start.wait()
        for j in range(per_client):
            question = pool[(c * per_client + j) % len(pool)]
            t0 = time.perf_counter()
            try:
                result = ask(question)
                err = None if isinstance(result, dict) and "answer" in result else \
                    f"bad result: {str(result)[:80]}"
            except Exception as exc:  # count every failure, whatever it is
                err = f"{type(exc).__name__}: {exc}"
            with lock:
                latencies.append(time.perf_counter() - t0)
                if err:
                    errors.append(err)

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"questions": len(latencies), "errors": errors, "wall": wall,
            "p50": statistics.median(latencies) if latencies else float("nan"),
            "p95": percentile(latencies, 0.95) if latencies else float("nan"),
            "max": max(latencies, default=float("nan"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--via", choices=["both", "http", "gradio"], default="both")
    args = parser.parse_args()

    qs = json.loads((ROOT / "tests" / "questions.json").read_text())
    pool = [i["q"] for i in qs["answerable"]] + qs["unanswerable"]
    work = Path(tempfile.mkdtemp(prefix="newsrag-load-"))
    shutil.copytree(ROOT / "corpus", work / "corpus")
    server, url = start_server(work)
    failed = False
    try:
        http_asker(url)("warm-up: which airbases were attacked?")
        apis = {"http": ("POST /api/ask", lambda: http_asker(url)),
                "gradio": ("gradio_client /ask", lambda: gradio_asker(url))}
        for via in (["http", "gradio"] if args.via == "both" else [args.via]):
            name, make = apis[via]
            cpu_client, cpu_server = cpu_seconds(), cpu_seconds(server.pid)
            r = run(make, pool, args.clients, args.per_client)
            cpu_client = cpu_seconds() - cpu_client
            cpu_server = cpu_seconds(server.pid) - cpu_server
            failed |= bool(r["errors"])
            print(f"load check, {name}: {args.clients} concurrent clients x {args.per_client} "
                  f"questions = {r['questions']}")
            print(f"  errors: {len(r['errors'])}")
            print(f"  latency p50 {1000 * r['p50']:.0f} ms, p95 {1000 * r['p95']:.0f} ms, "
                  f"max {1000 * r['max']:.0f} ms")
            print(f"  throughput {r['questions'] / r['wall']:.1f} questions/s "
                  f"over {r['wall']:.1f} s")
            print(f"  CPU per question: server {1000 * cpu_server / r['questions']:.1f} ms, "
                  f"clients {1000 * cpu_client / r['questions']:.1f} ms (same cores)")
            for e in r["errors"][:5]:
                print(f"  error: {e}")
        return 1 if failed else 0
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
