"""Load check of the chat server's HTTP API: 20 concurrent clients, 200 questions in all.

Starts ``newsrag serve`` on a free loopback port over a copy of corpus/, waits until it answers,
then 20 threads each ask 10 questions from tests/questions.json through ``gradio_client``
(``/ask``). Prints errors (must be 0), p50/p95/max latency and throughput.

    python benchmarks/load_check.py [--clients 20] [--questions 200]
"""

from __future__ import annotations

import argparse
import json
import os
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

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    from gradio_client import Client

    qs = json.loads((ROOT / "tests" / "questions.json").read_text())
    pool = [i["q"] for i in qs["answerable"]] + qs["unanswerable"]
    work = Path(tempfile.mkdtemp(prefix="newsrag-load-"))
    shutil.copytree(ROOT / "corpus", work / "corpus")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    exe = Path(sys.executable).parent / "newsrag"
    server = subprocess.Popen([str(exe), "serve", "--port", str(port)], cwd=work,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print("server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        Client(url, verbose=False).predict("warm-up: which airbases were attacked?", api_name="/ask")
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        per_client = args.questions // args.clients

        def worker(c: int) -> None:
            client = Client(url, verbose=False)
            for j in range(per_client):
                question = pool[(c * per_client + j) % len(pool)]
                t0 = time.perf_counter()
                try:
                    result = client.predict(question, api_name="/ask")
                    ok = isinstance(result, dict) and "answer" in result
                    err = None if ok else f"bad result: {str(result)[:80]}"
                except Exception as exc:  # count every failure, whatever it is
                    err = f"{type(exc).__name__}: {exc}"
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    if err:
                        errors.append(err)

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(c,)) for c in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        print(f"load check: {args.clients} concurrent clients, {len(latencies)} questions via /ask")
        print(f"  errors: {len(errors)}")
        print(f"  latency p50 {1000 * statistics.median(latencies):.0f} ms, "
              f"p95 {1000 * percentile(latencies, 0.95):.0f} ms, max {1000 * max(latencies):.0f} ms")
        print(f"  throughput {len(latencies) / wall:.1f} questions/s over {wall:.1f} s")
        for e in errors[:5]:
            print(f"  error: {e}")
        return 1 if errors else 0
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
