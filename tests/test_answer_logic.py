"""The answer step's rules in milliseconds: the hash fake embedder, hand-made passages.

The real-model answer metrics live in tests/test_quality.py; these pin single rules that a
metric could hide."""

from __future__ import annotations

import numpy as np
import pytest

from newsrag.answering import Answerer
from newsrag.embedding import HashEmbedder
from newsrag.passages import Passage
from newsrag.questions import read_question
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



STORY = ("WASHINGTON — The United States carried out airstrikes in eastern Syria on Thursday, "
         "the Pentagon said.\n\nTwo F-15E jets dropped seven bombs on the site, officials said.")


def _scores(question: str, text: str) -> dict[str, float]:
    embedder = HashEmbedder()
    answerer = Answerer(lambda texts: embedder.encode(list(texts)), 0.05, 2)
    hits = [Hit(0, Passage("s", "Strikes", "2021-02-26", 0, len(text), text), 1.0, 1.0)]
    sentences = answerer._candidates(hits)
    answerer._score(question, embedder.encode([question])[0], hits, sentences,
                    read_question(question), None)
    return {s.text: s.score for s in sentences}


def test_the_story_opening_under_its_dateline_is_ranked_down(monkeypatch):
    import newsrag.answering as answering

    assert answering.DATELINE.match("ERBIL, Iraq — A barrage of rockets struck the airport.")
    assert answering.DATELINE.match("BAGHDAD (Reuters) - Iraq said on Wednesday ...")
    assert not answering.DATELINE.match("US officials said the strikes were limited.")
    question = "Which jets carried out the airstrikes in eastern Syria?"
    penalised, penalty = _scores(question, STORY), answering.DATELINE_PENALTY
    monkeypatch.setattr(answering, "DATELINE_PENALTY", 0.0)
    plain = _scores(question, STORY)
    lead, detail = list(plain)
    assert lead.startswith("WASHINGTON —") and detail.startswith("Two F-15E jets")
    assert penalty > 0 and penalised[lead] == pytest.approx(plain[lead] - penalty)
    assert penalised[detail] == plain[detail]
