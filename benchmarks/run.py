"""newsrag benchmarks: speed, scale, memory, and txtai side by side, as one markdown report.

    python benchmarks/run.py            # full: SciFact (5,183 abstracts), 10k/100k/1M passages
    python benchmarks/run.py --quick    # smoke run in about a minute (small sizes, no peer)

Every comparison is a ratio of two figures measured in the same run, on the same machine:
- build throughput: ``Index.build`` over SciFact vs raw ``SentenceTransformer.encode`` of the
  same passage texts in the same process;
- incremental update: adding one article to the SciFact index vs the full build;
- query latency of ``search`` and ``ask`` at growing index sizes, exact vs HNSW, with HNSW's
  recall@10 against exact search. Sizes past the real corpus are filled with real passages
  repeated and vectors drawn around real ones (a real vector plus Gaussian noise, renormalised);
- cold start of ``newsrag ask --json`` in a fresh process, and where its time goes;
- peak RSS of a process serving an index of each size, and bytes per passage;
- txtai (``Embeddings`` with the same local all-MiniLM-L6-v2 folder, hybrid on) on the same
  corpus: build time, query latency, nDCG@10. txtai lives in its own virtual environment
  (``benchmarks/.venv-peer``), never in newsrag's dependencies.

The report goes to ``benchmarks/results/REPORT.md`` (and stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PEER_VENV = ROOT / "benchmarks" / ".venv-peer"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f}"


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def table(self, header: list[str], rows: list[list[object]]) -> None:
        self.add("| " + " | ".join(header) + " |")
        self.add("|" + "---|" * len(header))
        for r in rows:
            self.add("| " + " | ".join(str(c) for c in r) + " |")
        self.add()


def machine(report: Report) -> None:
    import faiss
    import sentence_transformers
    import torch

    from newsrag import __version__

    report.add("# newsrag benchmark report")
    report.add()
    report.add(f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    report.add(f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
               f"{platform.platform()}")
    report.add(f"- python {platform.python_version()}, newsrag {__version__}, torch {torch.__version__}, "
               f"sentence-transformers {sentence_transformers.__version__}, faiss {faiss.__version__}")
    report.add()


def scifact_docs(limit: int | None) -> tuple[list[dict], dict[str, dict[str, int]], dict[str, str]]:
    from newsrag.evaluation import find_data_dir, load_dataset

    ds = load_dataset("scifact", find_data_dir())
    docs = ds.documents[:limit] if limit else ds.documents
    keep = {d["id"] for d in docs}
    qrels = {q["id"]: {d: g for d, g in q["relevant"].items() if d in keep} for q in ds.queries}
    qrels = {q: r for q, r in qrels.items() if r}
    texts = {q["id"]: q["text"] for q in ds.queries if q["id"] in qrels}
    return docs, qrels, texts


def write_corpus(folder: Path, docs: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "docs.jsonl").open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"title": d["title"], "text": d["text"]}, ensure_ascii=False) + "\n")


def ndcg10(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    import ir_measures
    from ir_measures import nDCG

    scored = [ir_measures.ScoredDoc(q, d, float(len(docs) - r))
              for q, docs in run.items() for r, d in enumerate(docs)]
    judged = [ir_measures.Qrel(q, d, g) for q, rel in qrels.items() for d, g in rel.items()]
    return ir_measures.calc_aggregate([nDCG @ 10], judged, scored)[nDCG @ 10]


def bench_build(report: Report, work: Path, docs: list[dict], settings, embedder):
    from newsrag import Index
    from newsrag.build import embedding_text

    write_corpus(work / "corpus", docs)
    embedder.encode(["warm up the model"] * 8)
    t0 = time.perf_counter()
    index = Index.build(work / "corpus", work / "index", settings, embedder=embedder)
    t_build = time.perf_counter() - t0
    meta = {a["id"]: a for a in index.manifest["articles"]}
    texts = [embedding_text(meta[p.article_id], p.text) for p in index.retriever.passages]
    t0 = time.perf_counter()
    embedder.encode(texts, batch_size=settings.batch_size)
    t_enc = time.perf_counter() - t0
    n = len(texts)
    report.add("## Build throughput (SciFact abstracts)")
    report.add()
    report.table(["what", "passages", "seconds", "passages/s"], [
        ["`Index.build` (read, chunk, embed, FAISS, BM25, write)", n, f"{t_build:.1f}", f"{n / t_build:.1f}"],
        ["raw `SentenceTransformer.encode`, same texts", n, f"{t_enc:.1f}", f"{n / t_enc:.1f}"],
    ])
    report.add(f"Pipeline cost beyond the encoder: build time / encode time = **{t_build / t_enc:.2f}** "
               f"({len(docs)} documents).")
    report.add()
    return index, t_build


def bench_incremental(report: Report, work: Path, t_full: float, settings, embedder) -> None:
    from newsrag import Index

    (work / "corpus" / "added.md").write_text(
        "---\ntitle: One more abstract\ndate: 2026-11-22\n---\n"
        "Regular aerobic exercise lowered resting blood pressure in adults with hypertension "
        "in a randomised trial of 120 participants over twelve weeks.\n", encoding="utf-8")
    before = embedder.encoded
    t0 = time.perf_counter()
    index = Index.build(work / "corpus", work / "index", settings, embedder=embedder)
    t_add = time.perf_counter() - t0
    embedded = embedder.encoded - before
    report.add("## Incremental update")
    report.add()
    report.table(["what", "seconds", "passages embedded"], [
        [f"full build, {index.info()['articles'] - 1} articles", f"{t_full:.1f}", index.info()["passages"] - embedded],
        ["add one article (`newsrag add` / incremental build)", f"{t_add:.2f}", embedded],
    ])
    report.add(f"Adding one article / full build = **{t_add / t_full:.4f}** "
               f"({t_full / t_add:.0f}x faster).")
    report.add()


def peer_txtai(report: Report, work: Path, docs, qrels, queries, ours: dict) -> None:
    py = PEER_VENV / "bin" / "python"
    report.add("## Peer: txtai, same corpus, same model")
    report.add()
    if not py.exists():
        report.add(f"_skipped: no peer environment at {PEER_VENV} (see benchmarks/README.md)_")
        report.add()
        return
    from newsrag.settings import default_model_path

    (work / "peer_in.json").write_text(json.dumps({"docs": docs, "queries": queries,
                                                   "model": default_model_path()}))
    proc = subprocess.run([str(py), str(ROOT / "benchmarks" / "peer_txtai.py"), str(work / "peer_in.json"),
                           str(work / "peer_out.json")], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0:
        report.add(f"_txtai failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}_")
        report.add()
        return
    peer = json.loads((work / "peer_out.json").read_text())
    peer_ndcg = ndcg10(peer["run"], qrels)
    report.table(["system", "build s", "query p50 ms", "query p95 ms", "nDCG@10"], [
        ["newsrag hybrid", f"{ours['build']:.1f}", ms(ours["p50"]), ms(ours["p95"]), f"{ours['ndcg']:.4f}"],
        [f"txtai {peer['version']} hybrid", f"{peer['build']:.1f}", ms(pct(peer['latencies'], 0.5)),
         ms(pct(peer['latencies'], 0.95)), f"{peer_ndcg:.4f}"],
    ])
    report.add(f"Ratios newsrag / txtai: build {ours['build'] / peer['build']:.2f}, "
               f"query p50 {ours['p50'] / pct(peer['latencies'], 0.5):.2f}, "
               f"nDCG@10 {ours['ndcg'] / peer_ndcg:.3f}.")
    report.add()


def our_scifact_quality(index, docs, qrels, queries) -> dict:
    paths = {f"docs.jsonl#{i + 1}": d["id"] for i, d in enumerate(docs)}
    doc_of = {a.id: paths.get(a.path, a.path) for a in index.articles()}
    run, latencies = {}, []
    for qid, text in queries.items():
        t0 = time.perf_counter()
        hits = index.search(text, k=30)
        latencies.append(time.perf_counter() - t0)
        ranked: list[str] = []
        for h in hits:
            d = doc_of[h.passage.article_id]
            if d not in ranked:
                ranked.append(d)
        run[qid] = ranked[:10]
    return {"ndcg": ndcg10(run, qrels), "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95)}


def synthetic(real_vectors: np.ndarray, size: int, rng: np.random.Generator):
    """``size`` passages: real ones repeated, vectors drawn around real ones."""
    rows = np.concatenate([np.arange(len(real_vectors)),
                           rng.integers(0, len(real_vectors), max(0, size - len(real_vectors)))])[:size]
    vectors = real_vectors[rows] + rng.normal(0, 0.01, (size, real_vectors.shape[1])).astype(np.float32)
    vectors[: len(real_vectors)] = real_vectors[: min(size, len(real_vectors))]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return rows, vectors.astype(np.float32)


def bench_latency(report: Report, work: Path, index, sizes: list[int], queries: list[str],
                  settings, embedder, hnsw_ef_construction: int) -> dict[int, Path]:
    """Latency of search and ask at each size, exact vs HNSW; writes each exact index to disk
    (real format) for the memory benchmark."""
    import bm25s

    from newsrag.answering import Answerer
    from newsrag.build import write_generation
    from newsrag.embedding import CachedEncoder
    from newsrag.lexical import LexicalIndex, tokenize
    from newsrag.retrieval import Retriever
    from newsrag.store import IndexStore
    from newsrag.vectors import DenseIndex

    rng = np.random.default_rng(0)
    real_passages = index.retriever.passages
    real_vectors = index.retriever.dense.vectors(0, len(real_passages))
    meta = {a["id"]: a for a in index.manifest["articles"]}
    from newsrag.build import embedding_text
    real_tokens = [tokenize(embedding_text(meta[p.article_id], p.text)) or [""] for p in real_passages]
    rows_out, written = [], {}
    for size in sizes:
        rows, vectors = synthetic(real_vectors, size, rng)
        passages = [real_passages[r] for r in rows]
        bm = bm25s.BM25()
        bm.index([real_tokens[r] for r in rows], show_progress=False)
        lexical = LexicalIndex(bm, size)
        exact = DenseIndex.build(vectors, vectors.shape[1], size + 1, 32, 200, 128)
        t0 = time.perf_counter()
        hnsw = DenseIndex.build(vectors, vectors.shape[1], 0, settings.hnsw_m, hnsw_ef_construction,
                                settings.hnsw_ef_search)
        t_hnsw = time.perf_counter() - t0
        recall = []
        for kind, dense in (("exact (IndexFlatIP)", exact), ("HNSW", hnsw)):
            retriever = Retriever(passages, dense, lexical, CachedEncoder(embedder, 4096),
                                  settings.rrf_k, settings.candidates)
            # A fresh sentence cache per cell: every ask embeds its sentences (the worst case).
            answerer = Answerer(CachedEncoder(embedder, 50_000).encode, settings.refusal_threshold,
                                settings.answer_sentences)
            for q in queries[:5]:
                retriever.search(q, 5)  # warm-up
            s_lat, a_lat, d_lat = [], [], []
            for q in queries:
                qv = retriever.encode(q)
                t0 = time.perf_counter()
                dense.search(qv, 10)
                d_lat.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                hits = retriever.search(q, settings.top_k)
                s_lat.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                answerer.answer(q, qv, retriever.search(q, settings.top_k), retriever.unknown_terms(q))
                a_lat.append(time.perf_counter() - t0)
                if kind == "HNSW":
                    recall.append(_recall(exact, hnsw, qv, rows))
            rows_out.append([f"{size:,}", kind, ms(pct(d_lat, .5)), ms(pct(d_lat, .95)),
                             ms(pct(s_lat, .5)), ms(pct(s_lat, .95)), ms(pct(a_lat, .5)),
                             ms(pct(a_lat, .95)),
                             f"{statistics.mean(r[0] for r in recall):.3f}" if kind == "HNSW" else "1 (reference)",
                             f"{statistics.mean(r[1] for r in recall):.3f}" if kind == "HNSW" else "1 (reference)",
                             f"{t_hnsw:.0f}" if kind == "HNSW" else ""])
        if size == max(sizes):
            sweep = _ef_sweep(exact, hnsw, [retriever.encode(q) for q in queries], rows)
        # Each size is also written in the real on-disk format, for the memory benchmark.
        folder = work / f"serve_{size}"
        store = IndexStore(folder)
        articles = [{**m, "first": 0, "count": 0} for m in meta.values()]
        with store.lock():
            write_generation(store, exact, lexical, passages, articles,
                             dict(index.manifest["model"]), settings, {}, [])
        written[size] = folder
        print(f"  size {size:,} done", file=sys.stderr, flush=True)
    report.add("## Query latency vs index size")
    report.add()
    report.add(f"{len(queries)} SciFact queries per cell, model loaded and warm; `dense` is the FAISS "
               "search alone, `search` is hybrid retrieval (query embedding, FAISS, BM25, fusion), "
               "`ask` is search plus answer composition with an empty sentence-vector cache (a server "
               "answering repeated topics is faster). Past the real corpus, passages are real ones "
               "repeated and vectors are real ones plus N(0, 0.01) noise, renormalised. "
               f"HNSW: M={settings.hnsw_m}, efConstruction={hnsw_ef_construction}, "
               f"efSearch={settings.hnsw_ef_search}.")
    report.add()
    report.table(["passages", "dense index", "dense p50 ms", "dense p95 ms", "search p50 ms",
                  "search p95 ms", "ask p50 ms", "ask p95 ms", "recall@10 vs exact (rows)",
                  "recall@10 vs exact (distinct passages)", "HNSW build s"],
                 rows_out)
    report.add()
    report.add("Recall (rows): the share of the exact top 10 rows HNSW returns. Past the real corpus "
               "each passage has about size/11,121 near-identical copies (noise 0.01), so the exact "
               "top 10 is often copies of one or two passages ordered by noise alone, which HNSW "
               "cannot reproduce; recall (distinct passages) counts copies of one passage as one, "
               "which is what a reader sees.")
    report.add()
    report.add(f"### HNSW efSearch at {max(sizes):,} passages (same index, same queries)")
    report.add()
    report.table(["efSearch", "dense p50 ms", "dense p95 ms", "recall@10 (rows)",
                  "recall@10 (distinct passages)"], sweep)
    return written


def _recall(exact, hnsw, qv, rows: list[int]) -> tuple[float, float]:
    """Recall@10 of HNSW against exact search: by row, and by distinct source passage."""
    want = [r for r, _ in exact.search(qv, 10)]
    got = [r for r, _ in hnsw.search(qv, 10)]
    by_row = len(set(want) & set(got)) / 10
    want_p, got_p = {rows[r] for r in want}, {rows[r] for r in got}
    return by_row, len(want_p & got_p) / len(want_p)


def _ef_sweep(exact, hnsw, vectors: list, rows: list[int]) -> list[list[str]]:
    out = []
    for ef in (64, 128, 256, 512):
        hnsw.index.hnsw.efSearch = ef
        lat, rec = [], []
        for qv in vectors:
            t0 = time.perf_counter()
            hnsw.search(qv, 10)
            lat.append(time.perf_counter() - t0)
            rec.append(_recall(exact, hnsw, qv, rows))
        out.append([str(ef), ms(pct(lat, .5)), ms(pct(lat, .95)),
                    f"{statistics.mean(r[0] for r in rec):.3f}",
                    f"{statistics.mean(r[1] for r in rec):.3f}"])
    hnsw.index.hnsw.efSearch = int(hnsw.params.get("efSearch", 128))
    return out


def rss_of(code: str) -> tuple[float, float]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data["rss_mb"], data["peak_mb"]


MEMORY_CODE = """
import json, re
from newsrag import Index, Settings
from newsrag.embedding import load_embedder
s = Settings(verify_checksums=False)
e = load_embedder(s.model)
e.encode(["warm"])
{body}
status = open("/proc/self/status").read()
rss = int(re.search(r"VmRSS:\\s+(\\d+)", status).group(1)) / 1024
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
peak = int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) / 1024
print(json.dumps({{"rss_mb": rss, "peak_mb": peak}}))
"""


def bench_memory(report: Report, written: dict[int, Path]) -> None:
    base, base_peak = rss_of(MEMORY_CODE.format(body=""))
    rows = [["model loaded, no index", "", f"{base:.0f}", f"{base_peak:.0f}", "", ""]]
    previous: tuple[int, float] | None = None
    for size, folder in sorted(written.items()):
        rss, peak = rss_of(MEMORY_CODE.format(
            body=f"idx = Index.load({str(folder)!r}, s, e); idx.ask('Does exercise lower blood pressure?')"))
        marginal = (f"{(rss - previous[1]) * 2**20 / (size - previous[0]):,.0f}"
                    if previous else "")
        rows.append([f"serving {size:,} passages", f"{size:,}", f"{rss:.0f}", f"{peak:.0f}",
                     f"{(rss - base) * 2**20 / size:,.0f}", marginal])
        previous = (size, rss)
    report.add("## Memory of a process serving the index (loaded, one question answered)")
    report.add()
    report.add("Exact index on disk in the real format, loaded with `Index.load`. Bytes per passage: "
               "resident memory above the model-only process, divided by the passages (this includes "
               "fixed costs, so small indexes look expensive); marginal: the growth in resident "
               "memory from the previous row, per added passage, which is the real cost of one more "
               "passage. Peak RSS includes the transient peak of loading the model. The passage "
               "texts here are SciFact abstracts' passages (about 1 KB of text each).")
    report.add()
    report.table(["what", "passages", "RSS MiB", "peak RSS MiB", "bytes/passage",
                  "marginal bytes/passage"], rows)


def bench_cold_start(report: Report, work: Path) -> None:
    import shutil

    folder = work / "cold"
    shutil.copytree(ROOT / "corpus", folder / "corpus")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    exe = Path(sys.executable).parent / "newsrag"
    subprocess.run([str(exe), "build"], cwd=folder, env=env, capture_output=True, check=True)
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "ask", "Which airbases were attacked?", "--json"], cwd=folder,
                       env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
    code = """
import json, time
t = {}
t0 = time.perf_counter(); import newsrag; t['import newsrag'] = time.perf_counter() - t0
t0 = time.perf_counter(); import torch, sentence_transformers, faiss, bm25s; t['import torch, sentence-transformers, faiss, bm25s'] = time.perf_counter() - t0
from newsrag import Index, Settings
from newsrag.embedding import load_embedder
s = Settings()
t0 = time.perf_counter(); e = load_embedder(s.model); t['load the model'] = time.perf_counter() - t0
t0 = time.perf_counter(); idx = Index.load('index', s, e); t['load the index'] = time.perf_counter() - t0
t0 = time.perf_counter(); idx.ask('Which airbases were attacked?'); t['first ask'] = time.perf_counter() - t0
print(json.dumps(t))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True,
                          text=True, check=True)
    parts = json.loads(proc.stdout.strip().splitlines()[-1])
    report.add("## Cold start: `newsrag ask \"...\" --json` as a fresh process (seed corpus)")
    report.add()
    report.add(f"Wall time over 3 runs: median **{statistics.median(walls):.2f} s** "
               f"(min {min(walls):.2f}, max {max(walls):.2f}). Where it goes (one fresh process):")
    report.add()
    total = sum(parts.values())
    report.table(["step", "seconds", "share"],
                 [[k, f"{v:.2f}", f"{v / total:.0%}"] for k, v in parts.items()])


def main() -> int:
    parser = argparse.ArgumentParser(description="newsrag speed, scale and memory benchmarks")
    parser.add_argument("--quick", action="store_true", help="small smoke run (about a minute)")
    parser.add_argument("--docs", type=int, default=None, help="SciFact documents (default all)")
    parser.add_argument("--sizes", default=None, help="index sizes, e.g. 10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=50, help="queries per latency cell")
    parser.add_argument("--hnsw-ef-construction", type=int, default=64,
                        help="efConstruction for the benchmark's HNSW builds (1M at 200 takes too long here)")
    parser.add_argument("--no-peer", action="store_true", help="skip txtai")
    args = parser.parse_args()
    docs_n = args.docs or (300 if args.quick else None)
    sizes = [int(s) for s in (args.sizes or ("2000,20000" if args.quick else "10000,100000,1000000")).split(",")]

    from newsrag import Settings
    from newsrag.embedding import load_embedder

    settings = Settings()
    embedder = load_embedder(settings.model)
    report = Report()
    machine(report)
    docs, qrels, queries = scifact_docs(docs_n)
    query_texts = list(queries.values())[: args.queries]
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        work = Path(tmp)
        index, t_full = bench_build(report, work, docs, settings, embedder)
        ours = our_scifact_quality(index, docs, qrels, queries)
        ours["build"] = t_full
        report.add(f"newsrag hybrid nDCG@10 on these {len(docs)} documents and {len(qrels)} queries: "
                   f"{ours['ndcg']:.4f}")
        report.add()
        if not (args.quick or args.no_peer):
            peer_txtai(report, work, docs, qrels, queries, ours)
        bench_incremental(report, work, t_full, settings, embedder)
        written = bench_latency(report, work, index, sizes, query_texts, settings, embedder,
                                args.hnsw_ef_construction)
        bench_memory(report, written)
        bench_cold_start(report, work)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "REPORT.md").write_text("\n".join(report.lines) + "\n", encoding="utf-8")
    print(f"\nreport written to {RESULTS / 'REPORT.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
