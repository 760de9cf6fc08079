"""Building the index from a corpus folder, incrementally.

An article whose content hash is already in the live index keeps its passages and vectors (read
back from the old FAISS index); only new or changed articles are chunked and embedded, and removed
ones are dropped. The lexical index is rebuilt from all passage texts, which costs no embedding.
Everything is written as a new generation through :class:`~newsrag.store.IndexStore`, so a failed
or killed build never touches the live index.

:func:`build_index` runs four stages, each a function with typed input and output, so that each
can be tested alone and the heavy one moved elsewhere: :func:`plan_build` (a pure diff of the
corpus against the previous generation -> :class:`BuildPlan`), :func:`embed` (the one heavy step,
with an executor seam -> :class:`Embedded`), :func:`assemble` (-> the store's
:class:`~newsrag.stores.BuildOutput`) and :func:`write_output` (the store makes it live).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ._version import __version__
from .articles import Article, CorpusReading, corpus_hashes, read_corpus
from .embedding import (ENCODER_META, Embedder, SpanVectors, encoder_meta, expected_fingerprint,
                        fingerprint_matches, prepare_encoder)
from .errors import IndexMismatchError, NewsragError
from .lexical import LexicalIndex
from .names import NameTable, load_aliases
from .passages import Chunker, Passage
from .settings import Settings
from .statements import Statement, StatementBook, extract_statements
from .store import (
    BM25,
    DENSE,
    NAMES,
    PASSAGES,
    STATEMENTS,
    ArticleMeta,
    Generation,
    IndexStore,
    Manifest,
    ModelInfo,
    load_passages,
    without_hint,
    write_passages,
)
from .stores import BuildOutput, PassageStore, make_store
from .vectors import (DenseIndex, SentenceVectors, passage_sentence_spans,
                      passage_sentences, text_keys)

__all__ = ["BuildReport", "build_index", "EmbedExecutor", "index_is_stale", "embedding_text", "load_passages",
           "plan_build", "BuildPlan", "PlannedArticle", "embed", "Embedded", "assemble", "write_output",
           "write_generation", "BM25", "DENSE", "NAMES", "PASSAGES", "STATEMENTS"]

# Passages embedded per call when progress goes to a log: one plain line per slice.
PROGRESS_SLICE = 2048
ENCODER = "encoder"  # the exported ONNX encoder (model.onnx, tokenizer.json, encoder.json)


@dataclass
class BuildReport:
    """What a build did; the CLI prints it and tests assert on it."""

    articles: int = 0
    passages: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    embedded_passages: int = 0
    embedded_sentences: int = 0
    sentences_alone: int = 0  # of those, embedded alone (not pooled from their passage's pass)
    statements: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    full: bool = False
    up_to_date: bool = False
    reason_full: str | None = None
    seconds: float = 0.0
    # What the store wrote (PassageStore.written): on Milvus whether an upsert or a new epoch,
    # and how many passage and sentence rows it wrote and marked removed.
    store_writes: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        if self.up_to_date:
            head = f"index is up to date: {self.articles} articles, {self.passages} passages"
        else:
            head = (f"indexed {self.articles} articles, {self.passages} passages "
                    f"({len(self.added)} added, {len(self.removed)} removed, {self.unchanged} "
                    f"unchanged; {self.embedded_passages} passages embedded; {self.statements} "
                    f"statements) in {self.seconds:.1f}s")
        lines = [head]
        if self.reason_full:
            lines.append(f"full rebuild: {self.reason_full}")
        lines += [f"skipped {name}: {why}" for name, why in self.skipped]
        lines += [f"warning {name}: {why}" for name, why in self.warnings]
        if self.skipped:
            lines.append(f"{len(self.skipped)} file(s) skipped")
        return "\n".join(lines)


def embedding_text(article: ArticleMeta | Article, text: str) -> str:
    """What is embedded and BM25-indexed for a passage: the headline (if the article had one),
    then the passage. The headline gives context a lone paragraph lacks."""
    return text if article.title_derived else f"{article.title}\n{text}"


def index_is_stale(corpus_dir: Path, index_dir: Path, settings: Settings,
                   manifest: Manifest | None = None) -> str | None:
    """Why the index needs a build (missing, corpus changed), or None if it is current.

    Cheap: hashes the corpus files' bytes and compares with the manifest (``manifest``, when
    the caller has read it already); parses no article.
    """
    if manifest is None:
        store = make_store(settings, index_dir)
        if not store.exists():
            return "no index yet"
        try:
            manifest = store.read_manifest()
        except IndexMismatchError as exc:  # an older format: a build rewrites it
            return str(exc).split(":")[0]
    if corpus_hashes(corpus_dir, settings.max_file_bytes) != manifest.corpus_files:
        return "the corpus changed since the last build"
    return None


def write_generation(store: IndexStore, dense: DenseIndex, lexical: LexicalIndex,
                     passages: list[Passage], articles_meta: Sequence[ArticleMeta | dict[str, Any]],
                     model: ModelInfo | dict[str, Any], settings: Settings,
                     corpus_files: dict[str, str], skipped: list[tuple[str, str]],
                     names: NameTable | None = None,
                     statements: Sequence[Statement] = (),
                     sentences: SentenceVectors | None = None,
                     encoder_dir: Path | None = None, corpus_dir: str | None = None) -> Path:
    """Write a complete generation and make it live (call under ``store.lock()``).

    Everything goes to a staging folder first; on any failure the staging folder is removed and
    the live index is untouched. ``sentences`` are the passages' sentence vectors;
    ``encoder_dir`` an exported ONNX encoder, hard-linked (else copied) into the generation.
    """
    staging = store.stage()
    try:
        dense.save(staging / DENSE)
        if sentences is not None:
            sentences.save(staging)
        if encoder_dir is not None:
            _link_tree(encoder_dir, staging / ENCODER)
        (staging / BM25).mkdir()
        lexical.save(staging / BM25)
        write_passages(staging, passages)
        (names or NameTable()).save(staging / NAMES)
        StatementBook.save(statements, staging / STATEMENTS)
        return store.commit(staging, Manifest.model_validate({
            "newsrag_version": __version__,
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "model": model,
            "model_path": settings.model,
            "chunking": settings.chunking(),
            "dense": {"type": dense.kind, "params": dense.params, "metric": "inner_product"},
            "encoder": encoder_meta(encoder_dir) if encoder_dir is not None else None,
            "sentences": sentences.size if sentences is not None else None,
            "counts": {"articles": len(articles_meta), "passages": len(passages)},
            "articles": list(articles_meta),
            "corpus_files": corpus_files,
            "corpus_dir": corpus_dir,
            "skipped": skipped,
        }))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# The embed step's executor seam: given the embedder, the texts and the batch size, return one
# vector per text, in order. The default encodes in this process; newsrag.distributed supplies
# one that fans the texts out to a Ray actor pool.
EmbedExecutor = Callable[[Embedder, list[str], int], np.ndarray]


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    settings: Settings,
    get_embedder: Callable[[], Embedder] | None = None,
    full: bool = False,
    progress: bool = False,
    executor: EmbedExecutor | None = None,
) -> BuildReport:
    """Bring the index of ``index_dir`` (in the store ``settings.store`` chooses) up to date
    with ``corpus_dir``; see the module docstring.

    ``get_embedder`` supplies a ready embedder (tests, benchmarks); by default the encoder is
    chosen by settings (see :func:`newsrag.embedding.prepare_encoder`). ``executor`` runs the
    one heavy step, the embedding (default: in this process).

    The stages, each a function of its own: :func:`plan_build` (a pure diff against the
    previous generation), :func:`embed` (the heavy step), :func:`assemble` (the store's input),
    :func:`write_output` (the store makes it live)."""
    started = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    if not corpus_dir.is_dir():
        raise NewsragError(
            f"--corpus {corpus_dir} is a file, not a folder: put it in a folder (or use "
            "`newsrag add FILE`)" if corpus_dir.exists()
            else f"corpus folder {corpus_dir}/ does not exist")
    store = make_store(settings, index_dir)
    report = BuildReport(full=full)
    with store.lock():
        store.clean()
        reading = read_corpus(corpus_dir, settings.max_file_bytes)
        report.skipped, report.warnings = reading.skipped, reading.warnings
        if not reading.articles:
            raise NewsragError(
                f"no readable articles in {corpus_dir}/"
                + "".join(f"\n  skipped {n}: {why}" for n, why in reading.skipped)
            )
        previous: Generation | None = None
        if store.exists() and not full:
            try:
                previous = store.open(_matcher(settings, get_embedder))
            except NewsragError as exc:
                report.reason_full = without_hint(str(exc))
                report.full = True
        if previous is not None and previous.manifest.corpus_files == reading.file_hashes:
            report.up_to_date = True
            report.articles = previous.manifest.counts.articles
            report.passages = previous.manifest.counts.passages
            return report

        plan = plan_build(reading.articles, Chunker(**settings.chunking()).split,
                          previous.manifest.articles if previous else (),
                          previous.passages if previous else (), settings.sentence_vectors)
        report.added, report.removed, report.unchanged = plan.added, plan.removed, plan.unchanged

        def choose_embedder() -> tuple[Embedder, Path | None]:
            if get_embedder is not None:
                return get_embedder(), None
            return prepare_encoder(settings, store.local_folder(), index_dir)

        embedded = embed(plan, previous, choose_embedder, settings, progress, executor)
        report.embedded_passages = embedded.embedded_passages
        report.embedded_sentences = embedded.embedded_sentences
        report.sentences_alone = embedded.sentences_alone
        output = assemble(plan, embedded, reading, previous, settings)
        output.corpus_dir = str(corpus_dir.resolve())
        report.statements = len(output.statements)
        write_output(store, output)
        report.store_writes = dict(store.written)
        report.articles, report.passages = len(output.articles), len(output.passages)
    report.seconds = time.perf_counter() - started
    return report


# ---- stage 1: plan -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedArticle:
    """One article of the new build, in row order: its passages, and the previous build's
    article they are carried over from (None: chunked now, embedded by this build)."""

    article: Article
    passages: list[Passage]
    previous: ArticleMeta | None = None


@dataclass(frozen=True)
class BuildPlan:
    """What a build has to do, decided before anything is embedded."""

    articles: list[PlannedArticle]  # every article of the corpus, in row order
    to_embed: list[str]             # embedding texts of the new passages, in row order
    sentence_texts: list[str]       # distinct passage sentences (empty: no sentence vectors)
    added: list[str]                # paths of new or changed articles
    removed: list[str]              # paths of previous articles whose text is gone
    removed_ids: list[str]          # previous article ids whose rows a store must drop

    @property
    def unchanged(self) -> int:
        return sum(p.previous is not None for p in self.articles)


def plan_build(articles: Sequence[Article], chunk: Callable[[Article], list[Passage]],
               old_articles: Sequence[ArticleMeta] = (), old_passages: Sequence[Passage] = (),
               sentences: bool = False) -> BuildPlan:
    """The build's diff of the corpus reading against the previous generation (its articles and
    passages; none for a full build). Pure: reads, embeds and writes nothing.

    An article whose content hash the previous build has keeps that build's passages (under its
    new id, title and date) and, later, their vectors; any other is split by ``chunk`` and its
    passages' :func:`embedding_text` go to ``to_embed``. ``sentences``: also list the distinct
    sentences of all passages, whose vectors the answerer reuses."""
    old_by_hash = {a.content_hash: a for a in old_articles}
    planned: list[PlannedArticle] = []
    to_embed: list[str] = []
    added: list[str] = []
    for art in articles:
        old = old_by_hash.get(art.content_hash)
        if old is not None:
            kept = [Passage(art.id, art.title, art.date, p.start, p.end, p.text)
                    for p in old_passages[old.first:old.first + old.count]]
            planned.append(PlannedArticle(art, kept, old))
        else:
            passages = chunk(art)
            planned.append(PlannedArticle(art, passages))
            to_embed += [embedding_text(art, p.text) for p in passages]
            added.append(art.path)
    new_hashes = {a.content_hash for a in articles}
    # Rows stay only where the same text keeps the same id; moved text is written anew.
    kept_ids = {p.article.id for p in planned
                if p.previous is not None and p.previous.id == p.article.id}
    sentence_texts = list(dict.fromkeys(
        s for p in planned for passage in p.passages for s in passage_sentences(passage.text)
    )) if sentences else []
    return BuildPlan(
        articles=planned, to_embed=to_embed, sentence_texts=sentence_texts, added=added,
        removed=[a.path for h, a in old_by_hash.items() if h not in new_hashes],
        removed_ids=[a.id for a in old_articles if a.id not in kept_ids])


# ---- stage 2: embed ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Embedded:
    """The embed stage's output: vectors of the plan's new passages (row order; None when none
    were embedded), every sentence vector, and the model and stored encoder they come from."""

    fresh: np.ndarray | None
    sentences: SentenceVectors | None
    model: ModelInfo
    encoder_dir: Path | None
    embedded_passages: int
    embedded_sentences: int
    sentences_alone: int = 0  # of those, embedded alone rather than pooled


def embed(plan: BuildPlan, previous: Generation | None,
          choose_embedder: Callable[[], tuple[Embedder, Path | None]], settings: Settings,
          progress: bool = False, executor: EmbedExecutor | None = None) -> Embedded:
    """The one heavy step: embed the plan's new passages and every sentence not already stored.

    ``choose_embedder`` gives the embedder and the ONNX export to store with the index; it is
    called only if something needs embedding, so an update that only removes articles loads no
    model and keeps the previous generation's encoder."""
    chosen: list[tuple[Embedder, Path | None]] = []

    def embedder_for() -> Embedder:
        if not chosen:
            chosen.append(choose_embedder())
        return chosen[0][0]

    old_sentences = previous.sentences() if previous is not None else None
    fresh, sentences, embedded_sentences, alone = _embed_all(
        plan.to_embed, plan.sentence_texts, old_sentences, embedder_for, settings, progress,
        executor)
    if chosen:
        embedder, encoder_dir = chosen[0]
        model = ModelInfo(name=embedder.info.name, dim=embedder.info.dim,
                          fingerprint=embedder.info.fingerprint)
    else:
        assert previous is not None, "a first build always embeds"
        model = previous.manifest.model
        old_encoder = previous.folder / ENCODER
        encoder_dir = old_encoder if (old_encoder / ENCODER_META).is_file() else None
    return Embedded(fresh, sentences, model, encoder_dir, len(plan.to_embed), embedded_sentences,
                    alone)


def _embed_all(texts: list[str], sentence_texts: list[str], old: SentenceVectors | None,
               embedder_for: Callable[[], Embedder], settings: Settings, progress: bool,
               executor: EmbedExecutor | None = None
               ) -> tuple[np.ndarray | None, SentenceVectors | None, int, int]:
    """Embed the new passages and every sentence not already stored. A sentence's vector is
    pooled from its passage's own forward pass where the encoder gives token vectors
    (:meth:`Embedder.encode_spans`, on the executor's workers if it has ``encode_spans``); the
    rest (an encoder without token vectors, a sentence cut off by the model's length limit, an
    executor without ``encode_spans``) go through the encoder alone, batched by length with the
    passages. Returns the passages' vectors, all sentence vectors, how many sentences were
    given new vectors and how many of those were embedded alone."""
    keys = text_keys(sentence_texts)
    rows = old.find(keys) if old is not None else np.full(len(keys), -1, dtype=np.int64)
    missing = [t for t, r in zip(sentence_texts, rows) if r < 0]
    if not settings.sentence_vectors:
        fresh = _embed(embedder_for(), texts, settings.batch_size, progress, executor)[0] \
            if texts else None
        return fresh, None, 0, 0
    found: dict[str, np.ndarray] = {}
    fresh = None
    if texts and settings.pooled_sentences and (executor is None
                                                or hasattr(executor, "encode_spans")):
        wanted = set(missing)
        spans = [[(a, b) for a, b in passage_sentence_spans(t) if t[a:b] in wanted]
                 for t in texts]
        fresh, pooled = _embed(embedder_for(), texts, settings.batch_size, progress, executor,
                               spans)
        for text, own, vecs in zip(texts, spans, pooled):
            for (a, b), v in zip(own, vecs):
                if v is not None:
                    found.setdefault(text[a:b], v)
    alone = [t for t in missing if t not in found]
    if (texts and fresh is None) or alone:
        batch = (texts if fresh is None else []) + alone
        embedded = _embed(embedder_for(), batch, settings.batch_size, progress, executor)[0]
        if fresh is None and texts:
            fresh, embedded = embedded[:len(texts)], embedded[len(texts):]
        found.update(zip(alone, embedded))
    dim = fresh.shape[1] if fresh is not None else (
        next(iter(found.values())).shape[0] if found else old.vectors.shape[1])  # type: ignore
    vectors = np.zeros((len(keys), dim), dtype=np.float32)
    have = np.flatnonzero(rows >= 0)
    if len(have):
        vectors[have] = old.vectors[np.asarray(rows[have])]  # type: ignore[union-attr]
    for i in np.flatnonzero(rows < 0).tolist():
        vectors[i] = found[sentence_texts[i]]
    return fresh, SentenceVectors.build(keys, vectors), len(missing), len(alone)


# ---- stage 3: assemble -------------------------------------------------------------------------
def assemble(plan: BuildPlan, embedded: Embedded, reading: CorpusReading,
             previous: Generation | None, settings: Settings) -> BuildOutput:
    """What the store writes: the articles' metadata and passages in row order, the vectors
    embedded by this build per article (and carried-over rows under a new id), every row's
    vector on demand, the name table and the statements."""
    old_vectors = previous.dense.vectors if previous is not None else None
    passages_all: list[Passage] = []
    articles_meta: list[ArticleMeta] = []
    fresh_by_article: dict[str, np.ndarray] = {}
    sources: list[tuple[np.ndarray | None, ArticleMeta | None]] = []
    cursor = 0
    for planned in plan.articles:
        art, passages, old = planned.article, planned.passages, planned.previous
        vecs: np.ndarray | None = None
        if old is None:
            assert embedded.fresh is not None
            vecs = embedded.fresh[cursor:cursor + len(passages)]
            cursor += len(passages)
            fresh_by_article[art.id] = vecs
        elif old.id != art.id:  # same text under a new id: moved rows
            assert old_vectors is not None
            fresh_by_article[art.id] = old_vectors(old.first, old.count)
        articles_meta.append(ArticleMeta(
            id=art.id, path=art.path, title=art.title, date=art.date,
            source=art.source, url=art.url, author=art.author,
            title_derived=art.title_derived, content_hash=art.content_hash,
            first=len(passages_all), count=len(passages),
        ))
        passages_all += passages
        sources.append((vecs, old))

    def all_vectors() -> np.ndarray:
        parts = [v if v is not None else old_vectors(o.first, o.count)  # type: ignore
                 for v, o in sources]
        return (np.concatenate(parts) if parts
                else np.zeros((0, embedded.model.dim), np.float32))

    names = NameTable.build((a.text for a in reading.articles), load_aliases(settings.aliases))
    return BuildOutput(
        articles=articles_meta, passages=passages_all, model=embedded.model,
        all_vectors=all_vectors, fresh=fresh_by_article, removed=plan.removed_ids,
        full=previous is None, corpus_files=reading.file_hashes, skipped=reading.skipped,
        names=names, statements=extract_statements(reading.articles, names),
        sentences=embedded.sentences, encoder_dir=embedded.encoder_dir)


# ---- stage 4: write ----------------------------------------------------------------------------
def write_output(store: PassageStore, output: BuildOutput) -> None:
    """Make ``output`` the live index (under the store's lock); a fresh ONNX export made for
    this build is removed afterwards (the store has linked or copied what it keeps)."""
    try:
        store.write(output)
    finally:
        encoder_dir = output.encoder_dir
        if encoder_dir is not None and encoder_dir.name.startswith(".export-"):
            shutil.rmtree(encoder_dir, ignore_errors=True)


# ---- helpers -------------------------------------------------------------------------------------
def _embed(embedder: Embedder, texts: list[str], batch_size: int, progress: bool,
           executor: EmbedExecutor | None = None,
           spans: list[list[tuple[int, int]]] | None = None) -> tuple[np.ndarray, SpanVectors]:
    """Vectors for ``texts`` and, given ``spans``, each text's span vectors pooled from the same
    pass (:meth:`Embedder.encode_spans`; on the executor's workers through its
    ``encode_spans``); without ``spans`` the second item is empty. With ``progress``: a
    progress bar on a terminal, and otherwise (a log, a pipe) plain "embedded N/M passages"
    lines, so a long build shows it is alive."""
    what = "passages and their sentences" if spans is not None else "passages"

    def run(first: int, last: int, bar: bool) -> tuple[np.ndarray, SpanVectors]:
        if spans is None:
            return embedder.encode(texts[first:last], batch_size=batch_size, progress=bar), []
        return embedder.encode_spans(texts[first:last], spans[first:last],
                                     batch_size=batch_size, progress=bar)

    if executor is not None:
        if progress:
            print(f"embedding {len(texts)} {what} with {embedder.info.name} (executor "
                  f"{getattr(executor, 'name', type(executor).__name__)})", file=sys.stderr)
        if spans is None:
            return executor(embedder, texts, batch_size), []
        return executor.encode_spans(embedder, texts, spans, batch_size)  # type: ignore
    if not progress:
        return run(0, len(texts), False)
    print(f"embedding {len(texts)} {what} with {embedder.info.name}", file=sys.stderr)
    if sys.stderr.isatty():
        return run(0, len(texts), True)
    vectors, pooled = [], []
    for start in range(0, len(texts), PROGRESS_SLICE):
        v, p = run(start, start + PROGRESS_SLICE, False)
        vectors.append(v)
        pooled += p
        done = min(start + PROGRESS_SLICE, len(texts))
        print(f"embedded {done}/{len(texts)} passages ({done / len(texts):.0%})",
              file=sys.stderr, flush=True)
    return np.concatenate(vectors), pooled


def _matcher(settings: Settings,
             get_embedder: Callable[[], Embedder] | None) -> Callable[[str], bool]:
    """Whether a previous generation's vectors fit this build: the given embedder's
    fingerprint, else the one settings choose (``--quantize`` unset keeps what the index has)."""
    if get_embedder is not None:
        fingerprint = get_embedder().info.fingerprint
        return lambda stored: stored == fingerprint
    if settings.quantize is None:
        return lambda stored: fingerprint_matches(settings, stored)
    wanted = expected_fingerprint(settings, settings.quantize)
    return lambda stored: stored == wanted


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link a folder's files (a 90 MB encoder is not copied per generation), else copy."""
    target.mkdir(parents=True, exist_ok=True)
    for p in source.iterdir():
        try:
            os.link(p, target / p.name)
        except OSError:
            shutil.copyfile(p, target / p.name)
