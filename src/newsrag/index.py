"""The public face of newsrag: an :class:`Index` you build, load, search and ask.

It wires the stages together (store -> passages, dense and lexical indexes -> retriever ->
answerer) and checks, on load, that the index on disk was made with the model, chunking and
format this process uses, so a mismatch fails with "rebuild" instead of returning nonsense.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .answering import NOT_IN_ARTICLES, Answer, Answerer, check_question
from .build import BuildReport, EmbedExecutor, build_index
from .conversation import retrieval_query
from .dates import YEAR, TimeRange, between, dates_in
from .embedding import CachedEncoder, Embedder, fingerprint_matches, question_embedder
from .errors import IndexMismatchError, NewsragError
from .generation import Generator, GeneratorError, Grounding, GroundingChecker, build_prompt, make_generator
from .passages import Chunker
from .questions import NameCoverage, initials_of, read_question
from .retrieval import Hit, Retriever
from .settings import Settings
from .statements import Statement, StatementBook
from .store import REBUILD_HINT
from .stores import make_store
from .validation import check_arguments
from .vectors import SentenceVectors

__all__ = ["Index", "ArticleInfo"]

# Passages a reading of the question (its speaker, its period) may add to the retrieved ones, and
# how many of the retrieved ones always stay.
READING_EXTRA = 2
KEEP_RETRIEVED = 3
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

    def __init__(self, folder: Path, settings: Settings, manifest: dict[str, Any],
                 retriever: Retriever, embedder: Embedder, book: StatementBook,
                 sentences: SentenceVectors | None = None):
        self.folder = folder
        self.settings = settings
        self.manifest = manifest
        self.retriever = retriever
        self.embedder = embedder
        self.book = book
        self.answerer = Answerer(
            CachedEncoder(embedder, settings.sentence_cache_size, settings.batch_size,
                          stored=sentences).encode,
            settings.refusal_threshold, settings.answer_sentences, book)
        self.checker = GroundingChecker(self.answerer.encode, settings.grounding_threshold)
        self._count_tokens = Chunker(**settings.chunking()).count_tokens
        self.build_report: BuildReport | None = None
        self._row_dates: list[frozenset[str]] | None = None
        self._row_years: list[frozenset[int]] | None = None
        self._coverages: dict[str, NameCoverage] = {}
        self._corpus_initials: frozenset[str] | None = None

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
                                                 manifest.model_dump(mode="json"))
        if embedder.info.dim != dense.dim:
            raise IndexMismatchError(
                f"the index has {dense.dim}-d vectors but the model makes {embedder.info.dim}-d "
                "ones: " + REBUILD_HINT)
        encode = CachedEncoder(embedder, QUERY_CACHE_SIZE)
        retriever = Retriever(passages, dense, lexical, encode, settings.rrf_k,
                              settings.candidates, names,
                              generation.backends(encode, names, settings))
        article_rows = {a.id: [(p.start, p.end, row) for row, p in
                               enumerate(passages[a.first:a.first + a.count], a.first)]
                        for a in manifest.articles}
        book = StatementBook(statements, names, article_rows)
        # The JSON view of the (validated) manifest, as the rest of Index reads it.
        return cls(folder, settings, manifest.model_dump(mode="json"), retriever, embedder, book,
                   sentences)

    # ---- querying ------------------------------------------------------------------------
    def _row_date_sets(self) -> list[frozenset[str]]:
        """Per passage row, the dates it can be placed at: its article's date, dates written in
        it (a date without a year takes the article's date, else the latest full date the same
        article writes), and the dates of the statements it carries. Built on first use."""
        if self._row_dates is None:
            passages = self.retriever.passages
            dates: list[set[str]] = [set() for _ in passages]
            for a in self.manifest["articles"]:
                rows = range(a["first"], a["first"] + a["count"])
                ref = a.get("date")
                if ref is None:
                    full = [d for r in rows for *_, d in dates_in(passages[r].text)]
                    ref = max(full) if full else None
                for r in rows:
                    if a.get("date"):
                        dates[r].add(a["date"])
                    dates[r].update(d for *_, d in dates_in(passages[r].text, ref))
            for i, st in enumerate(self.book.statements):
                if st.date:
                    for r in self.book.rows_of([i]):
                        dates[r].add(st.date)
            self._row_dates = [frozenset(d) for d in dates]
        return self._row_dates

    def _coverage(self, article_id: str) -> NameCoverage:
        """The names an article contains (its title, source, author and every passage), for
        checking that an answer's article covers the names its question uses."""
        if article_id not in self._coverages:
            a = self._articles_by_id[article_id]
            texts = [a.get("title") or "", a.get("source") or "", a.get("author") or ""]
            texts += [p.text for p in self.retriever.passages[a["first"]:a["first"] + a["count"]]]
            self._coverages[article_id] = NameCoverage("\n".join(texts))
        return self._coverages[article_id]

    @cached_property
    def _articles_by_id(self) -> dict[str, dict[str, Any]]:
        return {a["id"]: a for a in self.manifest["articles"]}

    def _covers(self, article_id: str, name: str) -> bool:
        """Whether the article contains ``name`` in any of its spellings (the name table's)."""
        group = self.retriever.names.group(name) if self.retriever.names is not None else None
        return any(self._coverage(article_id).covers(n) for n in [name, *(group or [])])

    def _initials(self) -> frozenset[str]:
        """Acronyms the articles' titles, sources and authors spell out ("Voice of America")."""
        if self._corpus_initials is None:
            self._corpus_initials = frozenset().union(*(
                initials_of(" \n".join(str(a.get(f) or "") for f in ("title", "source", "author")))
                for a in self.manifest["articles"]))
        return self._corpus_initials

    def _in_period(self, row: int, period: TimeRange) -> bool:
        """A passage belongs to a period if one of its dates does, or it names a year of it."""
        if any(map(period.contains, self._row_date_sets()[row])):
            return True
        if self._row_years is None:
            self._row_years = [frozenset(int(y) for y in YEAR.findall(p.text))
                               for p in self.retriever.passages]
        return any(period.overlaps_year(y) for y in self._row_years[row])

    def _not_out_of_period(self, row: int, period: TimeRange) -> bool:
        """Whether a passage may belong to a period: it does, or nothing dates it at all (an
        undated article that writes no date or year cannot be placed outside it)."""
        if self._in_period(row, period):
            return True
        assert self._row_years is not None  # filled by _in_period
        return not self._row_date_sets()[row] and not self._row_years[row]

    def _allowed(self, speaker: str | None, period: TimeRange | None) -> np.ndarray | None:
        """Rows a speaker or period filter leaves, or None for no filter."""
        rows: set[int] | None = None
        if speaker:
            rows = self.book.rows_of(self.book.select(speaker, period))
        if period is not None:
            dated = {r for r, ds in enumerate(self._row_date_sets()) if any(map(period.contains, ds))}
            rows = dated if rows is None else rows & dated
        return None if rows is None else np.fromiter(sorted(rows), dtype=np.int64)

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
        return self._search(query, k, mode, self._allowed(speaker, between(since, until)))

    def _search(self, query: str, k: int | None, mode: str, allowed: np.ndarray | None) -> list[Hit]:
        """:meth:`search` with the filter already resolved to rows (``ask`` resolves it once)."""
        k = k or self.settings.top_k
        if k < 1:
            raise NewsragError("k must be at least 1")
        return self.retriever.search(query, k, mode, allowed)

    def ask(self, question: str, k: int | None = None, mode: str = "hybrid",
            history: Sequence[str] = (), speaker: str | None = None, since: str | None = None,
            until: str | None = None, generate: bool | Generator | None = None,
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
        check_arguments(self.settings.max_question_chars, question=question, k=k, mode=mode,
                        history=history, speaker=speaker, since=since, until=until,
                        generate=generate, on_token=on_token)
        question = check_question(question, self.settings.max_question_chars)
        k = k or self.settings.top_k
        query = retrieval_query(question, history)
        if speaker and self.book.speaker_named_in(query) is None:
            query = f"{query} ({speaker})"  # "What did he say?" with --speaker Esper
        period = between(since, until)
        allowed = self._allowed(speaker, period)
        if allowed is not None and len(allowed) == 0:
            who = f" quoting {speaker}" if speaker else ""
            when = f" from {period.describe()}" if period else ""
            return Answer(question, f"{NOT_IN_ARTICLES} No passage{who}{when} is in the index.",
                          False, [], 0.0, "filter left no passages", query)
        reading = read_question(question)
        unknown = self.retriever.unknown_terms(question, self._initials())
        hits = self._search(query, k, mode, allowed)
        # Readings of the question re-rank; they never remove the best retrieved passages (a
        # word taken for a speaker or a date may be just a word). Passages quoting the speaker
        # the question names, and passages of the period it names, join the candidates.
        extra: list[Hit] = []
        named = (self.book.speaker_named_in(question)
                 if speaker is None and reading.speaker is not None else None)
        if named is not None:
            speaker_rows = self._allowed(named, period)
            if speaker_rows is not None and len(speaker_rows):
                extra += self._search(query, READING_EXTRA, mode, speaker_rows)
        if period is None and reading.period is not None:
            pool = self._search(query, max(k, self.settings.candidates), mode, allowed)
            extra += [h for h in pool if self._in_period(h.row, reading.period)][:READING_EXTRA]
        rows = {h.row for h in hits}
        new = [h for h in dict((h.row, h) for h in extra).values() if h.row not in rows]
        new = new[:READING_EXTRA]
        if new:
            kept = hits[:max(KEEP_RETRIEVED, k - len(new))] + new
            hits = kept + [h for h in hits if h not in kept][:max(0, k - len(kept))]
        answer = self.answerer.answer(query, self.retriever.encode(query), hits, unknown,
                                      who=reading.who_said, reading=reading,
                                      coverage=self._covers, in_period=self._not_out_of_period)
        answer = replace(answer, question=question, query=query)
        generator = self._generator(generate)
        if generator is None or not answer.answered:
            return answer  # a refusal is never handed to a model to talk its way around
        return self._generate(generator, question, hits, answer, on_token)

    def _generator(self, generate: bool | Generator | None) -> Generator | None:
        if isinstance(generate, Generator):
            return generate
        if generate is None:
            return make_generator(self.settings)
        if generate:  # the configured generator; the OpenAI-compatible one if none is
            return make_generator(self.settings) or make_generator(
                self.settings.model_copy(update={"generator": "openai"}))
        return None

    def _generate(self, generator: Generator, question: str, hits: list[Hit], extractive: Answer,
                  on_token: Callable[[str], None] | None) -> Answer:
        messages, shown = build_prompt(question, [h.passage for h in hits],
                                       self.settings.llm_prompt_tokens, self._count_tokens)
        model = getattr(generator, "model", generator.name)
        reply = ""
        try:
            for piece in generator.stream(messages):
                reply += piece
                if on_token is not None:
                    on_token(piece)
        except GeneratorError as exc:
            notice = f"{exc}; showing the extractive answer"
            return replace(extractive, generation=Grounding(reply, [], True, notice, model))
        checked = self.checker.check(reply, [h.passage for h in hits[:shown]])
        grounding = Grounding(reply, checked, False, None, model)
        return self.answerer.from_generation(question, hits, grounding, extractive)

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
            "encoder": type(self.embedder).kind or type(self.embedder).__name__,
            "quantized": bool((m.get("encoder") or {}).get("quantized")),
            "chunking": m["chunking"],
            "built_at": m["built_at"],
            "format_version": m["format_version"],
            "skipped": m.get("skipped", []),
            "statements": len(self.book.statements),
            "speakers": len(self.book.speakers()),
        }
