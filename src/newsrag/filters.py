"""What the passages of an index can be filtered by, and what its articles contain.

Two read-only views over a loaded index, each built lazily on first use and then shared by every
question (an :class:`~newsrag.index.Index` is shared between threads; a lost race only computes
the same table twice):

- :class:`PassageFilters` places each passage row in time (its article's date, the dates it
  writes, the dates of the statements it carries) and turns a speaker or period filter into the
  rows it leaves, as the array a retriever's ``allowed`` takes.
- :class:`ArticleNames` knows which names each article contains, in any spelling, and the
  acronyms the corpus spells out: the answerer's check that an answer's source covers the names
  the question uses, and the retriever's check for names no article knows.

They live apart from :class:`~newsrag.index.Index` so that the facade only wires stages, and so
that a store whose rows are not FAISS rows has one place to adapt.
"""

from __future__ import annotations

from datetime import date as Date, timedelta
from typing import Sequence

import numpy as np

from .dates import YEAR, TimeRange, passage_dates, reference_date
from .names import NameTable
from .passages import Passage
from .questions import NameCoverage, initials_of
from .statements import StatementBook
from .store import ArticleMeta, PassageDates, article_fields, article_position, article_rows

# How long after a period a report may still recap it without writing its date: the report of
# 10 February tells of the attack of 8 January as "Iran's attack"; a story of February 2021
# does not tell of "2019" or "January 2020" unless it writes that date (it would answer a
# question about 2019 with its own 2021 attack).
REPORT_LAG = timedelta(days=92)

__all__ = ["PassageFilters", "ArticleNames", "AllowedRows"]


class AllowedRows(np.ndarray):
    """The rows a speaker or period filter leaves (an ``int64`` array, used as any other), tagged
    with the filter that chose them, so that a store that filters by itself (Milvus) can send the
    filter as its own expression instead of the list of rows."""

    speaker: str | None = None
    period: TimeRange | None = None

    @classmethod
    def of(cls, rows: np.ndarray, speaker: str | None, period: TimeRange | None
           ) -> "AllowedRows":
        tagged = np.asarray(rows, dtype=np.int64).view(cls)
        tagged.speaker, tagged.period = speaker, period
        return tagged

# Articles whose dates and names are kept once worked out for a question (then forgotten all at
# once): enough for any conversation, bounded for a million passages.
ARTICLE_CACHE = 4096


class PassageFilters:
    """Speaker and period filters over one index's passage rows."""

    def __init__(self, articles: Sequence[ArticleMeta], passages: Sequence[Passage],
                 book: StatementBook):
        self.articles = articles
        self.passages = passages
        self.book = book
        self._row_dates: list[frozenset[str]] | None = None
        self._row_years: list[frozenset[int]] | None = None
        # Row by row, for the few rows a question's candidates hold (no scan of every passage).
        self._article_dates: dict[int, list[frozenset[str]]] = {}
        # An undated article's reference date by its position, worked out once (every
        # candidate sentence of its passages asks for it).
        self._article_refs: dict[int, str | None] = {}
        self._statement_dates: dict[int, set[str]] | None = None
        # The dates a build stored for every row (a PassageTable's), None for an older
        # generation or a plain list of passages: then they are worked out from the texts.
        self._stored: PassageDates | None = getattr(passages, "dates", None)
        firsts, counts = article_rows(articles)
        self._order = np.flatnonzero(counts > 0)[np.argsort(firsts[counts > 0], kind="stable")]
        self._firsts = firsts[self._order]

    def row_dates(self) -> list[frozenset[str]]:
        """Per passage row, the dates it can be placed at: its article's date, dates written in
        it (a date without a year takes the article's date, else the latest full date the same
        article writes), and the dates of the statements it carries. Built on first use."""
        if self._row_dates is None:
            passages = self.passages
            dates: list[set[str]] = [set() for _ in passages]
            for a in self.articles:
                rows = range(a.first, a.first + a.count)
                found = passage_dates(a.date, [passages[r].text for r in rows])
                for r, d in zip(rows, found):
                    dates[r].update(d)
            for i, st in enumerate(self.book.statements):
                if st.date:
                    for r in self.book.rows_of([i]):
                        dates[r].add(st.date)
            self._row_dates = [frozenset(d) for d in dates]
        return self._row_dates

    def _years(self) -> list[frozenset[int]]:
        """Per passage row, the years it writes ("in 2021")."""
        if self._row_years is None:
            self._row_years = [frozenset(int(y) for y in YEAR.findall(p.text))
                               for p in self.passages]
        return self._row_years

    def dates_of(self, row: int) -> frozenset[str]:
        """``row_dates()[row]``: read from the dates the build stored, or worked out for that
        row's article alone when the generation has none and the whole table has not been built
        (a question's candidates need a few rows, not a million)."""
        if self._row_dates is not None:
            return self._row_dates[row]
        if self._stored is not None:
            stored = self._stored.of(row)
            also = self._said_dates().get(row)
            return stored | also if also else stored
        key, a = self._article_at(row)
        own: frozenset[str] = frozenset()
        if a is not None:
            rows = self._article_dates.get(key)
            if rows is None:
                if len(self._article_dates) >= ARTICLE_CACHE:
                    self._article_dates.clear()
                rows = self._article_dates[key] = self._dates_of_article(a)
            own = rows[row - a.first]
        said = self._said_dates().get(row)
        return own | said if said else own

    def _article_at(self, row: int) -> tuple[int, ArticleMeta | None]:
        """The position and metadata of the article holding ``row`` (None for no article)."""
        i = int(np.searchsorted(self._firsts, row, side="right")) - 1
        key = int(self._order[i]) if i >= 0 else -1
        a = self.articles[key] if key >= 0 else None
        return (key, a) if a is not None and row < a.first + a.count else (-1, None)

    def _reference_date(self, key: int, a: ArticleMeta) -> str | None:
        """The date an article is placed at (see :func:`newsrag.dates.reference_date`),
        remembered by the article's position."""
        if key not in self._article_refs:
            if len(self._article_refs) >= ARTICLE_CACHE:
                self._article_refs.clear()
            texts = [p.text for p in self.passages[a.first:a.first + a.count]]
            self._article_refs[key] = reference_date(a.date, texts)
        return self._article_refs[key]

    def _dates_of_article(self, a: ArticleMeta) -> list[frozenset[str]]:
        """:meth:`row_dates` for one article's rows, before the statements' dates."""
        return passage_dates(a.date, [p.text for p in self.passages[a.first:a.first + a.count]])

    def _said_dates(self) -> dict[int, set[str]]:
        """Per row carrying dated statements, their dates."""
        if self._statement_dates is None:
            dates: dict[int, set[str]] = {}
            for i, st in enumerate(self.book.statements):
                if st.date:
                    for r in self.book.rows_of([i]):
                        dates.setdefault(r, set()).add(st.date)
            self._statement_dates = dates
        return self._statement_dates

    def years_of(self, row: int) -> frozenset[int]:
        """``_years()[row]``, read from that row alone when the whole table has not been built."""
        if self._row_years is not None:
            return self._row_years[row]
        return frozenset(int(y) for y in YEAR.findall(self.passages[row].text))

    def in_period(self, row: int, period: TimeRange) -> bool:
        """A passage belongs to a period if one of its dates does, or it names a year of it."""
        if any(map(period.contains, self.dates_of(row))):
            return True
        return any(period.overlaps_year(y) for y in self.years_of(row))

    def not_out_of_period(self, row: int, period: TimeRange) -> bool:
        """Whether a passage may belong to a period: it does, or nothing dates it at all (an
        undated article that writes no date or year cannot be placed outside it)."""
        if self.in_period(row, period):
            return True
        return not self.dates_of(row) and not self.years_of(row)

    def reports_on(self, row: int, period: TimeRange) -> bool:
        """Whether a passage may tell of a period: it may belong to it, or its article was
        reported after the period began and no later than REPORT_LAG after it ended (a report of
        30 January recaps the attack of 8 January without writing its date). An article dated
        before the period cannot tell of it."""
        if self.not_out_of_period(row, period):
            return True
        date = self.passages[row].date
        if date is None:
            # An undated article is placed by the latest date it writes; one that writes none
            # may tell of the period if any of its passages may: "the 2014 invitation" in one
            # paragraph does not place the story of the vote in 2014.
            key, a = self._article_at(row)
            if a is None:
                return False
            date = self._reference_date(key, a)
            if date is None:
                return any(self.not_out_of_period(r, period)
                           for r in range(a.first, a.first + a.count))
        if period.since is not None and date < period.since:
            return False
        return period.until is None or Date.fromisoformat(date[:10]) <= \
            Date.fromisoformat(period.until[:10]) + REPORT_LAG

    def allowed(self, speaker: str | None, period: TimeRange | None) -> np.ndarray | None:
        """Rows a speaker or period filter leaves, or None for no filter."""
        rows: set[int] | None = None
        if speaker:
            rows = self.book.rows_of(self.book.select(speaker, period))
        if period is not None:
            if self._row_dates is None and self._stored is not None:
                # The build's column, and the statements' dates: no passage is read.
                dated = set(self._stored.rows_in(period).tolist())
                dated |= {r for r, ds in self._said_dates().items()
                          if any(map(period.contains, ds))}
            else:
                dated = {r for r, ds in enumerate(self.row_dates())
                         if any(map(period.contains, ds))}
            rows = dated if rows is None else rows & dated
        if rows is None:
            return None
        return AllowedRows.of(np.fromiter(sorted(rows), dtype=np.int64), speaker, period)


class ArticleNames:
    """The names each article contains, for checking that an answer's article covers the names
    its question uses, and the acronyms the corpus spells out."""

    def __init__(self, articles: Sequence[ArticleMeta], passages: Sequence[Passage],
                 names: NameTable | None):
        self.articles = articles
        self._position = article_position(articles)
        self.passages = passages
        self.names = names
        self._coverages: dict[str, NameCoverage] = {}
        self._initials: frozenset[str] | None = None

    def coverage(self, article_id: str) -> NameCoverage:
        """The names an article contains: its title, source, author and every passage."""
        coverage = self._coverages.get(article_id)
        if coverage is None:
            i = self._position(article_id)
            if i is None:
                raise KeyError(article_id)
            a = self.articles[i]
            texts = [a.title or "", a.source or "", a.author or ""]
            texts += [p.text for p in self.passages[a.first:a.first + a.count]]
            coverage = NameCoverage("\n".join(texts))
            if len(self._coverages) >= ARTICLE_CACHE:  # bounded: a million passages' articles
                self._coverages.clear()
            self._coverages[article_id] = coverage
        return coverage

    def covers(self, article_id: str, name: str) -> bool:
        """Whether the article contains ``name`` in any of its spellings (the name table's)."""
        group = self.names.group(name) if self.names is not None else None
        return any(self.coverage(article_id).covers(n) for n in [name, *(group or [])])

    def initials(self) -> frozenset[str]:
        """Acronyms the articles' titles, sources and authors spell out ("Voice of America")."""
        if self._initials is None:
            self._initials = frozenset().union(*(
                initials_of(" \n".join(f or "" for f in fields))
                for fields in article_fields(self.articles, "title", "source", "author")))
        return self._initials
