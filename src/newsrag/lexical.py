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
    for m in TOKEN.finditer(text.lower()):
        word = m.group().replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        parts = COMPOUND_PARTS.split(word)
        for w in ([word] if len(parts) == 1 else [word, *parts]):
            if w and w not in STOPWORDS:
                out.append(_stem(w))
    return tuple(out)


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
        """Top ``k`` rows with a positive BM25 score, best first; only ``allowed`` rows if given."""
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or self.size == 0:
            return []
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        if allowed is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[np.asarray(allowed, dtype=np.int64)] = True
            scores = np.where(mask, scores, 0.0).astype(np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
