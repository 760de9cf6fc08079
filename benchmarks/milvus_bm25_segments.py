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
import glob, logging, os, shutil, sys, time
import numpy as np
from pymilvus import MilvusClient, DataType, Function, FunctionType, AnnSearchRequest, RRFRanker

logging.getLogger("pymilvus").setLevel(logging.ERROR)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
DIM = 16
rng = np.random.default_rng(7)
VOCAB = [f"w{i}" for i in range(4000)]
p = 1.0 / np.arange(1, len(VOCAB) + 1) ** 1.05; p /= p.sum()

def doc(r):
    return " ".join(r.choice(VOCAB, size=int(r.integers(30, 160)), p=p))

base = {f"a{i}:0": doc(rng) for i in range(N)}
vec = {k: (v := rng.normal(size=DIM)) / np.linalg.norm(v) for k in base}
removed = [f"a{i}:0" for i in range(0, 40, 4)]          # 10 removed
changed = [f"a{i}:0" for i in range(1, 40, 4)]          # 10 changed (same id, new text)
added = {f"n{i}:0": doc(rng) for i in range(10)}         # 10 new
for k in added: vec[k] = (v := rng.normal(size=DIM)) / np.linalg.norm(v)
new_text = {k: doc(rng) for k in changed}
live = {k: t for k, t in base.items() if k not in removed}
live.update(new_text); live.update(added)
queries = [" ".join(rng.choice(VOCAB[20:800], size=3)) for _ in range(40)]
qvecs = [(v := rng.normal(size=DIM)) / np.linalg.norm(v) for _ in queries]

def make(c, name):
    if c.has_collection(name): c.drop_collection(name)
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

def rows(d): return [{"id": k, "terms": t, "dense": vec[k].tolist()} for k, t in d.items()]

def insert(c, name, d):
    r = rows(d)
    for i in range(0, len(r), 512): c.insert(name, r[i:i + 512])

def rank(c, name, k=10):
    bm, hy = [], []
    for q, qv in zip(queries, qvecs):
        res = c.search(name, data=[q], anns_field="sparse", limit=k,
                       search_params={"metric_type": "BM25"}, output_fields=["id"])
        bm.append([(h["id"], round(abs(h["distance"]), 5)) for h in res[0]])
        reqs = [AnnSearchRequest([qv.tolist()], "dense", {"metric_type": "IP"}, limit=50),
                AnnSearchRequest([q], "sparse", {"metric_type": "BM25"}, limit=50)]
        res = c.hybrid_search(name, reqs, RRFRanker(60), limit=k, output_fields=["id"])
        hy.append([h["id"] for h in res[0]])
    return bm, hy

def segments(db, name):
    files = glob.glob(f"{db}/**/{name}/**/data_*.parquet", recursive=True)
    return len(files)

def compare(label, c, name, ref, db):
    bm, hy = rank(c, name)
    rb, rh = ref
    same_bm = sum(a == b for a, b in zip(bm, rb))
    same_ids = sum([i for i, _ in a] == [i for i, _ in b] for a, b in zip(bm, rb))
    same_hy = sum(a == b for a, b in zip(hy, rh))
    diff = max((abs(x[1] - y[1]) for a, b in zip(bm, rb) for x, y in zip(a, b)), default=0)
    print(f"{label:58s} segs={segments(db, name):3d} BM25 top10 ids same {same_ids}/40, "
          f"scores same {same_bm}/40 (max |d| {diff:.4f}); hybrid RRF top10 same {same_hy}/40",
          flush=True)

import tempfile
db = tempfile.mkdtemp(prefix="bm25seg-") + "/m.db"
shutil.rmtree(db, ignore_errors=True)
c = MilvusClient(db)
print("server:", c.get_server_version())
t = time.time(); make(c, "fresh"); insert(c, "fresh", live); c.flush("fresh")
ref = rank(c, "fresh")
print(f"N={N}: fresh collection with the {len(live)} live rows, one flush "
      f"({time.time()-t:.1f}s), segs={segments(db, 'fresh')}", flush=True)
# fresh but in two segments (same live rows): shows the per-segment effect alone
make(c, "fresh2"); insert(c, "fresh2", dict(list(live.items())[:-10])); c.flush("fresh2")
insert(c, "fresh2", dict(list(live.items())[-10:])); c.flush("fresh2")
compare("same live rows, 2 inserts+flushes (no deletes)", c, "fresh2", ref, db)

def incremental(name, flush_after, then=None):
    make(c, name); insert(c, name, base); c.flush(name)
    c.delete(name, filter=f"id in {removed + changed!r}".replace("'", '"'))
    insert(c, name, {**new_text, **added})
    if flush_after: c.flush(name)
    if then: then(name)

incremental("inc_mem", False)
compare("delete 20 + insert 20, not flushed (memtable)", c, "inc_mem", ref, db)
incremental("inc_flush", True)
compare("delete 20 + insert 20, flush", c, "inc_flush", ref, db)
def comp(name):
    c.compact(name); time.sleep(2)
incremental("inc_compact", True, comp)
compare("delete 20 + insert 20, flush, compact() (+2 s)", c, "inc_compact", ref, db)

# deletes only, no inserts: do deleted rows still count?
live_del = {k: t for k, t in base.items() if k not in removed}
make(c, "fresh_del"); insert(c, "fresh_del", live_del); c.flush("fresh_del")
ref_del = rank(c, "fresh_del")
make(c, "del_only"); insert(c, "del_only", base); c.flush("del_only")
c.delete("del_only", filter=f"id in {removed!r}".replace("'", '"')); c.flush("del_only")
compare("delete 10 only (vs fresh without them), flush", c, "del_only", ref_del, db)

# force Milvus Lite's own compaction: > 32 data files in the partition merges them all
def force(name):
    t = time.time()
    for i in range(33):
        c.insert(name, [{"id": f"pad{i}", "terms": "zzpad", "dense": [0.0] * DIM}])
        c.flush(name)
        c.delete(name, ids=[f"pad{i}"])
    c.flush(name)
    for _ in range(60):
        if segments(db, name) <= 2: break
        time.sleep(0.5)
    print(f"   (forcing compaction took {time.time()-t:.1f}s)")
incremental("inc_forced", True, force)
compare("delete 20 + insert 20, flush, 33 pad flushes -> auto compaction", c, "inc_forced", ref, db)
