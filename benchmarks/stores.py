"""FAISS vs Milvus Lite on SciFact, in one run: nDCG@10, build time, query p50/p95.

    python benchmarks/stores.py [--data ../shared/bench] [--limit N] [--json out.json]

Both stores index the same passages with the same model. Passages are embedded once (the first
build, timed on its own as "embed"), and the second build takes the vectors from a memo, so the
build columns compare what the stores themselves cost (chunking, writing, indexing) and the
embedding rate is reported once. Queries go through ``Index.search`` (hybrid, k=300 passages
folded to 100 documents, as ``newsrag eval scifact``), one at a time, timed each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from newsrag import Settings  # noqa: E402
from newsrag.embedding import Embedder, load_embedder  # noqa: E402
from newsrag.evaluation import _index_for, load_dataset, ranked_documents  # noqa: E402


class MemoEmbedder(Embedder):
    """The real model, remembering every text's vector; times the real encoding."""

    kind = "memo"

    def __init__(self, inner: Embedder):
        self.inner, self.info = inner, inner.info
        self.memo: dict[str, np.ndarray] = {}
        self.seconds = 0.0
        self.computed = 0

    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if todo:
            started = time.perf_counter()
            # the outer encode() holds the one-forward-pass lock already: call the inner backend
            vecs = np.ascontiguousarray(self.inner._encode(todo, batch_size, progress),
                                        dtype=np.float32)
            self.seconds += time.perf_counter() - started
            self.computed += len(todo)
            self.memo.update(zip(todo, vecs))
        return np.stack([self.memo[t] for t in texts])


def run_store(store: str, ds: Any, embedder: MemoEmbedder, work: Path, k: int = 10
              ) -> dict[str, Any]:
    import ir_measures
    from ir_measures import nDCG

    settings = Settings(store=store, milvus_uri=str(work / "milvus.db"), sentence_vectors=False,
                        max_file_bytes=0)
    embed_before = embedder.seconds
    started = time.perf_counter()
    index, doc_of = _index_for(ds, work, settings, embedder, False)
    build_s = time.perf_counter() - started
    embed_s = embedder.seconds - embed_before
    times, run, qrels = [], [], []
    for q in ds.queries:
        t0 = time.perf_counter()
        hits = index.search(q["text"], k=300, mode="hybrid")
        times.append(time.perf_counter() - t0)
        seen = ranked_documents(hits, doc_of)
        run += [ir_measures.ScoredDoc(q["id"], d, float(len(seen) - r))
                for r, d in enumerate(seen[:100])]
        qrels += [ir_measures.Qrel(q["id"], d, g) for d, g in q["relevant"].items()]
    ndcg = ir_measures.calc_aggregate([nDCG @ k], qrels, run)[nDCG @ k]
    ms = sorted(1000 * t for t in times)
    passages = index.info()["passages"]
    return {"store": store, "passages": passages, "ndcg@10": round(ndcg, 4),
            "build_s": round(build_s, 1), "embed_s": round(embed_s, 1),
            "store_build_s": round(build_s - embed_s, 1),
            "ingest_passages_per_s": round(passages / max(1e-9, build_s - embed_s), 1),
            "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
            "queries": len(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--memo", type=Path, default=None,
                    help="Keep the passage vectors in this .npz between runs (re-runs skip "
                    "embedding; the embedding rate is then that of the run that made it).")
    args = ap.parse_args()
    ds = load_dataset("scifact", args.data, args.limit)
    # A record the reader finds no text in makes the reader skip the whole generated docs.jsonl (as
    # `newsrag eval scifact` does today); leave such records out, for both stores alike.
    # (80109277's text is a copyright line, which the reader drops as boilerplate.)
    def readable(d: dict[str, str]) -> bool:
        return bool(d["text"].strip()) and "all rights reserved" not in d["text"][:80].lower()

    empty = [d["id"] for d in ds.documents if not readable(d)]
    ds.documents[:] = [d for d in ds.documents if readable(d)]
    if empty:
        print(f"left out {len(empty)} SciFact records without text: {empty}", file=sys.stderr)
    embedder = MemoEmbedder(load_embedder(Settings().model))
    if args.memo is not None and args.memo.is_file():
        saved = np.load(args.memo, allow_pickle=False)
        embedder.memo = dict(zip(saved["texts"].tolist(), saved["vectors"]))
        embedder.seconds, embedder.computed = float(saved["seconds"]), int(saved["computed"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsrag-stores-") as tmp:
        for store in ("faiss", "milvus"):
            work = Path(tmp) / store
            work.mkdir()
            print(f"building {store} ...", file=sys.stderr, flush=True)
            rows.append(run_store(store, ds, embedder, work))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    faiss, milvus = rows
    if args.memo is not None and not args.memo.is_file():
        np.savez(args.memo, texts=np.array(list(embedder.memo)),
                 vectors=np.stack(list(embedder.memo.values())),
                 seconds=embedder.seconds, computed=embedder.computed)
    rate = embedder.computed / max(1e-9, embedder.seconds)
    print(f"SciFact: {len(ds.queries)} queries, {faiss['passages']} passages; embedding "
          f"{embedder.computed} texts took {embedder.seconds:.1f}s = {rate:.1f} passages/s "
          f"(one process, {os.cpu_count()} CPUs)")
    cols = ["ndcg@10", "store_build_s", "ingest_passages_per_s", "p50_ms", "p95_ms"]
    print(f"{'':>22}" + "".join(f"{c:>24}" for c in cols))
    for r in rows:
        print(f"{r['store']:>22}" + "".join(f"{r[c]:>24}" for c in cols))
    ratio = {c: (milvus[c] / faiss[c] if faiss[c] else float("nan")) for c in cols}
    print(f"{'milvus / faiss':>22}" + "".join(f"{ratio[c]:>24.2f}" for c in cols))
    print(f"nDCG@10 difference (milvus - faiss): {milvus['ndcg@10'] - faiss['ndcg@10']:+.4f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "embed_seconds": embedder.seconds,
                                         "embedded": embedder.computed,
                                         "passages_per_s": rate}, indent=1))


if __name__ == "__main__":
    main()
