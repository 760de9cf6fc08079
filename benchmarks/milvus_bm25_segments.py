"""Does Milvus Lite's BM25 function score like a freshly built collection after deletes and
inserts? (docs/scaling.md, "Incremental builds")

Usage: python benchmarks/milvus_bm25_segments.py [N]   (default 2000 passages; ~30 s)

A synthetic corpus (Zipf words, 30-160 per passage, 16-d random dense vectors) is written into a
reference collection holding only the final live rows (one insert, one flush), and into
collections that get there by deleting and inserting rows after a first flush. For 40 3-word
queries it compares the BM25 top 10 (ids and scores) and the hybrid_search (dense + BM25,
RRFRanker(60)) top 10 with the reference's, and counts the collection's segments (data files).
Milvus Lite builds one BM25 index per segment with that segment's own statistics (document
count, average length, document frequencies), counting rows deleted since (milvus_lite
engine/collection.py _search_sparse, index/sparse_inverted.py); compact() is a no-op there
(servicer ManualCompaction), and its automatic compaction merges files of one size bucket only.
"""

from __future__ import annotations

import glob
import logging
import sys
import tempfile
import time
from typing import Any

import numpy as np
from pymilvus import (AnnSearchRequest, DataType, Function, FunctionType, MilvusClient,
                      RRFRanker)

logging.getLogger("pymilvus").setLevel(logging.ERROR)
DIM = 16
Rows = dict[str, str]


class Corpus:
    def __init__(self, n: int):
        rng = np.random.default_rng(7)
        self.vocab = [f"w{i}" for i in range(4000)]
        p = 1.0 / np.arange(1, len(self.vocab) + 1) ** 1.05
        self.p = p / p.sum()
        self.base = {f"a{i}:0": self.doc(rng) for i in range(n)}
        self.vec = {k: self.unit(rng) for k in self.base}
        self.removed = [f"a{i}:0" for i in range(0, 40, 4)]  # 10 removed
        self.changed = [f"a{i}:0" for i in range(1, 40, 4)]  # 10 changed (same id, new text)
        self.added = {f"n{i}:0": self.doc(rng) for i in range(10)}  # 10 new
        self.vec.update({k: self.unit(rng) for k in self.added})
        self.new_text = {k: self.doc(rng) for k in self.changed}
        self.live = {k: t for k, t in self.base.items() if k not in self.removed}
        self.live.update(self.new_text)
        self.live.update(self.added)
        self.queries = [" ".join(rng.choice(self.vocab[20:800], size=3)) for _ in range(40)]
        self.qvecs = [self.unit(rng) for _ in self.queries]

    def doc(self, rng: Any) -> str:
        return " ".join(rng.choice(self.vocab, size=int(rng.integers(30, 160)), p=self.p))

    @staticmethod
    def unit(rng: Any) -> Any:
        v = rng.normal(size=DIM)
        return v / np.linalg.norm(v)


class Bench:
    def __init__(self, corpus: Corpus, db: str):
        self.k, self.db = corpus, db
        self.c = MilvusClient(db)
        print("server:", self.c.get_server_version())

    def make(self, name: str) -> None:
        c = self.c
        if c.has_collection(name):
            c.drop_collection(name)
        s = c.create_schema(auto_id=False)
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        s.add_field("terms", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                    analyzer_params={"tokenizer": "standard"})
        s.add_field("dense", DataType.FLOAT_VECTOR, dim=DIM)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                input_field_names=["terms"], output_field_names=["sparse"]))
        ip = c.prepare_index_params()
        ip.add_index("dense", index_type="FLAT", metric_type="IP")
        ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params={"bm25_k1": 1.5, "bm25_b": 0.75})
        c.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
        c.load_collection(name)

    def insert(self, name: str, rows: Rows) -> None:
        data = [{"id": k, "terms": t, "dense": self.k.vec[k].tolist()} for k, t in rows.items()]
        for i in range(0, len(data), 512):
            self.c.insert(name, data[i:i + 512])

    def delete(self, name: str, ids: list[str]) -> None:
        self.c.delete(name, filter="id in [" + ", ".join(f'"{i}"' for i in ids) + "]")

    def rank(self, name: str, k: int = 10) -> tuple[list[Any], list[Any]]:
        bm, hy = [], []
        for q, qv in zip(self.k.queries, self.k.qvecs):
            res = self.c.search(name, data=[q], anns_field="sparse", limit=k,
                                search_params={"metric_type": "BM25"}, output_fields=["id"])
            bm.append([(h["id"], round(abs(h["distance"]), 5)) for h in res[0]])
            reqs = [AnnSearchRequest([qv.tolist()], "dense", {"metric_type": "IP"}, limit=50),
                    AnnSearchRequest([q], "sparse", {"metric_type": "BM25"}, limit=50)]
            res = self.c.hybrid_search(name, reqs, RRFRanker(60), limit=k, output_fields=["id"])
            hy.append([h["id"] for h in res[0]])
        return bm, hy

    def segments(self, name: str) -> int:
        return len(glob.glob(f"{self.db}/**/{name}/**/data_*.parquet", recursive=True))

    def compare(self, label: str, name: str, ref: tuple[list[Any], list[Any]]) -> None:
        bm, hy = self.rank(name)
        rb, rh = ref
        same_ids = sum([i for i, _ in a] == [i for i, _ in b] for a, b in zip(bm, rb))
        same_scores = sum(a == b for a, b in zip(bm, rb))
        same_hy = sum(a == b for a, b in zip(hy, rh))
        diff = max((abs(x[1] - y[1]) for a, b in zip(bm, rb) for x, y in zip(a, b)), default=0)
        print(f"{label:58s} segs={self.segments(name):3d} BM25 top10 ids same {same_ids}/40, "
              f"scores same {same_scores}/40 (max |d| {diff:.4f}); hybrid RRF top10 same "
              f"{same_hy}/40", flush=True)

    def incremental(self, name: str, flush_after: bool) -> None:
        k = self.k
        self.make(name)
        self.insert(name, k.base)
        self.c.flush(name)
        self.delete(name, k.removed + k.changed)
        self.insert(name, {**k.new_text, **k.added})
        if flush_after:
            self.c.flush(name)

    def force_compaction(self, name: str) -> None:
        """More than 32 data files in a partition compact them (milvus_lite constants)."""
        started = time.time()
        for i in range(33):
            self.c.insert(name, [{"id": f"pad{i}", "terms": "zzpad", "dense": [0.0] * DIM}])
            self.c.flush(name)
            self.c.delete(name, ids=[f"pad{i}"])
        self.c.flush(name)
        for _ in range(60):
            if self.segments(name) <= 2:
                break
            time.sleep(0.5)
        print(f"   (33 small flushes: {time.time() - started:.1f} s)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    k = Corpus(n)
    b = Bench(k, tempfile.mkdtemp(prefix="bm25seg-") + "/m.db")
    started = time.time()
    b.make("fresh")
    b.insert("fresh", k.live)
    b.c.flush("fresh")
    ref = b.rank("fresh")
    print(f"N={n}: fresh collection with the {len(k.live)} live rows, one flush "
          f"({time.time() - started:.1f}s), segs={b.segments('fresh')}", flush=True)
    # the same live rows in two segments: the per-segment statistics alone
    b.make("fresh2")
    b.insert("fresh2", dict(list(k.live.items())[:-10]))
    b.c.flush("fresh2")
    b.insert("fresh2", dict(list(k.live.items())[-10:]))
    b.c.flush("fresh2")
    b.compare("same live rows, 2 inserts+flushes (no deletes)", "fresh2", ref)
    b.incremental("inc_mem", False)
    b.compare("delete 20 + insert 20, not flushed (memtable)", "inc_mem", ref)
    b.incremental("inc_flush", True)
    b.compare("delete 20 + insert 20, flush", "inc_flush", ref)
    b.incremental("inc_compact", True)
    b.c.compact("inc_compact")
    time.sleep(2)
    b.compare("delete 20 + insert 20, flush, compact() (+2 s)", "inc_compact", ref)
    # deletes alone: do deleted rows still count?
    b.make("fresh_del")
    b.insert("fresh_del", {i: t for i, t in k.base.items() if i not in k.removed})
    b.c.flush("fresh_del")
    ref_del = b.rank("fresh_del")
    b.make("del_only")
    b.insert("del_only", k.base)
    b.c.flush("del_only")
    b.delete("del_only", k.removed)
    b.c.flush("del_only")
    b.compare("delete 10 only (vs fresh without them), flush", "del_only", ref_del)
    b.incremental("inc_forced", True)
    b.force_compaction("inc_forced")
    b.compare("delete 20 + insert 20, flush, 33 small flushes", "inc_forced", ref)


if __name__ == "__main__":
    main()
