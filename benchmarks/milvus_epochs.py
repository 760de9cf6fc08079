"""What Milvus builds and searches cost, store against store, with the model out of the way (the
fake ``hash`` encoder): a synthetic corpus of N articles, a full build, an incremental build that
adds one article and one that removes it again, then 40 searches without a filter and 40 with a
period (as Milvus Lite sends it by default: an id list below ``LITE_ID_LIST_MAX`` rows).

Stores, each on its own database, in one run:

- ``faiss``: FAISS files;
- ``before``: the Milvus store of git revision BEFORE (default ``main``; read with ``git show``,
  so this needs the repository): every build a new epoch, every kept row copied;
- ``epoch``: this store as Milvus Lite runs it by default (``NEWSRAG_MILVUS_UPSERT=auto``: a new
  epoch per build, its BM25 statistics one segment's);
- ``upsert``: this store upserting (``always``, what ``auto`` does on a Milvus server): an add
  inserts its article's rows, a removal marks its rows dead; Milvus' BM25 function and one
  ``hybrid_search`` with ``RRFRanker`` per search either way.

The closing table gives each figure per store and the ratios to ``before``.

    python benchmarks/milvus_epochs.py 2000 /tmp/milvus-epochs [BEFORE]

Figures recorded in docs/scaling.md ("What breaks first").
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from newsrag import Index, Settings

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("rockets base attack minister said forces iraq talks strike response defense officials "
         "reported statement embassy drone missile council vote ceasefire").split()
BEFORE = "newsrag._before_milvus_store:MilvusStore"
NEW = "New report\n\ndate: 2021-04-01\n\nThe harbour reopened to cargo ships.\n"


def corpus(folder: Path, n: int) -> None:
    rng = random.Random(1)
    folder.mkdir(parents=True)
    for i in range(n):
        paras = []
        for _ in range(4):
            words = " ".join(rng.choice(WORDS) for _ in range(60))
            paras.append(f'{words.capitalize()}. "We will respond," Minister Aram Vale{i % 50} '
                         f"said on March {rng.randint(1, 28)}, 2021.")
        (folder / f"a{i:05d}.txt").write_text(
            f"Report {i}\n\ndate: 2021-03-{rng.randint(1, 28):02d}\n\n" + "\n\n".join(paras) + "\n")


def load_store_before(rev: str) -> None:
    """Register the Milvus store of git revision ``rev`` under its dotted path (``milvus`` stays
    today's)."""
    from newsrag.milvus_store import MilvusStore
    from newsrag.stores import STORES

    source = subprocess.run(["git", "show", f"{rev}:src/newsrag/milvus_store.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "before_milvus_store.py"
    path.write_text(source)
    name = BEFORE.partition(":")[0]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    STORES["milvus"] = MilvusStore


def queries() -> list[str]:
    rng = random.Random(2)
    return [" ".join(rng.sample(WORDS, 3)) for _ in range(40)]


def latencies(index: Index, **kw: str) -> tuple[float, float]:
    """p50 and p95 in ms of 40 searches (after one unmeasured search)."""
    index.search("attack", k=10, **kw)
    runs = []
    for q in queries():
        started = time.perf_counter()
        index.search(q, k=10, **kw)
        runs.append(time.perf_counter() - started)
    return float(np.percentile(runs, 50) * 1000), float(np.percentile(runs, 95) * 1000)


def build(work: Path, s: Settings, label: str) -> tuple[Index, float]:
    started = time.perf_counter()
    index = Index.build(work / "corpus", work / f"index-{label}", s)
    return index, time.perf_counter() - started


def written(index: Index, store: str) -> str:
    """Passage rows the store wrote: inserted (+ marked dead)."""
    if store == "faiss":
        return f"{index.info()['passages']}"
    wrote = index.build_report.store_writes if index.build_report else {}
    if not wrote:  # the store before upserts does not count: every row goes into the new epoch
        return f"{index.info()['passages']}"
    dead = wrote.get("removed", 0)
    return f"{wrote['passages']}" + (f"+{dead} dead" if dead else "")


def main() -> None:
    n, work = int(sys.argv[1]), Path(sys.argv[2])
    before_rev = sys.argv[3] if len(sys.argv) > 3 else "main"
    shutil.rmtree(work, ignore_errors=True)
    corpus(work / "corpus", n)
    load_store_before(before_rev)
    period = {"since": "2021-03-10", "until": "2021-03-20"}
    stores = (("faiss", "faiss", "auto"), ("before", BEFORE, "auto"), ("epoch", "milvus", "auto"),
              ("upsert", "milvus", "always"))
    table: dict[str, dict[str, Any]] = {}
    for label, store, mode in stores:
        os.environ["NEWSRAG_MILVUS_UPSERT"] = mode
        s = Settings(embedder="hash", store=store, milvus_uri=str(work / f"{label}.db"),
                     sentence_vectors=False)
        row: dict[str, Any] = {}
        index, row["full build (s)"] = build(work, s, label)
        (work / "corpus" / "new.txt").write_text(NEW)
        index, row["+1 article (s)"] = build(work, s, label)
        row["+1 rows written"] = written(index, store)
        (work / "corpus" / "new.txt").unlink()
        index, row["-1 article (s)"] = build(work, s, label)
        row["-1 rows written"] = written(index, store)
        row["search p50 (ms)"], row["search p95 (ms)"] = latencies(index)
        row["period p50 (ms)"], row["period p95 (ms)"] = latencies(index, **period)
        row["passages"] = index.info()["passages"]
        table[label] = row
        print(f"{label}: " + "; ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                       for k, v in row.items()), flush=True)
    labels = [label for label, _, _ in stores]
    print(f"\n| {n} articles | " + " | ".join(labels)
          + " | epoch/before | upsert/before |")
    print("|---" * (len(labels) + 3) + "|")
    for key in table["faiss"]:
        cells = [table[x][key] for x in labels]
        shown = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in cells]
        ratios = [f"{table[x][key] / table['before'][key]:.2f}"
                  if isinstance(table[x][key], float) else "" for x in ("epoch", "upsert")]
        print(f"| {key} | " + " | ".join(shown + ratios) + " |", flush=True)


if __name__ == "__main__":
    main()
