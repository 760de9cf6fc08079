"""Query planning: what one question is searched with, and which passages it is answered from.

A question becomes a :class:`QueryPlan` (:meth:`QueryPlanner.plan`): the query that is searched
(a follow-up borrows the names of the question before it; a ``--speaker`` filter not named in
the question is added to it), the rows the speaker and period filters leave, and the question's
reading (the speaker and the period it names itself). :meth:`QueryPlanner.retrieve` then runs
the searches the plan needs and joins their hits (:func:`join_readings`).

Filters and readings differ on purpose: a filter the user set removes passages; a reading of
the question only re-ranks, since a word taken for a speaker or a date may be just a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

from .conversation import earlier_speaker, retrieval_query
from .dates import TimeRange
from .filters import PassageFilters
from .lexicon import COUNTRIES, SENTENCE_OPENERS, common_word
from .questions import ACRONYM, Reading, read_question, without_possessive
from .retrieval import Hit
from .statements import StatementBook

__all__ = ["QueryPlan", "QueryPlanner", "Search", "join_readings", "READING_EXTRA",
           "KEEP_RETRIEVED"]

# Passages a reading of the question (its speaker, its period) may add to the retrieved ones, and
# how many of the retrieved ones always stay.
READING_EXTRA = 2
KEEP_RETRIEVED = 3
# A code typed in lower case ("ps752", "k1", "f-35"): read as its capitals are.
CODE = re.compile(r"[a-z]{1,4}-?\d{1,5}[a-z]?")
FIRST_WORD = re.compile(r"\s*([^\W_][\w'’-]*)")

# A search over the index: (query, k, mode, allowed rows or None) -> hits, best first.
Search = Callable[[str, int, str, "np.ndarray | None"], list[Hit]]


@dataclass(frozen=True, eq=False)
class QueryPlan:
    """How one question is searched (``eq=False``: it holds row arrays)."""

    question: str
    query: str                       # what is searched: the question, maybe with borrowed names
    k: int
    mode: str
    speaker: str | None              # the speaker filter the user set
    period: TimeRange | None         # the period filter the user set
    allowed: np.ndarray | None       # rows those filters leave; None: no filter
    reading: Reading                 # what the question asks for
    speaker_rows: np.ndarray | None  # rows quoting the speaker the question itself names

    @property
    def filtered_out(self) -> bool:
        """Whether the user's filters leave no passage at all (nothing to search)."""
        return self.allowed is not None and len(self.allowed) == 0

    def filter_notice(self) -> str:
        """Why nothing can be found when :attr:`filtered_out`: which filter left nothing."""
        who = f" quoting {self.speaker}" if self.speaker else ""
        when = f" from {self.period.describe()}" if self.period else ""
        return f"No passage{who}{when} is in the index."


def join_readings(hits: list[Hit], extra: Sequence[Hit], k: int) -> list[Hit]:
    """``hits`` with up to :data:`READING_EXTRA` passages of ``extra`` (found by a reading of the
    question) that are not among them; the best :data:`KEEP_RETRIEVED` retrieved ones always
    stay, and the result keeps ``k`` passages when ``hits`` had that many."""
    rows = {h.row for h in hits}
    new = [h for h in dict((h.row, h) for h in extra).values() if h.row not in rows]
    new = new[:READING_EXTRA]
    if not new:
        return hits
    kept = hits[:max(KEEP_RETRIEVED, k - len(new))] + new
    return kept + [h for h in hits if h not in kept][:max(0, k - len(kept))]


class QueryPlanner:
    """Plans and runs the searches for questions over one index."""

    def __init__(self, filters: PassageFilters, book: StatementBook, search: Search,
                 candidates: int, knows: Callable[[str], bool] | None = None,
                 spelling: Callable[[str], str | None] | None = None):
        self.filters = filters
        self.book = book
        self.search = search
        self.candidates = candidates
        # Whether the corpus writes a word; without it no lower-case word is taken for a name
        # for being unknown.
        self.knows = knows
        # How the corpus spells an acronym out ("traumatic brain injuries" for TBI), if it does.
        self.spelling = spelling

    def plan(self, question: str, k: int, mode: str, history: Sequence[str] = (),
             speaker: str | None = None, period: TimeRange | None = None) -> QueryPlan:
        """The plan for a checked ``question``; ``history`` holds the conversation's earlier
        questions, oldest first; ``speaker`` and ``period`` are the user's filters."""
        query = retrieval_query(question, history)
        if speaker and self.book.speaker_named_in(query) is None:
            query = f"{query} ({speaker})"  # "What did he say?" with --speaker Esper
        allowed = self.filters.allowed(speaker, period)
        cased = self.cased(question)
        reading = read_question(cased)
        first = FIRST_WORD.match(cased)
        if first and first.group(1) != question[first.start(1):first.end(1)] \
                and not (reading.asked and without_possessive(first.group(1)) in reading.asked):
            # A name typed first in lower case ("stoltenberg erbil attack 2021"): a question's
            # first word is never taken for a name by its capital, but this capital is ours.
            reading = replace(reading, names=(first.group(1), *reading.names))
        if reading.asked is None and (earlier := earlier_speaker(question, history)) is not None:
            # "What did he say about talks?" after "What did Esper say ...?": Esper's words.
            reading = (replace(reading, speaker=earlier) if reading.kind == "quote"
                       else replace(reading, source=earlier))
        if reading.asked is None and reading.speaker_role:
            # "the defense secretary": the one person the articles quote in that office. Asked
            # for their words ("How did the defense secretary react?"), they are the speaker, as
            # if named; otherwise their account is preferred, as a source's is.
            holder = self.book.speaker_in_role(reading.speaker_role, reading.period)
            reading = (replace(reading, speaker=holder) if reading.kind == "quote"
                       else replace(reading, source=holder))
        if self.spelling is not None:
            # "troops with TBI" finds the passages that only write "traumatic brain injuries".
            spelled = [s for n in reading.names if ACRONYM.fullmatch(n) and len(n) >= 3
                       and self.knows is not None and not self.knows(n)
                       and (s := self.spelling(n)) is not None and s.lower() not in query.lower()]
            query = f"{query} ({'; '.join(spelled)})" if spelled else query
        # The person asked about or named as the source ("..., according to General Milley?"),
        # read from the reading, not the whole question ("Iran" there is no speaker).
        named = (self.book.speaker_named_in(reading.asked)
                 if speaker is None and reading.asked else None)
        if named is None and speaker is None and reading.names:
            # A person the articles quote, named in a question not asking for their words
            # ("IRGC missile count Hajizadeh"): their passages join the candidates too.
            named = self.book.speaker_named_in(" ".join(("_", *reading.names)))
        speaker_rows = self.filters.allowed(named, period) if named is not None else None
        return QueryPlan(question, query, k, mode, speaker, period, allowed, reading,
                         speaker_rows)

    @cached_property
    def _speaker_words(self) -> dict[str, str]:
        """The words of the names of people the articles quote, by their lower-case form."""
        return {w.lower(): w for name, _ in self.book.speakers() for w in name.split()
                if len(w) > 2 and w[:1].isupper()}

    def cased(self, question: str) -> str:
        """A question typed all in lower case, with its names capitalised, so that it is read
        as its capitalised phrasing is (a speaker, a name the answer must cover, a name no
        article knows are all found by their capitals): the people the articles quote and the
        words they only ever write capitalised ("blinken on the erbil strike" -> "Blinken on
        the Erbil strike"), countries ("australia" -> "Australia"), and codes ("ps752")."""
        if question != question.lower():
            return question

        def name(m: re.Match[str]) -> str:
            word = m.group()
            if len(word) > 3 and word[-2:] in ("'s", "’s"):  # "austin's comments"
                return name_of(word[:-2]) + word[-2:]
            return name_of(word)

        def name_of(word: str) -> str:
            if CODE.fullmatch(word):
                return word.upper()
            if word in SENTENCE_OPENERS:  # "some", "after": whatever the corpus capitalises
                return word
            known = self._speaker_words.get(word) or self.book.names.proper.get(word)
            if known is None and (word in COUNTRIES or self._unknown_name(word)):
                known = word.title()
            return known or word

        return re.sub(r"[^\W_][\w'’-]*", name, question)

    def _unknown_name(self, word: str) -> bool:
        """A word no article writes that is no ordinary English word either: a name typed in
        lower case ("lavrov reaction to the strikes"), capitalised so that it is checked as the
        capitalised phrasing's "Lavrov" is, and found in no article."""
        if len(word) <= 4 and sum(c in "aeiouy" for c in word) <= 1:
            return False  # "tbi", "irgc": an acronym, checked by its capitals and spellings
        return (self.knows is not None and len(word) >= 4 and word.isalpha()
                and not self.knows(word) and not common_word(word))

    def retrieve(self, plan: QueryPlan) -> list[Hit]:
        """The passages ``plan`` answers from: the ``k`` retrieved ones, re-ranked by the
        question's reading. Passages quoting the speaker the question names, and passages of the
        period it names, join the candidates (:func:`join_readings`)."""
        hits = self.search(plan.query, plan.k, plan.mode, plan.allowed)
        extra: list[Hit] = []
        if plan.speaker_rows is not None and len(plan.speaker_rows):
            extra += self.search(plan.query, READING_EXTRA, plan.mode, plan.speaker_rows)
        if plan.period is None and plan.reading.period is not None:
            pool = self.search(plan.query, max(plan.k, self.candidates), plan.mode, plan.allowed)
            extra += [h for h in pool
                      if self.filters.in_period(h.row, plan.reading.period)][:READING_EXTRA]
        return join_readings(hits, extra, plan.k)
