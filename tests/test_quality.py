"""Answer quality on questions nobody tuned for, asserted as rates.

- ``tests/data/newset``: six articles and 78 questions (three phrasings each) written blind, before
  the answer step was changed; the honest measure of generalisation in the repository.
- ``bench/news_pd`` (beside the project): public-domain articles with questions, the development
  set the answer step's constants were fitted on.
- The regression check: the seed questions score the same with the news_pd articles beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsrag import NewsragError
from newsrag.evaluation import evaluate, find_data_dir, load_dataset

NEWSET = Path(__file__).parent / "data" / "newset"
try:
    BENCH = find_data_dir()
except NewsragError:
    BENCH = None
needs_bench = pytest.mark.skipif(BENCH is None, reason="../shared/bench not beside the project")

# Floors a little under the figures measured when they were set (closing note of issue 10). The
# blind set is far from the goal (90%): these floors keep what was gained, no more.
# Before the work on issue 10: newset 62.6% correct, 38.9% refused, 51% agreement; news_pd
# 36.7% correct, 90% refused. Second round (rarity-weighted words, focus beside the answer, role
# questions): newset 73.2% / 61.1% / 59.0%, news_pd 80.0% / 90%. Third round (ranking rewards
# fitted on dev data, interviewer questions as context, roles and sources read): newset 76.8% /
# 61.1% / 59.0%, news_pd 86.7% / 90%. Fourth round (sentence vectors pooled in their passage,
# names that are the thing asked for, the story's opening ranked down): newset 83.8% / 58.3% /
# 70.5%, news_pd 90% / 90%. Fifth round (offices, units, demonyms, lead-ins, who is quoted):
# newset 88.9% / 83.3% / 79.5%, news_pd 90% / 90%.
NEWSET_CORRECT, NEWSET_REFUSED, NEWSET_AGREEMENT = 0.85, 0.75, 0.75
NEWS_PD_CORRECT, NEWS_PD_REFUSED = 0.85, 0.85
# Seed questions with news_pd beside them: 80% correct before issue 10, 83% after (alone: 100%).
# Some of the difference is other articles answering correctly but being counted wrong, since a
# seed question must cite its seed article.
SEED_DROP_ALLOWED = 0.2


def _report(name: str, result: dict) -> None:
    print(f"\n{name}: " + json.dumps({k: v for k, v in result.items()
                                     if k not in ("misses", "answered_unanswerable")}))
    for miss in result["misses"]:
        print(f"  wrong: {miss['question']!r} -> {miss['answer'][:140]!r}")
    for miss in result["answered_unanswerable"]:
        print(f"  not refused: {miss['question']!r} -> {miss['answer'][:140]!r}")


def test_blind_question_set(settings, embedder, tmp_path):
    result = evaluate(load_dataset("news", NEWSET), "hybrid", 10, settings, embedder,
                      work_dir=tmp_path)
    _report("newset", result)
    assert result["documents"] == 6 and result["questions"] == 66 * 3
    assert result["correct_rate"] >= NEWSET_CORRECT
    assert result["refusal_recall"] >= NEWSET_REFUSED
    assert result["phrasing_agreement"] >= NEWSET_AGREEMENT


@needs_bench
def test_news_pd_development_set(settings, embedder, tmp_path):
    result = evaluate(load_dataset("news"), "hybrid", 10, settings, embedder, work_dir=tmp_path)
    _report("news_pd", result)
    assert result["documents"] == 11
    assert result["correct_rate"] >= NEWS_PD_CORRECT
    assert result["refusal_recall"] >= NEWS_PD_REFUSED


@needs_bench
def test_seed_answers_survive_added_articles(settings, embedder, tmp_path):
    """Adding real articles must not break the seed questions' answers."""
    alone = evaluate(load_dataset("own"), "hybrid", 10, settings, embedder,
                     work_dir=tmp_path / "alone")
    added = evaluate(load_dataset("own", extra_dir=BENCH / "news_pd"), "hybrid", 10, settings,
                     embedder, work_dir=tmp_path / "added")
    _report("own", alone)
    _report("own + news_pd", added)
    assert added["documents"] == alone["documents"] + 11
    assert added["correct_rate"] >= alone["correct_rate"] - SEED_DROP_ALLOWED
    assert added["refusal_recall"] >= alone["refusal_recall"] - 0.1
