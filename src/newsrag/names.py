"""Names and their spellings: one person or place, however the articles (or the user) spell it.

News copy spells names several ways, even inside one article (Qassem/Qasem Soleimani, Rouhani and
"Rouhai", Austin and "Austim", Irbil/Erbil). Two sources of variants, joined into groups:

- the corpus itself: capitalised words that are one or two letters apart (same first letter, at
  least five letters, never a word that also occurs in lower case) are taken for one name;
- a small alias table kept as data (``data/aliases.json``, or the file the ``aliases`` setting
  names) for what fuzzy matching cannot see: other first letters (Irbil/Erbil), dropped words
  (Al-Asad/Ain al-Asad), transliterations.

The table is built with the index and saved in it. Retrieval adds a question's variants to the
BM25 query, so "Erbil" finds passages that say "Irbil"; statements group speakers under one name.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import NewsragError
from .lexical import closest_spelling, typo_budget
from .lexicon import TITLE_ABBREVIATIONS, TITLE_WORDS

__all__ = ["NameTable", "load_aliases", "name_key"]

# A capitalised word, possibly hyphenated or with an apostrophe ("Al-Asad", "O'Brien").
CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:[-'’][A-Za-z]+)*\b")
MIN_FUZZY_LENGTH = 5
MIN_PROPER_LENGTH = 3
MISSPELT_CACHE = 4096


def name_key(text: str) -> str:
    """A comparison key: lower case, punctuation as spaces, initials dropped."""
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return " ".join(w for w in text.split() if len(w) > 1)


@lru_cache(maxsize=4)
def _read_aliases(path: str | None) -> tuple[tuple[str, ...], ...]:
    try:
        if path is None:
            raw = resources.files("newsrag").joinpath("data/aliases.json").read_text("utf-8")
        else:
            raw = Path(path).read_text(encoding="utf-8")
        data = json.loads(raw)
        groups = data["groups"] if isinstance(data, dict) else data
        if not all(isinstance(g, list) and all(isinstance(n, str) for n in g) for g in groups):
            raise ValueError("each group must be a list of names")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NewsragError(f"cannot read the alias table {path or 'data/aliases.json'}: {exc}") from None
    return tuple(tuple(g) for g in groups if g)


def load_aliases(path: str | Path | None = None) -> list[list[str]]:
    """The alias groups: the bundled table, or the JSON file at ``path`` (same shape)."""
    return [list(g) for g in _read_aliases(str(path) if path else None)]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _later_words(key: str) -> list[str]:
    """The words of a name that tell one person from another: all but the first of several."""
    words = key.split()
    return words[1:] if len(words) > 1 else words


def _untitled(words: list[str]) -> list[str]:
    """A name's words without the titles before it ("col marotto" -> "marotto")."""
    while words and (words[0].strip(".") in TITLE_WORDS
                     or words[0].strip(".") in TITLE_ABBREVIATIONS):
        words = words[1:]
    return words


@dataclass
class NameTable:
    """Groups of spellings; the first of each group is the one shown."""

    groups: list[list[str]] = field(default_factory=list)
    # Words the corpus writes only capitalised ("Erbil", "Stoltenberg"), as they are written,
    # by their lower-case form: a question typed in lower case is read with its names
    # capitalised (see newsrag.planning). Empty for indexes built before it was kept.
    proper: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._group_of: dict[str, int] = {}
        # Each spelling's key by its first word: a query is checked against the spellings that
        # can occur in it, not against every spelling of the table (its words are few).
        self._by_first_word: dict[str, list[tuple[int, str]]] = {}
        for i, group in enumerate(self.groups):
            for name in group:
                key = name_key(name)
                self._group_of.setdefault(key, i)
                if key:
                    self._by_first_word.setdefault(key.split()[0], []).append((i, key))
        self._keys = sorted(k for k in self._group_of if " " not in k)
        self._proper_words = sorted(self.proper)
        # A scan of the corpus's names, once per word typed; bounded, since the words come from
        # questions, which a server takes without end.
        self._misspelt: dict[str, str | None] = {}

    # ---- building ------------------------------------------------------------------------
    @classmethod
    def build(cls, texts: Iterable[str], aliases: list[list[str]]) -> "NameTable":
        """Groups from the corpus's capitalised words plus the alias table."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        counts: Counter[str] = Counter()
        lower: set[str] = set()
        for text in texts:
            counts.update(re.sub(r"'s$", "", m.group().replace("’", "'"))
                          for m in CAPITALISED.finditer(text))
            lower.update(re.findall(r"\b[a-z][a-z'’-]{2,}\b", text))
        proper = {w.lower(): w for w, _ in counts.most_common()[::-1]
                  if len(w) >= MIN_PROPER_LENGTH and w.lower() not in lower}
        words = sorted(w for w in counts if len(w) >= MIN_FUZZY_LENGTH and w.lower() not in lower)
        uf = _UnionFind()
        by_initial: dict[str, list[str]] = {}
        for w in words:
            by_initial.setdefault(w[0], []).append(w)
        for bucket in by_initial.values():
            if len(bucket) < 2:
                continue
            matrix = process.cdist(bucket, bucket, scorer=Levenshtein.distance, score_cutoff=2,
                                   workers=-1)
            for i, j in zip(*np.nonzero(np.triu(matrix <= 2, k=1))):
                a, b = bucket[i], bucket[j]
                if matrix[i][j] <= min(typo_budget(a), typo_budget(b)) and a[:3] == b[:3]:
                    uf.union(a, b)
        clusters: dict[str, list[str]] = {}
        for w in words:
            clusters.setdefault(uf.find(w), []).append(w)
        groups = [sorted(c, key=lambda w: (-counts[w], w)) for c in clusters.values() if len(c) > 1]
        # An alias group absorbs fuzzy groups that share a spelling with it.
        merged: list[list[str]] = []
        fuzzy_by_key = {name_key(w): g for g in groups for w in g}
        used: set[int] = set()
        for alias in aliases:
            group = list(alias)
            for name in alias:
                for word in name.split():
                    g = fuzzy_by_key.get(name_key(word))
                    if g is not None and id(g) not in used and name_key(word) == name_key(name):
                        used.add(id(g))
                        group += [w for w in g if w not in group]
            merged.append(group)
        merged += [g for g in groups if id(g) not in used]
        return cls(merged, proper)

    # ---- persisting ----------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"groups": self.groups, "proper": self.proper},
                                   ensure_ascii=False, indent=0), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "NameTable":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["groups"], data.get("proper") or {})

    # ---- using ---------------------------------------------------------------------------
    def group(self, name: str) -> list[str] | None:
        """The spellings of ``name`` (exact, or one or two letters off a known one-word name)."""
        key = name_key(name)
        if key in self._group_of:
            return self.groups[self._group_of[key]]
        if " " in key or len(key) < MIN_FUZZY_LENGTH:
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        match = process.extractOne(key, self._keys, scorer=Levenshtein.distance,
                                   score_cutoff=typo_budget(key))
        if match is None or match[0][:1] != key[:1]:
            return None
        return self.groups[self._group_of[match[0]]]

    def canonical(self, name: str) -> str:
        """The name as shown: the first spelling of its group, else the name itself."""
        group = self.group(name)
        return group[0] if group else name

    def misspelt(self, word: str) -> str | None:
        """The name the corpus writes that ``word``, which it never writes, is a letter or two
        off ("Kirbey" -> "Kirby", "Marrotto" -> "Marotto"; same first letter, five letters or
        more). A word the corpus writes is no misspelling ("Miller" is not "Milley")."""
        low = word.lower()
        if low in self.proper or not self._proper_words:
            return None
        if low not in self._misspelt:
            if len(self._misspelt) >= MISSPELT_CACHE:
                self._misspelt.clear()
            match = closest_spelling(low, self._proper_words)
            self._misspelt[low] = (self.proper[match] if match is not None and match[:1] == low[:1]
                                   else None)
        return self._misspelt[low]

    def same(self, a: str, b: str) -> bool:
        """Whether two spellings name the same thing ("Austim" and "Lloyd Austin" do: a word of
        one is a spelling of a word of the other, or the whole names share a group)."""
        ga, gb = self.group(a), self.group(b)
        if ga is not None and ga is gb:
            return True
        key_a, key_b = name_key(a), name_key(b)
        ka, kb = _untitled(key_a.split()), _untitled(key_b.split())
        if len(ka) >= 2 and len(kb) >= 2 and min(len(ka[0]), len(kb[0])) > 2 \
                and ka[0][0] != kb[0][0] and ka[0] not in kb and kb[0] not in ka:
            # Two first names, not even sharing an initial: "Nechirvan Barzani" (the region's
            # president) is not "Masrour Barzani" (its prime minister). "Mike" and "Michael",
            # "Qassem" and "Qasem" may still be one person.
            return False
        # A first name shared is no person shared ("Ali Rabiei" is not "Ali Khamenei"): a name
        # of several words is known by its later words.
        words_a = [w for w in _later_words(key_a) if len(w) > 2]
        words_b = [w for w in _later_words(key_b) if len(w) > 2]
        for wa in words_a:
            for wb in words_b:
                if wa == wb:
                    return True
                g = self.group(wa)
                if g is not None and g is self.group(wb):
                    return True
                if any((m := self.misspelt(x)) is not None and m.lower() == y
                       for x, y in ((wa, wb), (wb, wa))):
                    return True  # "Marrotto" typed for the "Marotto" the articles quote
        return False

    def expand(self, query: str) -> str:
        """``query`` plus the other spellings of the names in it, for lexical search."""
        found: list[str] = []
        seen: set[int] = set()
        lowered = f" {name_key(query)} "
        for word in set(lowered.split()):
            seen.update(i for i, key in self._by_first_word.get(word, ()) if f" {key} " in lowered)
        for word in re.findall(r"[A-Za-z][\w'’-]+", query):
            if word[0].isupper():
                g = self.group(word)
                if g is not None:
                    seen.add(self.groups.index(g))
        for i in sorted(seen):
            found += [n for n in self.groups[i] if f" {name_key(n)} " not in lowered]
        return f"{query} {' '.join(found)}" if found else query
