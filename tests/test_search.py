"""Retrieval: BM25 finds names, numbers and rare words; modes and fusion behave."""

from __future__ import annotations

import numpy as np
import pytest

from newsrag import NewsragError
from newsrag.lexical import LexicalIndex, tokenize
from newsrag.retrieval import reciprocal_rank_fusion


@pytest.mark.parametrize("query,needle", [
    ("FAJR-5", "FAJR-5"), ("Article 51", "Article 51"), ("5:30", "5:30"),
    ("JCPOA", "JCPOA"), ("Kirkuk", "Kirkuk"), ("Tasnim", "Tasnim"),
])
def test_bm25_finds_rare_tokens(seed_index, query, needle):
    hits = seed_index.search(query, k=1, mode="bm25")
    assert hits and needle in hits[0].passage.text


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_modes_find_the_zarif_quote(seed_index, mode):
    hits = seed_index.search("Zarif self-defense Article 51", k=3, mode=mode)
    assert any("Javad Zarif via Twitter" in h.passage.text for h in hits)
    assert all(-1.0 <= h.similarity <= 1.0 for h in hits)


def test_hybrid_ranks_by_both(seed_index):
    hits = seed_index.search("When were the rockets fired at Al-Asad and Irbil?", k=3)
    assert "5:30 PM" in hits[0].passage.text


def test_unknown_mode_is_an_error(seed_index):
    with pytest.raises(NewsragError, match="unknown search mode"):
        seed_index.search("rockets", mode="magic")


def test_tokenizer_keeps_compounds_and_parts():
    assert tokenize("FAJR-5 at 5:30 in Al-Asad") == ["fajr-5", "fajr", "5", "5:30", "5", "30",
                                                    "al-asad", "al", "asad"]


def test_rrf_fuses_rankings():
    fused = reciprocal_rank_fusion([[(1, 0.9), (2, 0.8)], [(2, 5.0), (3, 4.0)]], k=60)
    assert [row for row, _ in fused] == [2, 1, 3]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_a_country_is_known_by_its_people_word():
    from newsrag.lexical import LexicalIndex

    lexical = LexicalIndex.build(["Norwegian and Iraqi officials said the troops were safe."])
    assert lexical.resembles("norway") and lexical.resembles("iraq")
    assert not lexical.resembles("sweden")


@pytest.mark.parametrize("word,text,related", [
    ("french", "The king of France issued the edict.", True),     # irregular, from the table
    ("british", "Britain sent ships.", True),
    ("indian", "India's courts heard the plea.", True),            # the people's word asked
    ("norway", "Norwegian troops were safe.", True),               # the country asked
    ("iraqi", "Iraq's parliament voted.", True),
    ("iran", "Iraqi officials said so.", False),                   # three shared letters only
    ("industry", "India's courts heard the plea.", False),         # not a people's word
    ("sweden", "Norwegian troops were safe.", False),
])
def test_peoples_word_and_country_are_related(word, text, related):
    from newsrag.lexical import demonym_related, tokenize

    vocab = sorted(set(tokenize(text)))
    assert demonym_related(tokenize(word)[0], vocab) is related


def _full_selection(lexical: LexicalIndex, query: str, k: int,
                    allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
    """BM25's top k as it was chosen before: bm25s' scores, an argpartition over every row."""
    tokens = [t for t in tokenize(query) if t in lexical._vocab]
    if not tokens:
        return []
    scores = np.asarray(lexical.bm25.get_scores(tokens), dtype=np.float32)
    if allowed is not None:
        mask = np.zeros(len(scores), dtype=bool)
        mask[allowed] = True
        scores = np.where(mask, scores, 0.0).astype(np.float32)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


@pytest.mark.parametrize("repeats", [True, False])
def test_bm25_top_k_is_the_full_selections_ties_and_all(repeats):
    """BM25 selects among the rows that can make its top k, and leaves a tie among the best to
    the full selection: the same rows, scores and order as before, with and without a filter,
    on texts that repeat (every score tied with others) and texts that do not."""
    rng = np.random.default_rng(3)
    words = ("iran rockets base erbil strike missile troops drone attack statement pentagon "
             "baghdad embassy convoy airport").split()
    if repeats:
        texts = [" ".join(rng.choice(words[:6], int(rng.integers(1, 4)))) for _ in range(300)]
    else:
        texts = [" ".join(rng.choice(words, int(rng.integers(3, 12)))) + f" n{i}"
                 for i in range(300)]
    lexical = LexicalIndex.build(texts)
    allowed = np.sort(rng.choice(len(texts), 120, replace=False))
    for query in ("iran rockets", "erbil strike missile", "the drone attack on the convoy",
                  "rockets rockets base", "nothing here", "statement"):
        for k in (1, 3, 10, 50, 400):
            for rows in (None, allowed):
                assert lexical.search(query, k, rows) == _full_selection(lexical, query, k, rows)


def test_bm25_searches_from_many_threads_score_as_one_at_a_time():
    """BM25 lends its score arrays to one query at a time: concurrent searches (a server's
    threads) get what sequential ones get."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(5)
    words = "iran rockets base erbil strike missile troops drone attack statement".split()
    lexical = LexicalIndex.build([" ".join(rng.choice(words, int(rng.integers(2, 9))))
                                  for _ in range(20000)])
    queries = [" ".join(rng.choice(words, 3)) for _ in range(60)]
    expected = [lexical.search(q, 20) for q in queries]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda q: lexical.search(q, 20), queries * 4)) == expected * 4
