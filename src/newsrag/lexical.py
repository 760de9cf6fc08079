"""The lexical (BM25) index: finds names, numbers and rare words the embedding can miss.

Scoring is ``bm25s``. Tokenising is ours because the default word pattern drops what news
questions hinge on: "FAJR-5" would become "fajr", "5:30" would become "30". Here a compound
token is kept whole *and* split into its parts, then stemmed (PyStemmer) unless it holds a digit.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["LexicalIndex", "tokenize", "STOPWORDS", "typo_budget", "closest_spelling",
           "demonym_related"]

TOKEN = re.compile(r"\w+(?:[-:.'’]\w+)*")
# bm25s' English list plus question words, so "What did Esper say?" scores on "Esper".
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with what who whom whose which when where why how did do "
    "does say said says about tell me i you he she we his her its our your s t".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


# How the people's word for a country ends, after stemming: "norwegian", "iraqi", "swedish".
DEMONYM_END = re.compile(r"(?:ian|ean|an|ese|ish|i)s?$")


def looks_like_demonym(word: str) -> bool:
    """Whether a lower-case word ends as a people's word does ("iranian", "danish")."""
    return len(word) > 4 and DEMONYM_END.search(word) is not None


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """A word's stem (a word holding a digit is kept as it is); remembered, since a few words
    make most of any text (the answerer tokenises every candidate sentence of a question)."""
    return word if any(c.isdigit() for c in word) else _stemmer().stemWord(word)


def _fold(word: str) -> str:
    """Without accents: "maizière" -> "maiziere"."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def typo_budget(word: str) -> int:
    """Edits one spelling of a word may be from another: one, two from eight letters on."""
    return 1 if len(word) < 8 else 2


def closest_spelling(token: str, words: Sequence[str]) -> str | None:
    """The word of ``words`` within :func:`typo_budget` edits of ``token`` (of five letters or
    more: shorter words differ in meaning by one letter), or None."""
    if len(token) < 5:
        return None
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    match = process.extractOne(token, words, scorer=Levenshtein.distance,
                               score_cutoff=typo_budget(token))
    return None if match is None else match[0]


def demonym_related(token: str, vocab: Sequence[str]) -> bool:
    """Whether sorted stemmed ``vocab`` holds the country of a people's word, or the people's
    word of a country: "norway"/"norwegian", "iraq"/"iraqi", "india"/"indian", "china"/
    "chinese" share all but the country's last two letters, and the other ends as demonyms do;
    the few that share less ("French"/"France") come from
    :data:`newsrag.lexicon.IRREGULAR_DEMONYMS`."""
    from .lexicon import IRREGULAR_DEMONYMS

    if len(token) < 4:
        return False
    irregular = IRREGULAR_DEMONYMS.get(token)
    if irregular is not None:
        i = bisect.bisect_left(vocab, irregular)
        return i < len(vocab) and vocab[i] == irregular
    i = bisect.bisect_left(vocab, token[:3])
    while i < len(vocab) and vocab[i].startswith(token[:3]):
        word = vocab[i]
        i += 1
        if word == token:
            continue
        country, people = (token, word) if len(word) > len(token) else (word, token)
        if not DEMONYM_END.search(people):
            continue
        shared = len(os.path.commonprefix([country, people]))
        if shared >= max(4, len(country) - 2):
            return True
    return False


COMPOUND_PARTS = re.compile(r"[-:.']")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed tokens; compounds ("fajr-5", "al-asad", "5:30") also as their parts."""
    return list(_tokens(text))


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    """:func:`tokenize`'s tokens, remembered for the texts seen last (the same passages'
    sentences come back question after question)."""
    out: list[str] = []
    words = _WORD_TOKENS
    for word in TOKEN.findall(text.lower()):
        tokens = words.get(word)
        if tokens is None:
            tokens = _word_tokens(word)
            if len(words) >= WORD_CACHE:
                words.clear()
            words[word] = tokens
        out += tokens
    return tuple(out)


# A word's tokens by its lower-cased spelling: a question's candidate sentences and an article's
# names are tokenised anew for every question, and a few thousand words make most of any text.
WORD_CACHE = 1 << 16
_WORD_TOKENS: dict[str, tuple[str, ...]] = {}


def _word_tokens(word: str) -> tuple[str, ...]:
    """The tokens of one lower-cased word of :data:`TOKEN`: itself and, for a compound, its
    parts; stemmed, without stopwords."""
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    parts = COMPOUND_PARTS.split(word)
    return tuple(_stem(w) for w in ([word] if len(parts) == 1 else [word, *parts])
                 if w and w not in STOPWORDS)


class LexicalIndex:
    """BM25 over passage texts; row ``i`` is passage ``i``, as in the dense index."""

    def __init__(self, bm25: Any, size: int) -> None:
        self.bm25 = bm25
        self.size = size
        self._vocab = set(bm25.vocab_dict)
        self._vocab_list = sorted(self._vocab)
        self._folded = {_fold(t) for t in self._vocab}

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index([tokenize(t) or [""] for t in texts], show_progress=False)
        return cls(bm25, len(texts))

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder))
        (folder / "size.json").write_text(json.dumps({"size": self.size}))

    @classmethod
    def load(cls, folder: Path, on_disk: bool = False) -> "LexicalIndex":
        """The saved index; ``on_disk``: its score matrix left on disk, a query reading only its
        tokens' columns (:class:`~newsrag.vectors.NpyOnDisk`), which is what a loaded index
        does: a million passages' scores (800 MB) stay out of the process. bm25s scores them
        with its own code, the same sums; it only ever slices these two arrays."""
        import bm25s

        from .vectors import NpyOnDisk

        size = json.loads((folder / "size.json").read_text())["size"]
        bm25 = bm25s.BM25.load(str(folder), mmap=on_disk)
        if on_disk:
            for name in ("data", "indices"):
                bm25.scores[name] = NpyOnDisk.open(folder / f"{name}.csc.index.npy")
            bm25.scores["indptr"] = np.array(bm25.scores["indptr"])  # one entry per word
        return cls(bm25, size)

    def resembles(self, token: str) -> bool:
        """Whether a word occurs in the corpus, give or take its spelling: accents
        ("Maiziere"/"Maizière"), one or two letters ("Maastrich", "Rouhai"), or written as one
        word ("Superbowl"/"Super Bowl"). Used so a misspelt name is not taken for an unknown one.
        """
        if token in self._vocab or _fold(token) in self._folded:
            return True
        if any(token[:i] in self._vocab and token[i:] in self._vocab for i in range(2, len(token) - 1)):
            return True
        if closest_spelling(token, self._vocab_list) is not None:
            return True
        return self.demonym_of(token)

    def demonym_of(self, token: str) -> bool:
        """Whether the corpus has the people's word for a country the question names: "Norway"
        asked, "Norwegian" written; "Iraq"/"Iraqi", "Ukraine"/"Ukrainians" (see
        :func:`demonym_related`)."""
        return demonym_related(token, self._vocab_list)

    def search(self, query: str, k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top ``k`` rows with a positive BM25 score, best first; only ``allowed`` rows if given.

        Selected among the rows that can make the top ``k`` (:meth:`_contenders`), not among
        every row: at a million passages a full selection was half of BM25's time. Where the
        best scores hold a tie, the order among the tied rows is the one a full
        ``argpartition`` gives (:meth:`_ranked`), so hits, and the answers fused from them,
        stay what they were."""
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or self.size == 0:
            return []
        scores, columns = self._scores(tokens)
        try:
            mask = None
            if allowed is not None:
                mask = np.zeros(len(scores), dtype=bool)
                mask[np.asarray(allowed, dtype=np.int64)] = True
            rows = self._contenders(scores, columns, k, mask)
            top = distinct_top(rows, scores[rows], k)
            if top is None:
                top = self._ranked(scores, k, mask)
            return [(int(i), float(scores[i])) for i in top]
        finally:
            _SCRATCH.give(scores)

    @staticmethod
    def _ranked(scores: np.ndarray, k: int, mask: np.ndarray | None) -> np.ndarray:
        """The top ``k`` positive rows by a selection over every row: the order ties have
        always had (``argpartition``'s, then a stable sort)."""
        if mask is not None:
            scores = np.where(mask, scores, 0.0).astype(np.float32)
        k = min(k, len(scores))
        negated = np.negative(scores, out=_SCRATCH.take(len(scores), scores.dtype, False))
        top = np.argpartition(negated, k - 1)[:k]
        _SCRATCH.give(negated)
        top = top[np.argsort(-scores[top], kind="stable")]
        return top[scores[top] > 0]

    def _scores(self, tokens: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Every row's BM25 score for the query ``tokens``, and the rows each distinct token
        occurs in, rarest first (none when bm25s computed the scores itself).

        The sums are bm25s' own (``_compute_relevance_from_scores``: each token's column added
        with ``np.add.at`` in query order, in the index's dtype), so the scores are the same to
        the bit. An index whose scores need more than the columns' sums (a non-occurrence term:
        BM25L, BM25+) is left to bm25s."""
        bm25 = self.bm25
        data, indices = bm25.scores["data"], bm25.scores["indices"]
        dtype = np.dtype(bm25.dtype)
        if getattr(bm25, "nonoccurrence_array", None) is not None or data.dtype != dtype:
            return np.asarray(bm25.get_scores(tokens), dtype=np.float32), []
        indptr = bm25.scores["indptr"]
        scores = _SCRATCH.take(int(bm25.scores["num_docs"]), dtype, True)
        columns: dict[str, np.ndarray] = {}
        for token in tokens:
            word = bm25.vocab_dict[token]
            start, end = int(indptr[word]), int(indptr[word + 1])
            rows = np.asarray(indices[start:end])
            np.add.at(scores, rows, data[start:end])
            columns[token] = rows
        return (scores.astype(np.float32, copy=False),
                sorted(columns.values(), key=len))

    @staticmethod
    def _contenders(scores: np.ndarray, columns: list[np.ndarray], k: int,
                    mask: np.ndarray | None) -> np.ndarray:
        """The rows (ascending; only those ``mask`` allows, if given) that may be among the
        ``k`` best positive ``scores``: those
        scoring at least the ``k``-th best of the rarest tokens' rows. A lower bound on the
        ``k``-th best score over all rows, it leaves a few hundred rows to select from instead
        of every row a common word occurs in (most of a million, for a question's "patients")."""
        floor = 0.0
        seen: list[np.ndarray] = []
        total = 0
        for rows in columns:
            seen.append(rows)
            total += len(rows)
            if total >= 2 * k:
                some = np.unique(np.concatenate(seen))
                if mask is not None:
                    some = some[mask[some]]
                if len(some) >= k:
                    values = scores[some]
                    floor = float(np.partition(values, len(values) - k)[len(values) - k])
                    break
        rows = np.flatnonzero(scores >= floor) if floor > 0.0 else np.flatnonzero(scores > 0)
        return rows if mask is None else rows[mask[rows]]


class _Scratch:
    """Score-sized arrays lent to one query at a time and given back, a few kept for the next:
    a fresh million-row array costs its page faults on every query (3 ms of BM25's 10 at a
    million passages on the busy machine), clearing a kept one a tenth of that. At most
    :attr:`KEEP` are kept, however many threads search (a server's), so the memory stays
    bounded (4 bytes a passage each)."""

    KEEP = 4

    def __init__(self) -> None:
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()

    def take(self, size: int, dtype: np.dtype, zeroed: bool) -> np.ndarray:
        """An array of ``size`` and ``dtype``, all zeros if ``zeroed``."""
        array = None
        with self._lock:
            for i, kept in enumerate(self._free):
                if len(kept) == size and kept.dtype == dtype:
                    array = self._free.pop(i)
                    break
        if array is None:
            return np.zeros(size, dtype=dtype)
        if zeroed:
            array.fill(0)
        return array

    def give(self, array: np.ndarray) -> None:
        """``array`` back, no longer used by its query (kept if there is room; arrays of
        another size, an index loaded before, make way)."""
        with self._lock:
            self._free = [a for a in self._free if len(a) == len(array)]
            if len(self._free) < self.KEEP:
                self._free.append(array)


_SCRATCH = _Scratch()


def distinct_top(rows: np.ndarray, values: np.ndarray, k: int) -> np.ndarray | None:
    """The ``k`` of ``rows`` with the highest ``values``, best first; None where two of them
    score the same or one ties with the best row left out, since the order of equal scores is
    then a matter of how the rows are selected."""
    if len(rows) > k:
        if k <= 0:
            return rows[:0]
        kth = np.partition(values, len(values) - k)[len(values) - k]
        keep = values >= kth
        if int(np.count_nonzero(keep)) != k:
            return None
        rows, values = rows[keep], values[keep]
    order = np.argsort(-values, kind="stable")
    ranked = values[order]
    if len(ranked) > 1 and bool(np.any(ranked[1:] == ranked[:-1])):
        return None
    return rows[order]
