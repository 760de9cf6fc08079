"""The answer step's rules in milliseconds: the hash fake embedder, hand-made passages.

The real-model answer metrics live in tests/test_quality.py; these pin single rules that a
metric could hide."""

from __future__ import annotations

import numpy as np

from newsrag.answering import Answerer
from newsrag.embedding import HashEmbedder
from newsrag.passages import Passage
from newsrag.retrieval import Hit

TRANSCRIPT = ("Q: Will the troops with brain injuries be eligible for the Purple Heart?\n\n"
              "SECRETARY ESPER: The Army will review each case on its merits and decide.\n\n"
              "Q: How much will it cost to repair the damaged hangars at the base?\n\n"
              "SECRETARY ESPER: I am not going to put a figure on that today.")


def _answer(question: str, text: str = TRANSCRIPT, threshold: float = 0.05):
    embedder = HashEmbedder()
    answerer = Answerer(lambda texts: embedder.encode(list(texts)), threshold, 2)
    passage = Passage("t", "Briefing", "2020-01-30", 0, len(text), text)
    hit = Hit(0, passage, 1.0, 1.0)
    vector = embedder.encode([question])[0]
    return answerer.answer(question, np.asarray(vector), [hit], [])


def test_an_interviewers_question_is_never_the_answer_but_leads_to_it():
    answer = _answer("Will the troops with brain injuries be eligible for the Purple Heart?")
    assert answer.answered
    assert "Will the troops" not in answer.answer
    assert "The Army will review each case" in answer.answer


def test_a_figure_asked_for_but_declined_is_refused():
    # The question line restates the question; what follows it holds no figure.
    answer = _answer("How much will it cost to repair the damaged hangars at the base?")
    assert not answer.answered
