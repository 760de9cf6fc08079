"""A generated answer, start to finish, fast layer: :mod:`newsrag.generation` on its own.

No model and no index: two hand-made passages, the hash fake encoder for the grounding check and
toy generators. The real-model and real-endpoint runs are in test_generation.py and
test_llm_hardening.py.
"""

from __future__ import annotations

import copy
from typing import Iterator

import pytest

from newsrag import Settings
from newsrag.answering import Answer, Citation
from newsrag.embedding import HashEmbedder
from newsrag.generation import (CheckedSentence, GeneratedAnswerer, Generator, GeneratorError,
                                Grounding, OpenAICompatibleGenerator, choose_generator,
                                grounded_answer)
from newsrag.passages import Passage
from newsrag.retrieval import Hit

FIRST = "Rockets struck the Al-Asad airbase in western Iraq on Tuesday night."
SECOND = "The Pentagon said no American troops were hurt in the attack."
PASSAGES = [Passage("a", "Rockets hit Al-Asad", "2020-01-08", 0, len(FIRST), FIRST),
            Passage("b", "No casualties", "2020-01-08", 0, len(SECOND), SECOND)]
HITS = [Hit(i, p, 1.0 - i / 10, 0.9 - i / 10) for i, p in enumerate(PASSAGES)]
SETTINGS = Settings(embedder="hash")


def _extractive(answered: bool = True) -> Answer:
    citations = [Citation(i + 1, p.article_id, p.title, p.date, p.text, p.start, p.end, 0.9,
                          i == 0) for i, p in enumerate(PASSAGES)]
    return Answer("Where did the rockets hit?", f"{FIRST} [1]" if answered else "no", answered,
                  citations, 0.8, "" if answered else "refused", "Where did the rockets hit?")


class Scripted(Generator):
    """A toy generator: streams ``reply`` in two pieces, or raises ``error``; counts its calls."""

    name = "scripted"

    def __init__(self, reply: str = "", error: str | None = None):
        self.reply, self.error, self.calls = reply, error, 0

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        self.calls += 1
        half = len(self.reply) // 2
        yield self.reply[:half]
        if self.error:
            raise GeneratorError(self.error)
        yield self.reply[half:]


@pytest.fixture
def answerer() -> GeneratedAnswerer:
    return GeneratedAnswerer(SETTINGS, HashEmbedder().encode)


def test_grounded_answer_does_not_change_the_grounding_it_is_given():
    """The fallback's flag and notice go on a copy (``from_generation`` used to set them on the
    checker's own Grounding)."""
    rejected = Grounding("Made up. [1]", [CheckedSentence("Made up.", False, "too short", 0.0,
                                                          [1], None)], model="m")
    before = copy.deepcopy(rejected)
    answer = grounded_answer("q", HITS, rejected, _extractive())
    assert rejected == before and not rejected.fallback and rejected.notice is None
    assert answer.generation is not rejected and answer.generation.fallback
    assert "extractive answer" in answer.generation.notice and answer.answer == f"{FIRST} [1]"

    kept = Grounding(f"{SECOND} [2]", [CheckedSentence(SECOND, True, "supported by [2]", 0.9,
                                                       [2], 2, (0, len(SECOND)))], model="m")
    before = copy.deepcopy(kept)
    answer = grounded_answer("q", HITS, kept, _extractive())
    assert kept == before and answer.generation is kept
    assert answer.generated and answer.answer == f"{SECOND} [2]"
    assert [c.used for c in answer.citations] == [False, True]
    assert answer.citations[1].highlights == [(0, len(SECOND))]


def test_choose_generator():
    mine = Scripted()
    assert choose_generator(mine, SETTINGS) is mine
    assert choose_generator(False, SETTINGS) is None
    assert choose_generator(None, SETTINGS) is None  # the setting: extractive
    assert isinstance(choose_generator(True, SETTINGS), OpenAICompatibleGenerator)
    assert isinstance(choose_generator(None, SETTINGS.model_copy(update={"generator": "openai"})),
                      OpenAICompatibleGenerator)


def test_a_supported_reply_is_the_answer_and_streams(answerer):
    tokens: list[str] = []
    answer = answerer.answer("Where did the rockets hit?", HITS, _extractive(),
                             Scripted(f"{FIRST} [1]"), tokens.append)
    assert answer.generated and answer.answer == f"{FIRST} [1]", answer.generation
    assert "".join(tokens) == f"{FIRST} [1]" and len(tokens) == 2
    assert answer.generation.model == "scripted" and not answer.generation.fallback


def test_an_unsupported_reply_gives_the_extractive_answer(answerer):
    extractive = _extractive()
    answer = answerer.answer("q", HITS, extractive,
                             Scripted("Iran launched 50 drones at Baghdad from Tabriz. [1]"))
    assert not answer.generated and answer.answer == extractive.answer
    assert answer.generation.fallback and answer.generation.sentences


def test_a_failing_endpoint_gives_the_extractive_answer_with_a_notice(answerer):
    answer = answerer.answer("q", HITS, _extractive(), Scripted(f"{FIRST} [1]", error="boom"))
    assert not answer.generated and answer.generation.fallback
    assert answer.generation.notice == "boom; showing the extractive answer"
    assert answer.generation.raw == FIRST[: len(f"{FIRST} [1]") // 2]  # what came before


def test_a_refusal_is_never_handed_to_a_model(answerer):
    generator = Scripted(f"{FIRST} [1]")
    refusal = _extractive(answered=False)
    assert answerer.answer("q", HITS, refusal, generator) is refusal and generator.calls == 0
