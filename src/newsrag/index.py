"""The public face of newsrag: an :class:`Index` you build, load, search and ask.

A facade: it wires the stages together (store -> passages, dense and lexical indexes ->
retriever; filters and query planning (:mod:`newsrag.filters`, :mod:`newsrag.planning`) ->
extractive answerer -> :class:`~newsrag.generation.GeneratedAnswerer`) and owns none of their
logic. On load it checks that the index on disk was made with the model, chunking and format
this process uses, so a mismatch fails with "rebuild" instead of returning nonsense.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .answering import NOT_IN_ARTICLES, Answer, Answerer, check_question
from .build import BuildReport, EmbedExecutor, build_index
from .dates import between
from .embedding import CachedEncoder, Embedder, fingerprint_matches, question_embedder
from .errors import IndexMismatchError, NewsragError
from .filters import ArticleNames, PassageFilters
from .generation import GeneratedAnswerer, Generator
from .planning import QueryPlanner
from .retrieval import Hit, Retriever
from .settings import Settings
from .statements import Statement, StatementBook
from .store import REBUILD_HINT, Manifest, article_position, article_rows, passage_span
from .stores import make_store
from .validation import check_arguments
from .vectors import SentenceVectors

__all__ = ["Index", "ArticleInfo"]

# Queries whose vectors the retriever remembers (a reloaded page, a repeated question).
QUERY_CACHE_SIZE = 256


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

    def __init__(self, folder: Path, settings: Settings, manifest: Manifest,
                 retriever: Retriever, embedder: Embedder, book: StatementBook,
                 sentences: SentenceVectors | None = None):
        self.folder = folder
        self.settings = settings
        self.typed_manifest = manifest
        self.retriever = retriever
        self.embedder = embedder
        self.book = book
        self.answerer = Answerer(
            CachedEncoder(embedder, settings.sentence_cache_size, settings.batch_size,
                          stored=sentences).encode,
            settings.refusal_threshold, settings.answer_sentences, book)
        self.generated = GeneratedAnswerer(settings, self.answerer.encode, book)
        self.build_report: BuildReport | None = None
        self.filters = PassageFilters(manifest.articles, retriever.passages, book)
        self.article_names = ArticleNames(manifest.articles, retriever.passages, retriever.names)
        self.planner = QueryPlanner(self.filters, book, self._search, settings.candidates,
                                    knows=retriever.knows_word, spelling=retriever.spelling)

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """The manifest as JSON (what ``manifest.json`` holds), for callers that read it as a
        dict; :attr:`typed_manifest` is the validated :class:`~newsrag.store.Manifest`."""
        return self.typed_manifest.model_dump(mode="json")

    # ---- building and loading ------------------------------------------------------------
    @classmethod
    def build(cls, corpus_dir: str | Path = "corpus", index_dir: str | Path = "index",
              settings: Settings | None = None, full: bool = False, progress: bool = False,
              embedder: Embedder | None = None, executor: EmbedExecutor | None = None
              ) -> "Index":
        """Build or update the index of ``corpus_dir`` in ``index_dir``, then load it.

        Incremental unless ``full``: only new or changed articles are embedded. The report of
        what was done is on the returned index's ``build_report``. ``executor`` runs the
        embedding (e.g. :class:`newsrag.distributed.RayExecutor`); the index lives in the store
        ``settings.store`` chooses.
        """
        settings = settings or Settings()
        report = build_index(Path(corpus_dir), Path(index_dir), settings,
                             (lambda: embedder) if embedder else None, full, progress, executor)
        index = cls.load(index_dir, settings, embedder)
        index.build_report = report
        return index

    @classmethod
    def load(cls, index_dir: str | Path = "index", settings: Settings | None = None,
             embedder: Embedder | None = None) -> "Index":
        """Load a built index; fails clearly if it is missing, damaged or made differently."""
        settings = settings or Settings()
        folder = Path(index_dir)
        matches = ((lambda stored: stored == embedder.fingerprint) if embedder
                   else (lambda stored: fingerprint_matches(settings, stored)))
        generation = make_store(settings, folder).open(matches)
        manifest = generation.manifest
        dense, passages = generation.dense, generation.passages
        lexical, names = generation.lexical(), generation.names()
        statements = generation.statements()
        sentences = generation.sentences()
        embedder = embedder or question_embedder(settings, generation.folder,
                                                 manifest.model.fingerprint)
        if embedder.info.dim != dense.dim:
            raise IndexMismatchError(
                f"the index has {dense.dim}-d vectors but the model makes {embedder.info.dim}-d "
                "ones: " + REBUILD_HINT)
        encode = CachedEncoder(embedder, QUERY_CACHE_SIZE)
        retriever = Retriever(passages, dense, lexical, encode, settings.rrf_k,
                              settings.candidates, names,
                              generation.backends(encode, names, settings))
        # The statement book needs the passage spans of the articles that carry statements
        # only: read from the stored spans, no passage text (a million passages stay on disk).
        quoted = {st.article_id for st in statements}
        firsts, counts = article_rows(manifest.articles)
        where = article_position(manifest.articles)
        spans = {aid: [(*passage_span(passages, row), row)
                       for row in range(int(firsts[i]), int(firsts[i] + counts[i]))]
                 for aid in sorted(quoted) if (i := where(aid)) is not None}
        book = StatementBook(statements, names, spans)
        return cls(folder, settings, manifest, retriever, embedder, book, sentences)

    # ---- querying ------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, mode: str = "hybrid",
               speaker: str | None = None, since: str | None = None,
               until: str | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query`` (mode: hybrid, dense or bm25).

        ``speaker`` keeps passages quoting that person (any spelling); ``since``/``until`` (a
        year, month or day: "2021", "2020-01", "2020-01-07") keep passages of that period.
        """
        check_arguments(self.settings.max_question_chars, question=query, k=k, mode=mode,
                        speaker=speaker, since=since, until=until)
        query = check_question(query, self.settings.max_question_chars)
        return self._search(query, k, mode, self.filters.allowed(speaker, between(since, until)))

    def _search(self, query: str, k: int | None, mode: str, allowed: np.ndarray | None) -> list[Hit]:
        """:meth:`search` with the filter already resolved to rows (``ask`` resolves it once)."""
        k = k or self.settings.top_k
        if k < 1:
            raise NewsragError("k must be at least 1")
        return self.retriever.search(query, k, mode, allowed)

    def ask(self, question: str, k: int | None = None, mode: str = "hybrid",
            history: Sequence[str] | None = (), speaker: str | None = None,
            since: str | None = None, until: str | None = None,
            generate: bool | Generator | None = None,
            on_token: Callable[[str], None] | None = None) -> Answer:
        """An extractive, cited answer, or an honest "the articles don't say".

        ``history`` holds the conversation's earlier questions, oldest first: a follow-up
        ("what did he say about talks?") is searched with the names they mention. ``speaker``,
        ``since`` and ``until`` restrict the sources as in :meth:`search`. A time named in the
        question itself ("in 2021", "after Soleimani's death") narrows the sources to passages
        of that period when there are any among the candidates.

        ``generate``: None follows the ``generator`` setting; True uses the configured generator
        (the OpenAI-compatible endpoint when the setting is ``extractive``); a :class:`Generator`
        uses that one; False stays extractive.
        A generated answer keeps only sentences the passages support (see
        :mod:`newsrag.generation`); ``on_token`` receives the model's text as it streams.
        """
        history = () if history is None else history  # None: no conversation, as in Python
        check_arguments(self.settings.max_question_chars, question=question, k=k, mode=mode,
                        history=history, speaker=speaker, since=since, until=until,
                        generate=generate, on_token=on_token)
        question = check_question(question, self.settings.max_question_chars)
        plan = self.planner.plan(question, k or self.settings.top_k, mode, history, speaker,
                                 between(since, until))
        if plan.filtered_out:
            return Answer(question, f"{NOT_IN_ARTICLES} {plan.filter_notice()}", False, [], 0.0,
                          "filter left no passages", plan.query)
        unknown = self.retriever.unknown_terms(plan.reading.question, self.article_names.initials())
        role = self.retriever.unknown_role(plan.reading.speaker_role) \
            if plan.reading.asked is None and plan.reading.kind == "quote" else None
        unknown += [role] if role else []
        hits = self.planner.retrieve(plan)
        answer = self.answerer.answer(plan.query, self.retriever.encode(plan.query), hits,
                                      unknown, who=plan.reading.who_said, reading=plan.reading,
                                      coverage=self.article_names.covers,
                                      in_period=self.filters.not_out_of_period,
                                      reports_on=self.filters.reports_on)
        answer = replace(answer, question=question, query=plan.query)
        return self.generated.answer(question, hits, answer, generate, on_token)

    def statements(self, speaker: str | None = None, since: str | None = None,
                   until: str | None = None) -> list[Statement]:
        """Statements found in the articles, oldest first; ``speaker`` in any spelling
        ("Austim" finds Lloyd Austin's), ``since``/``until`` as in :meth:`search`."""
        check_arguments(self.settings.max_question_chars, speaker=speaker, since=since, until=until)
        return self.book.filter(speaker, between(since, until))

    def speakers(self) -> list[tuple[str, int]]:
        """Named speakers and how many statements each has, most quoted first."""
        return self.book.speakers()

    # ---- describing ----------------------------------------------------------------------
    def articles(self) -> list[ArticleInfo]:
        return [ArticleInfo(a.id, a.title, a.date, a.path, a.count, a.source, a.url)
                for a in self.typed_manifest.articles]

    def info(self) -> dict[str, Any]:
        """What ``newsrag info`` shows, as JSON-ready values (copies: the manifest is shared)."""
        m = self.typed_manifest
        return {
            "index": str(self.folder),
            "articles": m.counts.articles,
            "passages": m.counts.passages,
            "model": m.model.name,
            "model_path": m.model_path,
            "dimension": m.model.dim,
            "index_type": m.dense.type,
            "index_params": dict(m.dense.params),
            "encoder": type(self.embedder).kind or type(self.embedder).__name__,
            "quantized": bool((m.encoder or {}).get("quantized")),
            "chunking": dict(m.chunking),
            "built_at": m.built_at,
            "format_version": m.format_version,
            "skipped": [list(pair) for pair in m.skipped],
            "statements": len(self.book.statements),
            "speakers": len(self.book.speakers()),
        }
