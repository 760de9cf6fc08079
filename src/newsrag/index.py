"""The public face of newsrag: an :class:`Index` you build, load, search and ask.

It wires the stages together (store -> passages, dense and lexical indexes -> retriever ->
answerer) and checks, on load, that the index on disk was made with the model, chunking and
format this process uses, so a mismatch fails with "rebuild" instead of returning nonsense.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from .answering import Answer, Answerer, check_question
from .build import BM25, DENSE, PASSAGES, BuildReport, build_index, load_passages
from .conversation import retrieval_query
from .embedding import CachedEncoder, Embedder, load_embedder, model_fingerprint
from .errors import IndexCorruptError, IndexMismatchError, NewsragError
from .lexical import LexicalIndex
from .retrieval import Hit, Retriever
from .settings import Settings
from .store import REBUILD_HINT, IndexStore
from .vectors import DenseIndex

__all__ = ["Index", "ArticleInfo"]


@dataclass(frozen=True)
class ArticleInfo:
    """An indexed article, as listed by ``newsrag info`` and the chat's side panel."""

    id: str
    title: str
    date: str | None
    path: str
    passages: int
    source: str | None = None
    url: str | None = None


class Index:
    """A loaded index. Read-only and safe to share between threads (the web server does)."""

    def __init__(self, folder: Path, settings: Settings, manifest: dict[str, Any],
                 retriever: Retriever, embedder: Embedder):
        self.folder = folder
        self.settings = settings
        self.manifest = manifest
        self.retriever = retriever
        self.embedder = embedder
        self.answerer = Answerer(
            CachedEncoder(embedder, settings.sentence_cache_size, settings.batch_size).encode,
            settings.refusal_threshold, settings.answer_sentences)
        self.build_report: BuildReport | None = None

    # ---- building and loading ------------------------------------------------------------
    @classmethod
    def build(cls, corpus_dir: str | Path = "corpus", index_dir: str | Path = "index",
              settings: Settings | None = None, full: bool = False, progress: bool = False,
              embedder: Embedder | None = None) -> "Index":
        """Build or update the index of ``corpus_dir`` in ``index_dir``, then load it.

        Incremental unless ``full``: only new or changed articles are embedded. The report of
        what was done is on the returned index's ``build_report``.
        """
        settings = settings or Settings()
        report = build_index(Path(corpus_dir), Path(index_dir), settings,
                             lambda: embedder or load_embedder(settings.model), full, progress)
        index = cls.load(index_dir, settings, embedder)
        index.build_report = report
        return index

    @classmethod
    def load(cls, index_dir: str | Path = "index", settings: Settings | None = None,
             embedder: Embedder | None = None) -> "Index":
        """Load a built index; fails clearly if it is missing, damaged or made differently."""
        settings = settings or Settings()
        folder = Path(index_dir)
        store = IndexStore(folder)
        gen = store.current()
        manifest = store.read_manifest(gen)
        fingerprint = model_fingerprint(Path(settings.model))
        if manifest["model"]["fingerprint"] != fingerprint:
            raise IndexMismatchError(
                f"the index in {folder}/ was built with model {manifest['model']['name']!r} "
                f"({manifest.get('model_path')}), but this run uses {settings.model}: "
                + REBUILD_HINT
            )
        if manifest["chunking"] != settings.chunking():
            raise IndexMismatchError(
                f"the index in {folder}/ was built with chunking {manifest['chunking']}, but this "
                f"run uses {settings.chunking()}: " + REBUILD_HINT
            )
        store.verify(gen, manifest, checksums=settings.verify_checksums)
        try:
            dense = DenseIndex.load(gen / DENSE, manifest["dense"]["type"],
                                    manifest["dense"]["params"])
            lexical = LexicalIndex.load(gen / BM25)
            passages = load_passages(gen / PASSAGES, {a["id"]: a for a in manifest["articles"]})
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            raise IndexCorruptError(f"cannot read the index in {gen}: {exc}; {REBUILD_HINT}") from None
        expected = manifest["counts"]["passages"]
        if not (dense.size == lexical.size == len(passages) == expected):
            raise IndexCorruptError(
                f"the index in {gen} is inconsistent ({dense.size} vectors, {lexical.size} BM25 "
                f"rows, {len(passages)} passages, manifest says {expected}); {REBUILD_HINT}"
            )
        if dense.dim != manifest["model"]["dim"]:
            raise IndexCorruptError(f"{gen / DENSE} has dimension {dense.dim}, manifest says "
                                    f"{manifest['model']['dim']}; {REBUILD_HINT}")
        embedder = embedder or load_embedder(settings.model)
        if embedder.info.dim != dense.dim:
            raise IndexMismatchError(
                f"the index has {dense.dim}-d vectors but the model makes {embedder.info.dim}-d "
                "ones: " + REBUILD_HINT)
        retriever = Retriever(passages, dense, lexical, CachedEncoder(embedder, 256),
                              settings.rrf_k, settings.candidates)
        return cls(folder, settings, manifest, retriever, embedder)

    # ---- querying ------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best passages for ``query`` (mode: hybrid, dense or bm25)."""
        query = check_question(query, self.settings.max_question_chars)
        k = k or self.settings.top_k
        if k < 1:
            raise NewsragError("k must be at least 1")
        return self.retriever.search(query, k, mode)

    def ask(self, question: str, k: int | None = None, mode: str = "hybrid",
            history: Sequence[str] = ()) -> Answer:
        """An extractive, cited answer, or an honest "the articles don't say".

        ``history`` holds the conversation's earlier questions, oldest first: a follow-up
        ("what did he say about talks?") is searched with the names they mention.
        """
        question = check_question(question, self.settings.max_question_chars)
        query = retrieval_query(question, history)
        hits = self.search(query, k, mode)
        answer = self.answerer.answer(query, self.retriever.encode(query), hits,
                                      self.retriever.unknown_terms(question))
        return replace(answer, question=question, query=query)

    # ---- describing ----------------------------------------------------------------------
    def articles(self) -> list[ArticleInfo]:
        return [ArticleInfo(a["id"], a["title"], a.get("date"), a["path"], a["count"],
                            a.get("source"), a.get("url"))
                for a in self.manifest["articles"]]

    def info(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "index": str(self.folder),
            "articles": m["counts"]["articles"],
            "passages": m["counts"]["passages"],
            "model": m["model"]["name"],
            "model_path": m.get("model_path"),
            "dimension": m["model"]["dim"],
            "index_type": m["dense"]["type"],
            "index_params": m["dense"]["params"],
            "chunking": m["chunking"],
            "built_at": m["built_at"],
            "format_version": m["format_version"],
            "skipped": m.get("skipped", []),
        }
