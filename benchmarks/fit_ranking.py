"""Fit the answer step's ranking rewards on development data (see newsrag.answering).

For each question of the given sets, the sentences the answer step ranks (those past the
relevance threshold) are collected with their features; a conditional-logit ranker then learns
which one holds the answer (for news sets: every ``must`` fact; for XQuAD: the answer text).
Each set is also left out of the fit in turn, to check the fitted weights carry over. Weights
are printed in units of relevance, as answering.py writes them. Never pass a held-out set.

    python benchmarks/fit_ranking.py --set tests/data/newset --set news_pd --set xquad-dev
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

import newsrag.answering as answering
from newsrag import Index, Settings
from newsrag.embedding import load_embedder
from newsrag.evaluation import evaluate, load_dataset

FEATURES = ["relevance", "overlap", "evidence", "focused", "tight", "off_period", "said", "period",
            "dateline"]


def collect(spec: str, settings: Settings, embedder: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, is-answer) per question of one set, for questions with both kinds."""
    ds = (load_dataset("xquad", split="dev") if spec == "xquad-dev"
          else load_dataset("news") if spec == "news_pd" else load_dataset("news", Path(spec)))
    gold = {q["text"]: q for q in ds.queries}
    current: dict[str, str] = {}
    groups: list[tuple[np.ndarray, np.ndarray]] = []
    ask, covering = Index.ask, answering.Answerer._covering

    def asking(self: Index, question: str, *a: Any, **k: Any) -> Any:
        current["q"] = question
        return ask(self, question, *a, **k)

    def ranking(self: Any, eligible: list[Any], hits: list[Any], reading: Any, *a: Any) -> Any:
        q = gold.get(current.get("q", ""))
        if q is not None and eligible:
            rows, labels = [], []
            for s in eligible:
                text = s.text.lower()
                labels.append(all(any(x.lower() in text for x in g) for g in q["must"])
                              if "must" in q else any(x.lower() in text for x in q["answers"]))
                rows.append([s.relevance, s.overlap, s.evidence and reading.kind in
                             answering.EVIDENCE_KINDS, s.focused, s.tight, s.off_period, s.said,
                             s.in_period, bool(answering.DATELINE.match(s.text))])
            y = np.array(labels, dtype=float)
            if 0 < y.sum() < len(y):
                groups.append((np.array(rows, dtype=float), y))
        return covering(self, eligible, hits, reading, *a)

    Index.ask, answering.Answerer._covering = asking, ranking  # type: ignore[method-assign]
    try:
        evaluate(ds, "hybrid", 10, settings, embedder, work_dir=Path(tempfile.mkdtemp()))
    finally:
        Index.ask, answering.Answerer._covering = ask, covering  # type: ignore[method-assign]
    return groups


def fit(sets: dict[str, list], l2: float = 0.01, steps: int = 3000, rate: float = 0.5) -> np.ndarray:
    """Conditional-logit weights over all groups (every question counts the same)."""
    groups = [g for gs in sets.values() for g in gs]
    w = np.zeros(len(FEATURES))
    w[0] = 1.0
    for _ in range(steps):
        grad = -l2 * w
        for x, y in groups:
            z = x @ w
            p = np.exp(z - z.max())
            grad += x.T @ (y / y.sum() - p / p.sum())
        w += rate * grad / len(groups)
    return w


def top1(groups: list, w: np.ndarray) -> float:
    return float(np.mean([y[int(np.argmax(x @ w))] for x, y in groups])) if groups else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", required=True,
                        help="a news question folder, news_pd or xquad-dev (repeatable)")
    args = parser.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.model)
    sets = {spec: collect(spec, settings, embedder) for spec in args.set}
    current = np.array([1.0, answering.RANK_OVERLAP, answering.EVIDENCE_BONUS,
                        answering.FOCUS_BONUS, answering.TIGHT_BONUS, -answering.PERIOD_CONFLICT,
                        answering.SPEAKER_BONUS, answering.PERIOD_BONUS,
                        -answering.DATELINE_PENALTY])
    for held in sets:
        w = fit({k: v for k, v in sets.items() if k != held})
        print(f"left out {held}: {len(sets[held])} questions, top-1 with the current weights "
              f"{top1(sets[held], current):.3f}, fitted without it {top1(sets[held], w):.3f}")
    w = fit(sets)
    print("fitted on all, in units of relevance:",
          {f: round(float(v / w[0]), 3) for f, v in zip(FEATURES, w)})


if __name__ == "__main__":
    main()
