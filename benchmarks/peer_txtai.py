"""The txtai side of the peer benchmark; runs inside benchmarks/.venv-peer, not newsrag's venv.

    peer_txtai.py IN.json OUT.json

IN: {"docs": [{"id", "title", "text"}], "queries": {qid: text}, "model": model folder}.
OUT: build seconds, per-query latencies, and the top-10 document ids per query.
"""

import json
import sys
import time
from importlib.metadata import version

from txtai import Embeddings

spec = json.load(open(sys.argv[1]))
embeddings = Embeddings(path=spec["model"], content=True, hybrid=True)
t0 = time.perf_counter()
embeddings.index([(d["id"], f"{d['title']}\n{d['text']}", None) for d in spec["docs"]])
build = time.perf_counter() - t0
for q in list(spec["queries"].values())[:5]:
    embeddings.search(q, 10)
run, latencies = {}, []
for qid, text in spec["queries"].items():
    t0 = time.perf_counter()
    results = embeddings.search(text, 10)
    latencies.append(time.perf_counter() - t0)
    run[qid] = [r["id"] for r in results]
json.dump({"version": version("txtai"), "build": build, "latencies": latencies, "run": run},
          open(sys.argv[2], "w"))
