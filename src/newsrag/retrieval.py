"""Retrieval: dense, BM25 and hybrid search over the passages, each behind one small interface.

Hybrid fuses the dense and BM25 rankings by reciprocal rank fusion (RRF): it needs no score
calibration between two very different scales, and a passage ranked high by either method rises.
Every hit also carries its cosine similarity with the query, whatever the mode, so scores shown to
users and the answerer's refusal check mean the same thing in every mode.
"""

from __future__ import annotations

import os
import re
import threading

from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import AbstractSet, Sequence

import numpy as np

from .embedding import CachedEncoder
from .errors import NewsragError
from .lexical import LexicalIndex
from .names import NameTable
from .passages import Passage
from .vectors import DenseIndex

__all__ = ["Hit", "MODES", "Backend", "DenseBackend", "BM25Backend", "HybridBackend",
           "Retriever", "reciprocal_rank_fusion"]

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Hit:
    """A retrieved passage. ``row`` is its position in the loaded index (its FAISS row; it
    shifts between builds), :attr:`id` its stable id; ``score`` is the mode's own score
    (cosine, BM25 or RRF); ``similarity`` is always the cosine with the query."""

    row: int
    passage: Passage
    score: float
    similarity: float

    @property
    def id(self) -> str:
        """The passage's stable id, ``"<article id>:<start offset>"``."""
        return self.passage.id


class Backend(ABC):
    """A ranking of passage rows for a query."""

    name: str

    @abstractmethod
    def rank(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Up to ``k`` (row, score) pairs, best first, from the ``allowed`` rows if given."""


class DenseBackend(Backend):
    name = "dense"

    def __init__(self, encode: CachedEncoder, dense: DenseIndex):
        self.encode, self.dense = encode, dense

    def rank(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        return self.dense.search(self.encode(query), k, allowed)


class BM25Backend(Backend):
    name = "bm25"

    def __init__(self, lexical: LexicalIndex, names: NameTable | None = None):
        self.lexical = lexical
        self.names = names

    def rank(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        # Other spellings of the names asked about: "Erbil" also finds "Irbil".
        if self.names is not None:
            query = self.names.expand(query)
        return self.lexical.search(query, k, allowed)


def reciprocal_rank_fusion(rankings: list[list[tuple[int, float]]], k: int = 60
                           ) -> list[tuple[int, float]]:
    """RRF: score(d) = sum over rankings of 1 / (k + rank of d), ranks from 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (row, _) in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


class HybridBackend(Backend):
    name = "hybrid"

    def __init__(self, dense: Backend, lexical: Backend, rrf_k: int, candidates: int):
        self.dense, self.lexical = dense, lexical
        self.rrf_k, self.candidates = rrf_k, candidates

    def rank(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        depth = max(k, self.candidates)
        # The dense side (mostly embedding the question, which ONNX Runtime does without the
        # GIL) runs beside BM25 (reads and numpy, also mostly without it): a question waits for
        # the longer of the two, not their sum, when a second core is free.
        dense = _side_pool().submit(self.dense.rank, query, depth, allowed)
        lexical = self.lexical.rank(query, depth, allowed)
        fused = reciprocal_rank_fusion([dense.result(), lexical], self.rrf_k)
        return fused[:k]


_SIDE_POOL: ThreadPoolExecutor | None = None
_SIDE_POOL_LOCK = threading.Lock()


def _side_pool() -> ThreadPoolExecutor:
    """The threads hybrid search runs its dense side in, made at first use; a few, so that
    concurrent questions (a server's) do not queue behind one another."""
    global _SIDE_POOL
    with _SIDE_POOL_LOCK:
        if _SIDE_POOL is None:
            _SIDE_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="newsrag-dense")
        return _SIDE_POOL


def _forget_side_pool() -> None:
    """A forked child has none of its parent's threads: it makes its own pool (the parent's,
    counting threads that do not exist there, would never run a task)."""
    global _SIDE_POOL, _SIDE_POOL_LOCK
    _SIDE_POOL, _SIDE_POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_side_pool)


def _spelling_kind(phrase: str) -> bool | None:
    """Whether a run of words spelling an acronym is a name in capitals (True: "Federal Aviation
    Administration", "Syrian Observatory for Human Rights"), words of substance in lower case
    (False: "traumatic brain injuries"), or neither (None: "from the al-Bayader area", "the
    base in")."""
    from .lexical import STOPWORDS

    links = ("of", "the", "for", "and", "on", "in")
    every = phrase.split()
    if any(w.lower() in links or w.lower() in STOPWORDS for w in (every[0], every[-1])):
        return None  # these bear the first and last letters
    words = [w for w in every if w.lower() not in links]
    if all(w[:1].isupper() for w in words):
        return True
    if all(w.islower() and len(w) >= 4 and w not in STOPWORDS and w.isalpha() for w in words):
        return False
    return None


class Retriever:
    """Search over one index's passages in any of :data:`MODES`."""

    def __init__(self, passages: Sequence[Passage], dense: DenseIndex, lexical: LexicalIndex,
                 encode: CachedEncoder, rrf_k: int = 60, candidates: int = 50,
                 names: NameTable | None = None, backends: dict[str, Backend] | None = None):
        self.passages = passages
        self.dense = dense
        self.lexical = lexical
        self.encode = encode
        self.names = names
        dense_backend = DenseBackend(encode, dense)
        bm25_backend = BM25Backend(lexical, names)
        self.backends: dict[str, Backend] = {
            "dense": dense_backend,
            "bm25": bm25_backend,
            "hybrid": HybridBackend(dense_backend, bm25_backend, rrf_k, candidates),
        }
        self.backends.update(backends or {})  # a store's own search (Milvus' hybrid search)
        self._acronyms: dict[str, str] = {}  # acronym -> a passage's spelling of it, or ""

    def search(self, query: str, k: int, mode: str = "hybrid",
               allowed: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best hits; with ``allowed``, only among those rows (a filter)."""
        if mode not in self.backends:
            raise NewsragError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        ranked = self.backends[mode].rank(query, k, allowed)
        rows = [row for row, _ in ranked]
        sims = self.dense.similarity(self.encode(query), rows)
        return [Hit(row, self.passages[row], score, sim)
                for (row, score), sim in zip(ranked, sims)]

    def unknown_terms(self, question: str, initials: AbstractSet[str] = frozenset()) -> list[str]:
        """Names in the question that occur nowhere in the corpus, in any spelling.

        A name ("Macron", "Ukraine International Airlines") or a code ("PS752", "F-35") that no
        passage contains is a strong sign the articles cannot answer. A name counts as known
        when half its distinctive words are in the corpus give or take a letter or two
        ("Maastrich", "Ain al-Assad" for "Al-Asad"), when the alias table joins it to a spelling
        the corpus uses ("Pentagon" for "Defense Department"), or when it is an acronym the
        corpus spells out (``initials``: "VOA"). Plain numbers do not count: years and counts
        are often asked about in words the articles do not use.
        """
        from .questions import ACRONYM, name_found, question_names

        def has(token: str) -> bool:
            return self.lexical.resembles(token)

        unknown = []
        for name in question_names(question):
            group = self.names.group(name) if self.names is not None else None
            if any(name_found(n, has, initials) for n in [name, *(group or [])]):
                continue
            if self.names is not None and " " not in name and self.names.misspelt(name):
                continue  # "Kirbey": the stemmed spellings differ more than the words do
            # An acronym the passages spell out in lower case or mid-text ("traumatic brain
            # injuries" for TBI): a scan, but only for the rare acronym not found otherwise.
            if ACRONYM.fullmatch(name):
                if self.spelling(name):
                    continue
            unknown.append(name)
        return unknown

    def knows_word(self, word: str) -> bool:
        """Whether the corpus writes ``word`` (any of its stems), give or take its spelling."""
        from .lexical import tokenize

        return any(map(self.lexical.resembles, tokenize(word)))

    def unknown_role(self, role: str | None) -> str | None:
        """The word for a role no passage uses ("the pontiff" where the articles say "Pope
        Francis"), as "the pontiff"; None when the corpus knows it or there is no role. A
        speaker asked about by a role nobody writes is not quoted in these articles."""
        from .lexical import tokenize
        from .lexicon import TITLE_WORDS

        words = re.findall(r"[a-z]+", (role or "").lower())
        if not words or not role or not role.split()[-1].islower():
            return None
        head = words[-1]
        if head in TITLE_WORDS:  # "the Pentagon chief": an office, checked as one elsewhere
            return None
        stems = tokenize(head)
        if not stems or all(map(self.lexical.resembles, stems)):
            return None
        # "what did the irgc say": an acronym typed in lower case, known by another spelling
        # ("Islamic Revolutionary Guard Corps"), is no unknown role.
        from .questions import name_found

        group = self.names.group(head.upper()) if self.names is not None else None
        if any(name_found(n, self.lexical.resembles, frozenset()) for n in group or []):
            return None
        return f"the {head}"

    def spelling(self, acronym: str) -> str | None:
        """How some passage spells ``acronym`` out ("traumatic brain injuries" for TBI), or
        None: one scan of every passage text, then remembered (the index does not change; at a
        million passages a scan takes seconds)."""
        from .questions import spelled_out

        known = self._acronyms.get(acronym)
        if known is None:
            pattern = spelled_out(acronym)
            texts = getattr(self.passages, "texts", None)  # a PassageTable reads the file once
            # A name spelled in capitals ("Federal Aviation Administration") before words in
            # lower case ("traumatic brain injuries").
            found: dict[bool, str] = {}
            for text in (texts() if texts is not None else (p.text for p in self.passages)):
                for m in pattern.finditer(text):
                    kind = _spelling_kind(m.group())
                    if kind is not None:
                        found.setdefault(kind, m.group())
                if True in found:
                    break
            known = found.get(True) or found.get(False) or ""
            if len(self._acronyms) >= 1024:
                self._acronyms.clear()
            self._acronyms[acronym] = known
        return known or None
