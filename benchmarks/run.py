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


def bench_encoders(report: Report, texts: list[str], torch_embedder, onnx_folder: Path) -> dict:
    """Passages/s of torch, ONNX Runtime fp32 and (if the onnx package is there) int8 on the same
    texts, in this process; and how far ONNX vectors are from torch's."""
    import importlib.util

    from newsrag.embedding import OnnxEmbedder, export_onnx

    encoders = {"torch (sentence-transformers)": torch_embedder,
                "ONNX Runtime fp32": OnnxEmbedder(str(onnx_folder))}
    if importlib.util.find_spec("onnx") is not None:
        q = onnx_folder.parent / "encoder-int8"
        export_onnx(_model_path(), q, quantize=True, st_model=torch_embedder.model)
        encoders["ONNX Runtime int8 (`--quantize`)"] = OnnxEmbedder(str(q))
    rates, vectors = {}, {}
    for enc in encoders.values():
        enc.encode(texts[:8])
    for name, enc in encoders.items():  # interleaved twice: a busy neighbour hits all alike
        t0 = time.perf_counter()
        vectors[name] = enc.encode(texts)
        rates[name] = [len(texts) / (time.perf_counter() - t0)]
    for name, enc in encoders.items():
        t0 = time.perf_counter()
        enc.encode(texts)
        rates[name].append(len(texts) / (time.perf_counter() - t0))
    ref = vectors["torch (sentence-transformers)"]
    rows = []
    base = max(rates["torch (sentence-transformers)"])
    for name in encoders:
        cos = np.sum(vectors[name] * ref, axis=1)
        rows.append([name, f"{max(rates[name]):.1f}", f"{max(rates[name]) / base:.2f}",
                     f"{cos.mean():.6f}", f"{cos.min():.6f}"])
    report.add("## Encoders: torch vs ONNX Runtime (same texts, same process)")
    report.add()
    report.add(f"{len(texts)} SciFact passages (title + text, as indexed), batch 32; best of two "
               "interleaved passes. Cosine: with torch's vector of the same text.")
    report.add()
    report.table(["encoder", "passages/s", "vs torch", "mean cosine", "min cosine"], rows)
    return {name: max(r) for name, r in rates.items()} | {"encoders": encoders}


def bench_quantized_quality(report: Report, work: Path, index, docs, qrels, queries,
                            settings) -> None:
    """SciFact nDCG@10 of the same documents indexed with the int8 encoder, beside fp32."""
    from newsrag import Index

    fp32 = our_scifact_quality(index, docs, qrels, queries)
    t0 = time.perf_counter()
    int8 = Index.build(work / "corpus", work / "index-int8", settings.model_copy(
        update={"quantize": True, "sentence_vectors": False}))
    t_int8 = time.perf_counter() - t0
    q = our_scifact_quality(int8, docs, qrels, queries)
    report.add("## Quantised encoder quality (SciFact, same documents)")
    report.add()
    report.table(["encoder", "nDCG@10 (hybrid)", "search p50 ms"], [
        ["ONNX fp32 (default)", f"{fp32['ndcg']:.4f}", ms(fp32["p50"])],
        ["ONNX int8 (`--quantize`)", f"{q['ndcg']:.4f}", ms(q["p50"])]])
    report.add(f"int8 build without sentence vectors: {t_int8:.1f} s ({len(docs)} documents, "
               f"{len(qrels)} judged queries; the full-corpus figure comes from "
               "`NEWSRAG_QUANTIZE=true newsrag eval scifact --no-answers`).")
    report.add()


def _model_path() -> str:
    from newsrag.settings import default_model_path

    return default_model_path()


def bench_build(report: Report, work: Path, docs: list[dict], settings, embedder):
    """The default build (ONNX Runtime, sentence vectors stored) vs the previous pipeline (torch,
    no sentence vectors) vs the raw encoder on the same passage texts."""
    from newsrag import Index
    from newsrag.build import embedding_text
    from newsrag.embedding import OnnxEmbedder

    write_corpus(work / "corpus", docs)
    embedder.encode(["warm up the model"] * 8)
    t0 = time.perf_counter()
    Index.build(work / "corpus", work / "index", settings)
    t_first = time.perf_counter() - t0
    # Full rebuilds in the same folder reuse the stored ONNX export, as every later build does.
    t0 = time.perf_counter()
    Index.build(work / "corpus", work / "index", settings.model_copy(
        update={"sentence_vectors": False}), full=True)
    t_nosent = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = Index.build(work / "corpus", work / "index", settings, full=True)
    t_build = time.perf_counter() - t0
    report_default = index.build_report
    t0 = time.perf_counter()
    Index.build(work / "corpus", work / "index-torch", settings.model_copy(
        update={"sentence_vectors": False}), embedder=embedder)
    t_torch = time.perf_counter() - t0
    meta = {a["id"]: a for a in index.manifest["articles"]}
    texts = [embedding_text(meta[p.article_id], p.text) for p in index.retriever.passages]
    onnx = index.embedder if isinstance(index.embedder, OnnxEmbedder) else None
    t0 = time.perf_counter()
    (onnx or embedder).encode(texts, batch_size=settings.batch_size)
    t_enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    embedder.encode(texts, batch_size=settings.batch_size)
    t_enc_torch = time.perf_counter() - t0
    n = len(texts)
    report.add("## Build throughput (SciFact abstracts)")
    report.add()
    report.table(["what", "passages", "seconds", "passages/s"], [
        ["first `Index.build` (exports the model to ONNX, then as below)", n, f"{t_first:.1f}",
         f"{n / t_first:.1f}"],
        ["`Index.build --full`, default: ONNX Runtime, passages + "
         f"{report_default.embedded_sentences:,} sentence vectors stored",
         n, f"{t_build:.1f}", f"{n / t_build:.1f}"],
        ["`Index.build`, ONNX Runtime, no sentence vectors", n, f"{t_nosent:.1f}",
         f"{n / t_nosent:.1f}"],
        ["`Index.build`, torch, no sentence vectors (the previous pipeline)", n,
         f"{t_torch:.1f}", f"{n / t_torch:.1f}"],
        ["raw ONNX Runtime encode, same passage texts", n, f"{t_enc:.1f}", f"{n / t_enc:.1f}"],
        ["raw `SentenceTransformer.encode`, same passage texts", n, f"{t_enc_torch:.1f}",
         f"{n / t_enc_torch:.1f}"],
    ])
    report.add(f"Previous pipeline / default build time = **{t_torch / t_build:.2f}** (the default "
               f"also embeds {report_default.embedded_sentences:,} sentences); previous / ONNX "
               f"without sentence vectors = **{t_torch / t_nosent:.2f}**; default build / raw "
               f"ONNX encode of the passages = {t_build / t_enc:.2f} ({len(docs)} documents).")
    report.add()
    return index, t_build


def bench_ask_vs_search(report: Report, index, queries: list[str]) -> None:
    """Warm ask vs warm search on one index, over questions it has not seen."""
    caches = [index.retriever.encode._cache, index.answerer.encode.__self__._cache]
    for q in queries[:3]:
        index.ask(q)
    s_lat, a_lat = [], []
    for q in queries[3:]:
        for cache in caches:  # each call embeds its question afresh, as a new question does
            cache.clear()
        t0 = time.perf_counter()
        index.search(q)
        s_lat.append(time.perf_counter() - t0)
        for cache in caches:
            cache.clear()
        t0 = time.perf_counter()
        index.ask(q)
        a_lat.append(time.perf_counter() - t0)
    # Before: the same index answering with sentences embedded at question time.
    from newsrag import Index
    from newsrag.embedding import CachedEncoder

    before = Index.load(index.folder, index.settings, index.embedder)
    before.answerer.encode = CachedEncoder(index.embedder, 50_000).encode
    b_lat = []
    for q in queries[3:]:
        before.retriever.encode._cache.clear()
        t0 = time.perf_counter()
        before.ask(q)
        b_lat.append(time.perf_counter() - t0)
    report.add("## Warm ask vs search (same index, new questions)")
    report.add()
    report.table(["what", "p50 ms", "p95 ms"], [
        ["`Index.search` (hybrid)", ms(pct(s_lat, .5)), ms(pct(s_lat, .95))],
        ["`Index.ask` (search + answer from stored sentence vectors)", ms(pct(a_lat, .5)),
         ms(pct(a_lat, .95))],
        ["`Index.ask`, sentences embedded at question time (before), empty sentence cache",
         ms(pct(b_lat, .5)), ms(pct(b_lat, .95))]])
    report.add(f"ask / search at p50 = **{pct(a_lat, .5) / pct(s_lat, .5):.2f}**, at p95 "
               f"{pct(a_lat, .95) / pct(s_lat, .95):.2f}; before: "
               f"{pct(b_lat, .5) / pct(s_lat, .5):.2f} at p50 "
               f"({len(s_lat)} SciFact queries, {index.info()['passages']:,} passages).")
    report.add()


def bench_incremental(report: Report, work: Path, t_full: float, settings) -> None:
    from newsrag import Index

    (work / "corpus" / "added.md").write_text(
        "---\ntitle: One more abstract\ndate: 2026-11-22\n---\n"
        "Regular aerobic exercise lowered resting blood pressure in adults with hypertension "
        "in a randomised trial of 120 participants over twelve weeks.\n", encoding="utf-8")
    t0 = time.perf_counter()
    index = Index.build(work / "corpus", work / "index", settings)
    t_add = time.perf_counter() - t0
    r = index.build_report
    report.add("## Incremental update")
    report.add()
    report.table(["what", "seconds", "passages embedded", "sentences embedded"], [
        [f"full build, {r.articles - 1} articles", f"{t_full:.1f}", r.passages - r.embedded_passages, ""],
        ["add one article (`newsrag add` / incremental build; reuses the stored ONNX export)",
         f"{t_add:.2f}", r.embedded_passages, r.embedded_sentences],
    ])
    report.add(f"Adding one article / full build = **{t_add / t_full:.4f}** "
               f"({t_full / t_add:.0f}x faster).")
    report.add()


def run_peer(work: Path, docs, queries) -> dict | str:
    """txtai's build and queries on ``docs`` in its own environment: its output, or why not."""
    py = PEER_VENV / "bin" / "python"
    if not py.exists():
        return f"no peer environment at {PEER_VENV} (see benchmarks/README.md)"
    from newsrag.settings import default_model_path

    (work / "peer_in.json").write_text(json.dumps({"docs": docs, "queries": queries,
                                                   "model": default_model_path()}))
    proc = subprocess.run([str(py), str(ROOT / "benchmarks" / "peer_txtai.py"), str(work / "peer_in.json"),
                           str(work / "peer_out.json")], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return f"txtai failed: {lines[-1] if lines else proc.returncode}"
    return json.loads((work / "peer_out.json").read_text())


def peer_txtai(report: Report, work: Path, docs, qrels, queries, ours: dict) -> None:
    report.add("## Peer: txtai, same corpus, same model")
    report.add()
    peer = run_peer(work, docs, queries)
    if isinstance(peer, str):
        report.add(f"_skipped: {peer}_")
        report.add()
        return
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


def bench_build_vs_peer(report: Report, work: Path, docs, qrels, queries, settings,
                        rebuilds: bool = True, other: bool = True) -> None:
    """Issue 12's build figure in one run: txtai's build of the documents, then newsrag's
    default build (a first build, which pays for the one-off ONNX export, and a full rebuild
    reusing it) and the other encoder precision beside it, each with its nDCG@10."""
    from newsrag import Index

    write_corpus(work / "corpus-peer", docs)
    peer = run_peer(work, docs, queries)
    rows, ours = [], {}
    from newsrag.embedding import quantize_by_default

    quantized = quantize_by_default() if settings.quantize is None else settings.quantize
    precision = settings.model_copy(update={"quantize": not quantized})
    other_name = "int8 (`--quantize`)" if not quantized else "fp32 (`--no-quantize`)"
    default = f"default ({'int8' if quantized else 'fp32'})"
    for label, folder, cfg, full in [
            (f"{default}, first build (exports the encoder)", "index-peer", settings, False),
            (f"{default}, full rebuild", "index-peer", settings, True),
            (f"{other_name} encoder, first build", "index-peer-other", precision, False),
            (f"{other_name} encoder, full rebuild", "index-peer-other", precision, True)]:
        if (full and not rebuilds) or (cfg is precision and not other):
            continue
        t0 = time.perf_counter()
        index = Index.build(work / "corpus-peer", work / folder, cfg, full=full)
        took = time.perf_counter() - t0
        quality = our_scifact_quality(index, docs, qrels, queries)
        ours[label] = took
        rows.append([f"newsrag {label}", f"{took:.1f}", f"{index.info()['passages']:,}",
                     f"{quality['ndcg']:.4f}"])
    report.add(f"## Build: newsrag vs txtai, same {len(docs):,} SciFact abstracts, same model")
    report.add()
    if isinstance(peer, str):
        report.add(f"_txtai skipped: {peer}_")
    else:
        rows.insert(0, [f"txtai {peer['version']} (`Embeddings(content=True, hybrid=True)`)",
                        f"{peer['build']:.1f}", f"{len(docs):,} documents",
                        f"{ndcg10(peer['run'], qrels):.4f}"])
    report.table(["build", "seconds", "passages", "nDCG@10"], rows)
    if not isinstance(peer, str):
        report.add("Speed vs txtai (txtai's build time / newsrag's): " + ", ".join(
            f"{label} **{peer['build'] / took:.2f}x**" for label, took in ours.items()) + ".")
    report.add()


def our_scifact_quality(index, docs, qrels, queries) -> dict:
    from newsrag.evaluation import ranked_documents

    paths = {f"docs.jsonl#{i + 1}": d["id"] for i, d in enumerate(docs)}
    doc_of = {a.id: paths.get(a.path, a.path) for a in index.articles()}
    run, latencies = {}, []
    for qid, text in queries.items():
        t0 = time.perf_counter()
        hits = index.search(text, k=30)
        latencies.append(time.perf_counter() - t0)
        run[qid] = ranked_documents(hits, doc_of)[:10]
    return {"ndcg": ndcg10(run, qrels), "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95)}


def mixtures(base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` vectors, each a normalised mixture w*a + (1-w)*b of two distinct real vectors
    (w uniform in [0.2, 0.8]): spread like real embeddings, without near-duplicates."""
    out = np.empty((size, base.shape[1]), dtype=np.float32)
    step = 200_000
    for first in range(0, size, step):
        n = min(step, size - first)
        a = rng.integers(0, len(base), n)
        b = (a + rng.integers(1, len(base), n)) % len(base)  # never a itself
        w = rng.uniform(0.2, 0.8, (n, 1)).astype(np.float32)
        v = w * base[a] + (1 - w) * base[b]
        out[first:first + n] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


# Candidate approximate indexes: (label, faiss factory string, search parameter, values).
# HNSW over float32 vectors is left out: its vectors alone are 1,536 bytes per passage, over the
# 1.5 KB budget before any graph, text or BM25 (and it was measured before: REPORT.md history).
CANDIDATES = [
    ("HNSW32 + SQ8", "HNSW32,SQ8", "efSearch", (32, 64, 128, 256)),
    ("IVF2048 + SQ8", "IVF2048,SQ8", "nprobe", (8, 16, 32, 64)),
]
IVF_TRAIN = 100_000  # k-means sample: ~50 points per list


def _resident_bytes(path: Path) -> float:
    """Resident memory a fresh process gains by reading one FAISS index file."""
    code = f"""
import re, json, faiss
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
before = rss(); index = faiss.read_index({str(path)!r}); print(json.dumps(rss() - before))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def bench_scale(report: Report, work: Path, base: np.ndarray, queries: np.ndarray,
                sizes: list[int], ef_construction: int) -> None:
    """Exact vs approximate dense search on synthetic mixtures; recall@10 against exact search,
    single-query latency, build time and resident bytes per passage of each candidate."""
    import faiss

    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        vectors = mixtures(base, size, rng)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        _, truth = exact.search(queries, 10)
        lat = []
        for q in queries:
            t0 = time.perf_counter()
            exact.search(q.reshape(1, -1), 10)
            lat.append(time.perf_counter() - t0)
        faiss.write_index(exact, str(work / "exact.faiss"))
        rows.append([f"{size:,}", "exact (IndexFlatIP)", "", "", ms(pct(lat, .5)), ms(pct(lat, .95)),
                     "1 (reference)", f"{_resident_bytes(work / 'exact.faiss') / size:,.0f}"])
        del exact
        for label, factory, knob, values in CANDIDATES:
            if factory.startswith("IVF") and size < 100_000:
                continue  # 4096 lists need more points than that to train
            index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
            t0 = time.perf_counter()
            if "HNSW" in factory:
                faiss.downcast_index(index).hnsw.efConstruction = ef_construction
            if not index.is_trained:
                index.train(vectors[rng.choice(size, min(size, IVF_TRAIN), replace=False)])
            index.add(vectors)
            t_build = time.perf_counter() - t0
            path = work / "candidate.faiss"
            faiss.write_index(index, str(path))
            resident = _resident_bytes(path) / size
            for value in values:
                faiss.ParameterSpace().set_index_parameter(index, knob, value)
                lat, found = [], []
                for q in queries:
                    t0 = time.perf_counter()
                    _, got = index.search(q.reshape(1, -1), 10)
                    lat.append(time.perf_counter() - t0)
                    found.append(got[0])
                recall = np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, found)])
                rows.append([f"{size:,}", label, f"{knob}={value}", f"{t_build:.0f}",
                             ms(pct(lat, .5)), ms(pct(lat, .95)), f"{recall:.3f}",
                             f"{resident:,.0f}"])
            del index
            print(f"  {size:,} {label} done", file=sys.stderr, flush=True)
    report.add("## A million passages: exact vs approximate dense search")
    report.add()
    report.add(f"Synthetic vectors: each a normalised mixture of two distinct real sentence and "
               f"passage vectors of the SciFact index ({len(base):,} real vectors), so there are no "
               f"near-duplicates; {len(queries)} real SciFact query vectors; k=10; one query at a "
               f"time. Recall@10: share of the exact top 10 found. Resident: what a fresh process "
               f"gains by loading the index file, per passage. HNSW efConstruction="
               f"{ef_construction}; IVF trained on {IVF_TRAIN:,} of the vectors.")
    report.add()
    report.table(["passages", "index", "search setting", "build s", "dense p50 ms",
                  "dense p95 ms", "recall@10 vs exact", "resident bytes/passage"], rows)


def bench_cold_start(report: Report, work: Path) -> None:
    """A fresh ``newsrag ask --json`` on an index with its ONNX encoder vs a fresh
    ``python -c "import sentence_transformers"``, interleaved, 3 runs each."""
    import shutil

    folder = work / "cold"
    shutil.copytree(ROOT / "corpus", folder / "corpus")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    exe = Path(sys.executable).parent / "newsrag"
    subprocess.run([str(exe), "build"], cwd=folder, env=env, capture_output=True, check=True)
    walls: dict[str, list[float]] = {"ask": [], "import": [], "empty": []}
    commands = {"ask": [str(exe), "ask", "Which airbases were attacked?", "--json"],
                "import": [sys.executable, "-c", "import sentence_transformers"],
                "empty": [str(exe), "ask", " "]}
    for _ in range(3):
        for name, cmd in commands.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=folder, env=env, capture_output=True)
            walls[name].append(time.perf_counter() - t0)
    code = """
import json, time
t = {}
t0 = time.perf_counter(); import newsrag; t['import newsrag'] = time.perf_counter() - t0
t0 = time.perf_counter(); import onnxruntime, faiss, bm25s
t['import onnxruntime, faiss, bm25s'] = time.perf_counter() - t0
from newsrag import Index, Settings
s = Settings()
t0 = time.perf_counter(); idx = Index.load('index', s)
t['load the index (incl. ONNX session, checksums)'] = time.perf_counter() - t0
t0 = time.perf_counter(); idx.ask('Which airbases were attacked?'); t['first ask'] = time.perf_counter() - t0
import sys; t['torch imported'] = float('torch' in sys.modules)
print(json.dumps(t))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True,
                          text=True, check=True)
    parts = json.loads(proc.stdout.strip().splitlines()[-1])
    torch_imported = parts.pop("torch imported")
    ask, imp = statistics.median(walls["ask"]), statistics.median(walls["import"])
    report.add("## Cold start: `newsrag ask \"...\" --json` as a fresh process (seed corpus)")
    report.add()
    report.table(["fresh process", "median s", "min s", "max s"], [
        ["`newsrag ask \"...\" --json` (index with its ONNX encoder)", f"{ask:.2f}",
         f"{min(walls['ask']):.2f}", f"{max(walls['ask']):.2f}"],
        ["`python -c \"import sentence_transformers\"`", f"{imp:.2f}",
         f"{min(walls['import']):.2f}", f"{max(walls['import']):.2f}"],
        ["`newsrag ask \" \"` (refused before loading)", f"{statistics.median(walls['empty']):.2f}",
         f"{min(walls['empty']):.2f}", f"{max(walls['empty']):.2f}"],
    ])
    report.add(f"Cold ask / import sentence_transformers = **{ask / imp:.2f}** (3 interleaved runs "
               f"each); torch imported by the ask path: {'yes' if torch_imported else 'no'}. "
               "Where a cold ask's time goes (one fresh process):")
    report.add()
    total = sum(parts.values())
    report.table(["step", "seconds", "share"],
                 [[k, f"{v:.2f}", f"{v / total:.0%}"] for k, v in parts.items()])


def main() -> int:
    parser = argparse.ArgumentParser(description="newsrag speed, scale and memory benchmarks")
    parser.add_argument("--quick", action="store_true", help="small smoke run (a few minutes)")
    parser.add_argument("--docs", type=int, default=None, help="SciFact documents (default all)")
    parser.add_argument("--sizes", default=None, help="index sizes, e.g. 100000,1000000")
    parser.add_argument("--queries", type=int, default=50, help="queries per latency cell")
    parser.add_argument("--ef-construction", type=int, default=64,
                        help="efConstruction for the benchmark's HNSW builds")
    parser.add_argument("--no-peer", action="store_true", help="skip txtai")
    parser.add_argument("--only", default=None,
                        help="comma-separated sections: encoders,build,peer-build,ask,cold,"
                        "scale; or pipeline alone (the whole serving process at --sizes passages)")
    parser.add_argument("--work", default=None,
                        help="pipeline: folder for the synthetic indexes (kept; default a "
                        "temporary folder)")
    parser.add_argument("--compare-src", default=None,
                        help="pipeline: also time search/ask of the newsrag whose src folder this "
                        "is, interleaved question by question with this one's, on the same index")
    parser.add_argument("--pause-ms", type=float, default=0.0,
                        help="pipeline, --compare-src: pause before each interleaved call, so "
                        "one version's leftover work (spinning threads) does not land on the "
                        "other's call")
    parser.add_argument("--first-builds-only", action="store_true",
                        help="peer-build: newsrag's first builds only (default and the other "
                        "precision), not their full rebuilds (the whole corpus takes minutes each)")
    parser.add_argument("--default-only", action="store_true",
                        help="peer-build: newsrag's default encoder precision only")
    parser.add_argument("--reuse", action="store_true",
                        help="pipeline: measure the index already in --work instead of "
                        "writing it again")
    args = parser.parse_args()
    if args.only == "pipeline":
        return pipeline_main(args)
    docs_n = args.docs or (300 if args.quick else None)
    sizes = [int(s) for s in (args.sizes or ("20000" if args.quick else "100000,1000000")).split(",")]
    only = (set(args.only.split(",")) if args.only
            else {"encoders", "build", "ask", "cold", "scale"}
            | (set() if args.quick or args.no_peer else {"peer-build"}))

    from newsrag import Settings
    from newsrag.build import embedding_text
    from newsrag.embedding import load_embedder

    settings = Settings()
    embedder = load_embedder(settings.model)
    report = Report()
    machine(report)
    report.add("No GPU was used: every figure is CPU (ONNX Runtime's CPU provider; torch CPU).")
    report.add()
    docs, qrels, queries = scifact_docs(docs_n)
    from newsrag.evaluation import find_data_dir, load_dataset

    # Latency needs questions, not judgements: all SciFact queries, judged or not.
    all_queries = [q["text"] for q in load_dataset("scifact", find_data_dir()).queries]
    query_texts = all_queries[: args.queries]
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        work = Path(tmp)
        if "peer-build" in only:
            bench_build_vs_peer(report, work, docs, qrels, queries, settings,
                                rebuilds=not args.first_builds_only, other=not args.default_only)
        if only & {"build", "encoders", "ask", "cold", "scale"}:
            if "build" in only:
                index, t_full = bench_build(report, work, docs, settings, embedder)
            else:  # other sections alone: a plain default build
                from newsrag import Index

                write_corpus(work / "corpus", docs)
                index, t_full = Index.build(work / "corpus", work / "index", settings), None
            ours = our_scifact_quality(index, docs, qrels, queries) if t_full else None
            if ours is not None:
                ours["build"] = t_full
                report.add(f"newsrag hybrid nDCG@10 on these {len(docs)} documents and {len(qrels)} "
                           f"queries: {ours['ndcg']:.4f}")
                report.add()
            if ours is not None and not (args.quick or args.no_peer):
                peer_txtai(report, work, docs, qrels, queries, ours)
            if "encoders" in only:
                meta = {a["id"]: a for a in index.manifest["articles"]}
                texts = [embedding_text(meta[p.article_id], p.text) for p in index.retriever.passages]
                rates = bench_encoders(report, texts[:400], embedder, _onnx_folder(index))
                if "ONNX Runtime int8 (`--quantize`)" in rates:
                    bench_quantized_quality(report, work, index, docs, qrels, queries, settings)
            if "ask" in only:
                bench_ask_vs_search(report, index, query_texts)
            if t_full:
                bench_incremental(report, work, t_full, settings)
            if "cold" in only:
                bench_cold_start(report, work)
            if "scale" in only:
                bench_scale(report, work, _base_vectors(index),
                            index.embedder.encode(all_queries[:200]), sizes, args.ef_construction)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "REPORT.md").write_text("\n".join(report.lines) + "\n", encoding="utf-8")
    print(f"\nreport written to {RESULTS / 'REPORT.md'}", file=sys.stderr)
    return 0


def pipeline_main(args: argparse.Namespace) -> int:
    """``--only pipeline``: the whole serving process on synthetic generations (see
    benchmarks/pipeline.py), without torch."""
    import pipeline

    from newsrag import __version__
    from newsrag.evaluation import find_data_dir

    report = Report()
    load = os.getloadavg()
    report.add("# newsrag benchmark report: the whole pipeline at scale")
    report.add()
    report.add(f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}; newsrag {__version__}")
    report.add(f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
               f"{platform.platform()}; load average at start {load[0]:.1f} {load[1]:.1f} "
               f"{load[2]:.1f}")
    report.add()
    data = find_data_dir()
    sizes = [int(s) for s in (args.sizes or "100000").split(",")]
    questions = pipeline.questions_from(data, (200 if args.queries == 50 else args.queries) + 1)
    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="newsrag-pipeline-")
    work = Path(args.work or tmp.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        folder = work / f"index-{size}"
        if not (args.reuse and (folder / "CURRENT").is_file()):
            print(f"writing the {size:,}-passage generation in {folder}", file=sys.stderr)
            times = pipeline.build_generation(work, size, data,
                                              say=lambda m: print(m, file=sys.stderr, flush=True))
            report.add(f"## Writing the {size:,}-passage generation")
            report.add()
            report.table(["step", "seconds"], [[k, f"{v:.1f}"] for k, v in times.items()])
        print(f"measuring {folder}", file=sys.stderr, flush=True)
        m = pipeline.measure(folder, questions, work)
        mem, lat = pipeline.report_rows(size, m)
        files = sum(p.stat().st_size for p in (folder / (folder / "CURRENT").read_text().strip()
                                               ).rglob("*") if p.is_file())
        report.add(f"## The serving process at {m['passages']:,} passages "
                   f"({m['articles']:,} articles)")
        report.add()
        report.add(f"`Index.load` as `serve` does (checksums verified): {m['load_s']:.1f} s; "
                   f"generation on disk {files / 2**30:.2f} GiB. Importer: a fresh process that "
                   f"imports the {len(m['modules'])} top-level modules the serving process ended "
                   f"with ({m['importer']['rss'] / 2**20:,.0f} MiB).")
        report.add()
        report.table(["resident memory", "bytes/passage"], mem)
        report.add(f"{len(m['search'])} SciFact questions for `search` and {len(m['ask'])} "
                   f"others for `ask` (a question's vector is cached once embedded), one at a "
                   f"time, after one warm-up call each; hybrid, default k:")
        report.add()
        report.table(["call", "p50 ms", "p95 ms", "max ms", "first call ms"], lat)
        s50, a50 = pipeline.pct(m["search"], .5), pipeline.pct(m["ask"], .5)
        s95, a95 = pipeline.pct(m["search"], .95), pipeline.pct(m["ask"], .95)
        report.add(f"ask / search: p50 {a50 / s50:.2f}, p95 {a95 / s95:.2f} (different questions, "
                   f"so a rough ratio; --compare-src compares like with like). Targets (issue 12): "
                   f"ask p95 <= 50 ms (here {1000 * a95:.0f}), <= 1,536 resident bytes per "
                   f"passage (here {(m['loaded']['rss'] - m['importer']['rss']) / m['passages']:,.0f}).")
        report.add()
        for what in ("search", "ask"):
            for q, s in m[what + "_slow"]:
                report.add(f"- slow {what} ({s:.1f} s): {q}")
        report.add()
        if args.compare_src:
            import newsrag

            here = Path(newsrag.__file__).resolve().parents[1]
            print("timing both versions, interleaved", file=sys.stderr, flush=True)
            lat = pipeline.interleaved(folder, questions,
                                       {"this": here, "compared": Path(args.compare_src)},
                                       args.pause_ms / 1000)
            spacing = (f"{args.pause_ms:g} ms pause before each call" if args.pause_ms
                       else "back to back")
            report.add(f"Interleaved, question by question, on this index: this newsrag "
                       f"({here}) and the one in {args.compare_src}, one serving process each, "
                       f"{spacing}:")
            report.add()
            rows = [[label, what, ms(pipeline.pct(v, .5)), ms(pipeline.pct(v, .95)),
                     ms(max(v))] for label, d in lat.items() for what, v in d.items()]
            report.table(["newsrag", "call", "p50 ms", "p95 ms", "max ms"], rows)
            for what in ("search", "ask"):
                a, b = lat["this"][what], lat["compared"][what]
                p50 = pipeline.pct(a, .5) / pipeline.pct(b, .5)
                p95 = pipeline.pct(a, .95) / pipeline.pct(b, .95)
                report.add(f"- {what}: this / compared at p50 {p50:.2f}, at p95 {p95:.2f}")
            report.add()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "PIPELINE.md").write_text("\n".join(report.lines) + "\n", encoding="utf-8")
    print(f"\nreport written to {RESULTS / 'PIPELINE.md'}", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    return 0


def _base_vectors(index) -> np.ndarray:
    """The real vectors mixtures are made of: the index's passage and sentence vectors."""
    from newsrag.store import IndexStore
    from newsrag.vectors import SentenceVectors

    stored = SentenceVectors.load(IndexStore(index.folder).current())
    dense = index.retriever.dense
    return np.concatenate([dense.vectors(0, dense.size)]
                          + ([np.asarray(stored.vectors)] if stored is not None else []))


def _onnx_folder(index) -> Path:
    from newsrag.store import IndexStore

    return IndexStore(index.folder).current() / "encoder"


if __name__ == "__main__":
    sys.exit(main())
