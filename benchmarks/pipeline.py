"""The whole serving pipeline at scale: a synthetic index generation of N passages, loaded as
``newsrag serve`` loads it, measured for resident memory per passage and ``search``/``ask``
latency on real SciFact questions.

Embedding a million passages takes hours on 2 cores, so the generation is written directly in
the store's format (``build.write_generation``, the code a build ends with), without running
the encoder on the passages:

- texts: real SciFact sentences (one per line), 4 to 7 drawn at random per passage, so every
  passage is distinct real prose; articles of 2 to 8 such passages, each titled with a real
  SciFact title and dated 2019-2022; each passage's ``start``/``end`` is its span in its
  article's text (the passages joined by blank lines), as the chunker makes them;
- passage vectors: normalised mixtures of two distinct real vectors (``run.mixtures``, as in the
  scale section), the real ones being the passage and sentence vectors of a small real SciFact
  index built first (which also supplies the ONNX encoder and the model fingerprint);
- sentence vectors: one per distinct sentence of the passages (what a build stores, so ``ask``
  embeds only the question), mixtures likewise;
- BM25: ``LexicalIndex.build`` over the passages' embedding texts (title + passage) up to
  ``REAL_BM25_MAX`` passages; past that the same index is made from token ids (each sentence
  tokenised once, a passage's tokens being its title's and its lines' tokens): the real code
  holds every token of every passage as a Python string at once, about 10 GB at a million;
- no statements and no name table: SciFact abstracts quote nobody.

The measurement runs in fresh processes: one loads the index with ``Index.load`` (checksums
verified, as ``serve`` does) and asks; another imports every module the first ended up with and
nothing else. Resident bytes per passage = (RSS after load - RSS of the importer) / passages.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REAL_BM25_MAX = 200_000
SMALL_DOCS = 60  # SciFact abstracts of the small real index (real vectors, ONNX encoder)


def _rss_line() -> str:
    return (
        "def rss():\n"
        "    s = open('/proc/self/status').read()\n"
        "    g = lambda k: int(re.search(k + r':\\s+(\\d+)', s).group(1)) * 1024\n"
        "    return {'rss': g('VmRSS'), 'anon': g('RssAnon'), 'file': g('RssFile'),\n"
        "            'peak': g('VmHWM')}\n"
    )


# ---- the synthetic corpus ------------------------------------------------------------------------
class Corpus:
    """Passages as unit (sentence) ids, articles as passage ranges; texts made on demand."""

    def __init__(self, units: list[str], titles: list[str], size: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.units = units
        per = rng.integers(4, 8, size)  # sentences per passage
        self.unit_first = np.concatenate([[0], np.cumsum(per)]).astype(np.int64)
        self.unit_ids = rng.integers(0, len(units), int(self.unit_first[-1])).astype(np.int32)
        sizes = []
        left = size
        while left > 0:
            n = int(min(left, rng.integers(2, 9)))
            sizes.append(n)
            left -= n
        self.art_first = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.titles = [titles[i] for i in rng.integers(0, len(titles), len(sizes))]
        days = rng.integers(0, 4 * 365, len(sizes))
        base = np.datetime64("2019-01-01")
        self.dates = [str(base + int(d)) for d in days]
        self.size = size
        self._dedupe()

    def _dedupe(self) -> None:
        """Redraw the rare passage whose sentences repeat another's exactly."""
        seen: set[bytes] = set()
        rng = np.random.default_rng(1)
        for i in range(self.size):
            a, b = self.unit_first[i], self.unit_first[i + 1]
            key = self.unit_ids[a:b].tobytes()
            while key in seen:
                self.unit_ids[a:b] = rng.integers(0, len(self.units), b - a)
                key = self.unit_ids[a:b].tobytes()
            seen.add(key)

    def passage_units(self, i: int) -> np.ndarray:
        return self.unit_ids[self.unit_first[i]:self.unit_first[i + 1]]

    def text(self, i: int) -> str:
        return "\n".join(self.units[u] for u in self.passage_units(i))

    @property
    def articles(self) -> int:
        return len(self.titles)


def scifact_units_and_titles(data: Path) -> tuple[list[str], list[str]]:
    """Distinct SciFact sentences (as ``passage_sentences`` splits them) and titles."""
    from newsrag.vectors import passage_sentences

    units: dict[str, None] = {}
    titles = []
    with (data / "scifact" / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            titles.append(d["title"].strip() or "Untitled")
            for s in passage_sentences(d["text"]):
                s = s.strip()
                # a line that splits into itself alone, so passage_sentences(passage) gives back
                # exactly its lines
                if len(s) > 20 and passage_sentences(s) == [s]:
                    units.setdefault(s, None)
    return list(units), titles


class LazyPassages(Sequence[Any]):
    """The corpus' passages as ``Passage`` objects made one at a time (write_generation only
    iterates them), so the builder never holds a million texts."""

    def __init__(self, corpus: Corpus, article_ids: list[str]):
        self.corpus, self.article_ids = corpus, article_ids
        self.article_of = np.repeat(np.arange(corpus.articles),
                                    np.diff(corpus.art_first)).astype(np.int64)

    def __len__(self) -> int:
        return self.corpus.size

    def __getitem__(self, i: Any) -> Any:
        from newsrag.passages import Passage

        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        c = self.corpus
        a = int(self.article_of[i])
        start = 0
        for j in range(int(c.art_first[a]), i):
            start += len(c.text(j)) + 2
        text = c.text(i)
        return Passage(self.article_ids[a], c.titles[a], c.dates[a], start, start + len(text), text)

    def __iter__(self) -> Iterator[Any]:
        from newsrag.passages import Passage

        c = self.corpus
        for a in range(c.articles):
            start = 0
            for i in range(int(c.art_first[a]), int(c.art_first[a + 1])):
                text = c.text(i)
                yield Passage(self.article_ids[a], c.titles[a], c.dates[a], start,
                              start + len(text), text)
                start += len(text) + 2


# ---- BM25 past what the real code can hold -----------------------------------------------------
def bm25_from_ids(corpus: Corpus) -> Any:
    """The BM25 index ``LexicalIndex.build`` makes of the passages' embedding texts, built from
    token ids: each sentence and title is tokenised once by newsrag's own tokenizer."""
    import bm25s

    from newsrag.lexical import LexicalIndex, tokenize

    vocab: dict[str, int] = {}

    def ids(text: str) -> list[int]:
        return [vocab.setdefault(t, len(vocab)) for t in tokenize(text)]

    unit_ids = [ids(u) for u in corpus.units]
    title_ids = {t: ids(t) for t in set(corpus.titles)}
    docs: list[list[int]] = []
    for a in range(corpus.articles):
        head = title_ids[corpus.titles[a]]
        for i in range(int(corpus.art_first[a]), int(corpus.art_first[a + 1])):
            doc = list(head)
            for u in corpus.passage_units(i):
                doc += unit_ids[u]
            docs.append(doc)
    empty = vocab.setdefault("", len(vocab))
    docs = [d or [empty] for d in docs]
    bm25 = bm25s.BM25()
    bm25.index((docs, vocab), show_progress=False)
    return LexicalIndex(bm25, corpus.size)


# ---- building the generation ---------------------------------------------------------------------
def small_real_index(work: Path, data: Path) -> Path:
    """A real index of the first SMALL_DOCS SciFact abstracts (default settings: ONNX export,
    sentence vectors): the real vectors, the encoder and the model fingerprint."""
    from newsrag import Index, Settings

    folder = work / "small-index"
    if (folder / "CURRENT").is_file():
        return folder
    corpus = work / "small-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    with (data / "scifact" / "corpus.jsonl").open(encoding="utf-8") as src, \
            (corpus / "docs.jsonl").open("w", encoding="utf-8") as out:
        for n, line in enumerate(src):
            if n >= SMALL_DOCS:
                break
            d = json.loads(line)
            out.write(json.dumps({"title": d["title"], "text": d["text"]}) + "\n")
    Index.build(corpus, folder, Settings())
    return folder


def build_generation(work: Path, size: int, data: Path, say: Any = print) -> dict[str, float]:
    """Write the synthetic generation of ``size`` passages to ``work/index-<size>``; the
    seconds of each step."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run import mixtures

    from newsrag import Settings
    from newsrag.build import embedding_text, write_generation
    from newsrag.lexical import LexicalIndex
    from newsrag.names import NameTable
    from newsrag.store import ArticleMeta, IndexStore
    from newsrag.vectors import DenseIndex, SentenceVectors, passage_sentences, text_keys

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    small = IndexStore(small_real_index(work, data))
    gen = small.current()
    manifest = small.read_manifest(gen)
    from newsrag.vectors import DenseIndex as _D

    real = _D.load(gen / "dense.faiss", manifest.dense.type, manifest.dense.params)
    stored = SentenceVectors.load(gen)
    base = np.concatenate([real.vectors(0, real.size)]
                          + ([np.asarray(stored.vectors)] if stored is not None else []))
    times["small real index (encoder, real vectors)"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    units, titles = scifact_units_and_titles(data)
    corpus = Corpus(units, titles, size)
    article_ids = [f"a{a:07d}" for a in range(corpus.articles)]
    passages = LazyPassages(corpus, article_ids)
    metas = []
    for a in range(corpus.articles):
        first, last = int(corpus.art_first[a]), int(corpus.art_first[a + 1])
        metas.append(ArticleMeta(id=article_ids[a], path=f"docs.jsonl#{a + 1}",
                                 title=corpus.titles[a], date=corpus.dates[a],
                                 content_hash=f"{a:064x}", first=first, count=last - first))
    times["texts and articles"] = time.perf_counter() - t0
    say(f"  {size:,} passages, {corpus.articles:,} articles, {len(units):,} distinct sentences")

    settings = Settings()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    vectors = mixtures(base, size, rng)
    dense = DenseIndex.build(vectors, vectors.shape[1], settings.approximate_threshold,
                             settings.hnsw_m, settings.hnsw_ef_construction,
                             settings.hnsw_ef_search, settings.approximate_index,
                             settings.ivf_nprobe)
    del vectors
    times["dense index (mixtures, FAISS build)"] = time.perf_counter() - t0
    say(f"  dense {dense.kind} {dense.params} built")

    t0 = time.perf_counter()
    sentence_texts = [s for u in units for s in passage_sentences(u)]
    sentences = SentenceVectors.build(text_keys(sentence_texts),
                                      mixtures(base, len(sentence_texts), rng))
    times["sentence vectors"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if size <= REAL_BM25_MAX:
        meta_by_id = {m.id: m for m in metas}
        lexical = LexicalIndex.build([embedding_text(meta_by_id[p.article_id], p.text)
                                      for p in passages])
        times["BM25 (LexicalIndex.build)"] = time.perf_counter() - t0
    else:
        lexical = bm25_from_ids(corpus)
        times["BM25 (from token ids)"] = time.perf_counter() - t0
    say("  BM25 built")

    t0 = time.perf_counter()
    folder = work / f"index-{size}"
    store = IndexStore(folder)
    with store.lock():
        store.clean()
        write_generation(store, dense, lexical, passages, metas, manifest.model, settings,
                         {}, [], NameTable(), [], sentences, gen / "encoder")
    times["write_generation (files, checksums)"] = time.perf_counter() - t0
    return times


# ---- measuring -----------------------------------------------------------------------------------
SERVE = """
import json, re, sys, time
{rss}
t0 = time.perf_counter()
from newsrag import Index, Settings
import newsrag.index, newsrag.embedding, faiss, bm25s, onnxruntime
imported = rss()
from newsrag.store import IndexStore
from newsrag.embedding import question_embedder
settings = Settings()
folder = {folder!r}
gen = IndexStore(folder).current()
manifest = IndexStore(folder).read_manifest(gen)
embedder = question_embedder(settings, gen, manifest.model.fingerprint)
embedder.encode(["warm up"], batch_size=1, progress=False)
with_encoder = rss()
t1 = time.perf_counter()
index = Index.load(folder, settings, embedder)
load_s = time.perf_counter() - t1
loaded = rss()
questions = json.loads(open({questions!r}).read())
out = {{"imported": imported, "with_encoder": with_encoder, "loaded": loaded, "load_s": load_s,
       "passages": manifest.counts.passages, "articles": manifest.counts.articles}}
half = len(questions) // 2
for what, qs in (("search", questions[:half]), ("ask", questions[half:])):
    # disjoint questions: ask must not find its question's vector cached by search
    call = index.search if what == "search" else index.ask
    first = time.perf_counter(); call(qs[0]); out[what + "_first"] = time.perf_counter() - first
    lat, slow = [], []
    for q in qs[1:]:
        t = time.perf_counter(); call(q); lat.append(time.perf_counter() - t)
        if lat[-1] > 1.0:
            slow.append([q, lat[-1]])
    out[what] = lat
    out[what + "_slow"] = slow
out["after_queries"] = rss()
out["modules"] = sorted(m for m in sys.modules if not m.startswith("_") and "." not in m)
print("RESULT " + json.dumps(out))
"""

IMPORTER = """
import importlib, json, re, sys
{rss}
for m in json.loads(open({modules!r}).read()):
    try:
        importlib.import_module(m)
    except Exception:
        pass
from newsrag import Index, Settings
import newsrag.index, newsrag.embedding, faiss, bm25s, onnxruntime
print("RESULT " + json.dumps(rss()))
"""


def _child(code: str) -> Any:
    import newsrag  # the children run the newsrag this process imported (PYTHONPATH)

    env = {**os.environ, "PYTHONPATH": str(Path(newsrag.__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def measure(folder: Path, questions: list[str], work: Path) -> dict[str, Any]:
    """Load ``folder`` in a fresh process as serve does, search and ask each question; and the
    RSS of a fresh process importing the same modules."""
    qpath = work / "questions.json"
    qpath.write_text(json.dumps(questions))
    served = _child(SERVE.format(rss=_rss_line(), folder=str(folder), questions=str(qpath)))
    mpath = work / "modules.json"
    mpath.write_text(json.dumps(served["modules"]))
    served["importer"] = _child(IMPORTER.format(rss=_rss_line(), modules=str(mpath)))
    return served


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report_rows(size: int, m: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    n = m["passages"]
    imp = m["importer"]["rss"]
    mem = [
        ["whole process after load - importer", f"{(m['loaded']['rss'] - imp) / n:,.0f}"],
        ["  of which anonymous (heap)", f"{(m['loaded']['anon'] - m['importer']['anon']) / n:,.0f}"],
        ["  of which file-backed (mapped index files)",
         f"{(m['loaded']['file'] - m['importer']['file']) / n:,.0f}"],
        ["index alone (after load - after the encoder)",
         f"{(m['loaded']['rss'] - m['with_encoder']['rss']) / n:,.0f}"],
        ["whole process after the questions - importer",
         f"{(m['after_queries']['rss'] - imp) / n:,.0f}"],
        ["  of which anonymous (heap)",
         f"{(m['after_queries']['anon'] - m['importer']['anon']) / n:,.0f}"],
        ["  of which file-backed (mapped index files)",
         f"{(m['after_queries']['file'] - m['importer']['file']) / n:,.0f}"],
        ["peak (VmHWM) - importer", f"{(m['after_queries']['peak'] - imp) / n:,.0f}"],
    ]
    ms = lambda s: f"{1000 * s:.1f}"  # noqa: E731
    lat = [[what, ms(pct(m[what], .5)), ms(pct(m[what], .95)), ms(max(m[what])),
            ms(m[what + "_first"])] for what in ("search", "ask")]
    return mem, lat


def questions_from(data: Path, n: int) -> list[str]:
    with (data / "scifact" / "queries.jsonl").open(encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    texts = [t for t in texts if re.search(r"\w", t)]
    return texts[:n] + texts[len(texts) // 2:][:n]  # n for search, n others for ask


# ---- latency of two newsrag versions, interleaved ----------------------------------------------
LOOP = """
import json, sys, time
from newsrag import Index, Settings
index = Index.load({folder!r}, Settings())
print("READY", flush=True)
for line in sys.stdin:
    what, q = json.loads(line)
    call = index.search if what == "search" else index.ask
    t = time.perf_counter(); call(q); s = time.perf_counter() - t
    print(json.dumps(s), flush=True)
"""


def interleaved(folder: Path, questions: list[str], sources: dict[str, Path],
                pause: float = 0.0) -> dict[str, dict[str, list[float]]]:
    """``search`` and ``ask`` latency of each newsrag source folder (``{"label": src}``), one
    serving process each, loaded first, then the same questions sent to each in turn (the order
    alternating), so both versions run under the same load in the same minutes. Disjoint halves
    of ``questions`` for search and ask, as in :func:`measure`. ``pause`` seconds before each
    call: back to back, what one process leaves running after its call (ONNX Runtime's threads
    spin-waiting for more work, in a version that lets them) lands on the other's call."""
    procs = {}
    for label, src in sources.items():
        env = {**os.environ, "PYTHONPATH": str(src)}
        procs[label] = subprocess.Popen(
            [sys.executable, "-c", LOOP.format(folder=str(folder))], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for label, p in procs.items():
            line = p.stdout.readline()  # type: ignore[union-attr]
            if not line.startswith("READY"):
                raise RuntimeError(f"the {label} process did not load the index")
        out: dict[str, dict[str, list[float]]] = {k: {"search": [], "ask": []} for k in procs}
        half = len(questions) // 2
        labels = list(procs)
        for what, qs in (("search", questions[:half]), ("ask", questions[half:])):
            for n, q in enumerate(qs):
                for label in (labels if n % 2 == 0 else labels[::-1]):
                    if pause:
                        time.sleep(pause)
                    p = procs[label]
                    p.stdin.write(json.dumps([what, q]) + "\n")  # type: ignore[union-attr]
                    p.stdin.flush()  # type: ignore[union-attr]
                    s = float(json.loads(p.stdout.readline()))  # type: ignore[union-attr]
                    if n:  # the first call of each kind is a warm-up
                        out[label][what].append(s)
        return out
    finally:
        for p in procs.values():
            p.stdin.close()  # type: ignore[union-attr]
            p.wait(timeout=60)
