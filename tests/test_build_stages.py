"""The build's stages, fast layer: plan, embed and assemble on hand-made articles.

No model, no files: the plan is a pure diff, the embed stage runs on the hash fake encoder and
the previous generation is a stand-in holding only what the stages read, so each test runs in
milliseconds. The real-model and on-disk build tests are in test_index.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from newsrag import Settings
from newsrag.articles import Article, CorpusReading
from newsrag.build import (BuildPlan, Embedded, assemble, embed, embedding_text, plan_build,
                           write_output)
from newsrag.embedding import HashEmbedder
from newsrag.errors import NewsragError
from newsrag.passages import Passage, PassageIds, passage_id
from newsrag.store import ModelInfo
from newsrag.vectors import SentenceVectors, text_keys

SETTINGS = Settings(embedder="hash")


def _article(aid: str, text: str, title: str = "Rockets hit a base") -> Article:
    return Article(aid, title, text, date="2020-01-08", path=f"{aid}.txt")


class Paragraphs:
    """A stand-in chunker: one passage per paragraph; counts the articles it splits."""

    def __init__(self) -> None:
        self.split: list[str] = []

    def __call__(self, article: Article) -> list[Passage]:
        self.split.append(article.id)
        out, start = [], 0
        for para in article.text.split("\n\n"):
            out.append(Passage(article.id, article.title, article.date, start, start + len(para),
                               para))
            start += len(para) + 2
        return out


A = _article("a", "Rockets hit the base. Nobody was hurt.\n\nOfficials said more may come.")
B = _article("b", "Talks stalled in Geneva.")
C = _article("c", "Drills ran near Erbil.\n\nResidents stayed calm.")


def _previous(plan: BuildPlan, vectors: np.ndarray | None = None) -> Any:
    """A previous generation made from ``plan``: its manifest's articles and model, passages,
    dense vectors (row i = i * ones) and stored sentence vectors, as the stages read them."""
    embedded = _embedded(plan)
    output = assemble(*_first_build([p.article for p in plan.articles]))
    dense = vectors if vectors is not None else np.arange(len(output.passages), dtype=np.float32
                                                          )[:, None] * np.ones((1, 4), np.float32)
    return SimpleNamespace(
        manifest=SimpleNamespace(articles=output.articles, model=embedded.model),
        passages=output.passages, folder=Path("/nonexistent"),
        dense=SimpleNamespace(vectors=lambda first, count: dense[first:first + count]),
        sentences=lambda: embedded.sentences)


def _first_build(articles: list[Article]) -> tuple[BuildPlan, Embedded, CorpusReading, None,
                                                  Settings]:
    """The arguments of :func:`assemble` for a first build of ``articles``."""
    plan = plan_build(articles, Paragraphs())
    return plan, _embedded(plan), CorpusReading(articles), None, SETTINGS


def _embedded(plan: BuildPlan) -> Embedded:
    """Stand-in vectors for the plan's new passages: row i of them is i * ones."""
    fresh = np.arange(len(plan.to_embed), dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)
    return Embedded(fresh if plan.to_embed else None, None, ModelInfo(name="toy", dim=4,
                    fingerprint="toy-v1"), None, len(plan.to_embed), 0)


def test_first_plan_embeds_every_passage():
    chunk = Paragraphs()
    plan = plan_build([A, B], chunk, sentences=True)
    assert chunk.split == ["a", "b"] and plan.added == ["a.txt", "b.txt"]
    assert plan.unchanged == 0 and plan.removed == [] and plan.removed_ids == []
    assert plan.to_embed == [embedding_text(A, "Rockets hit the base. Nobody was hurt."),
                             embedding_text(A, "Officials said more may come."),
                             embedding_text(B, "Talks stalled in Geneva.")]
    assert plan.to_embed[0].startswith("Rockets hit a base\n")  # the headline gives context
    assert plan.sentence_texts == ["Rockets hit the base.", "Nobody was hurt.",
                                   "Officials said more may come.", "Talks stalled in Geneva."]
    assert plan_build([A, B], chunk).sentence_texts == []  # built without sentence vectors


def test_plan_diffs_against_the_previous_build():
    previous = _previous(plan_build([A, B, C], Paragraphs()))
    edited = _article("b2", "Talks resumed in Geneva.")  # B's text changed: a new article
    moved = _article("c-new-id", C.text)  # C's text under another id
    chunk = Paragraphs()
    plan = plan_build([A, edited, moved], chunk, previous.manifest.articles, previous.passages)
    assert chunk.split == ["b2"]  # only the changed article is chunked...
    assert plan.to_embed == [embedding_text(edited, edited.text)]  # ...and embedded
    assert plan.added == ["b2.txt"] and plan.removed == ["b.txt"] and plan.unchanged == 2
    # The store drops B's rows and C's (its rows come back under the new id); A's stay.
    assert plan.removed_ids == ["b", "c"]
    kept = plan.articles[2]
    assert kept.previous is not None and kept.previous.id == "c"
    assert [p.article_id for p in kept.passages] == ["c-new-id", "c-new-id"]
    assert [p.text for p in kept.passages] == ["Drills ran near Erbil.", "Residents stayed calm."]


def test_plan_is_pure():
    previous = _previous(plan_build([A, B], Paragraphs()))
    args = ([A, C], Paragraphs(), previous.manifest.articles, previous.passages, True)
    first, second = plan_build(*args), plan_build(*args)
    assert first == second
    assert [a.id for a in previous.manifest.articles] == ["a", "b"]


def test_assemble_keeps_row_order_and_carries_vectors_over():
    previous = _previous(plan_build([A, B, C], Paragraphs()))  # rows: a 0-1, b 2, c 3-4
    moved = _article("c-new-id", C.text)
    new = _article("d", "A new article.")
    plan = plan_build([moved, A, new], Paragraphs(), previous.manifest.articles, previous.passages)
    output = assemble(plan, _embedded(plan), CorpusReading([moved, A, new]), previous, SETTINGS)
    assert [(a.id, a.first, a.count) for a in output.articles] == [
        ("c-new-id", 0, 2), ("a", 2, 2), ("d", 4, 1)]
    assert [p.article_id for p in output.passages] == ["c-new-id"] * 2 + ["a"] * 2 + ["d"]
    # Written anew: the moved article's old rows and the new article's embedded row.
    assert sorted(output.fresh) == ["c-new-id", "d"]
    assert output.fresh["c-new-id"][:, 0].tolist() == [3.0, 4.0]
    assert output.all_vectors()[:, 0].tolist() == [3.0, 4.0, 0.0, 1.0, 0.0]
    assert output.removed == ["b", "c"] and not output.full
    assert output.model.fingerprint == "toy-v1"
    # Rows shifted (A's passages were rows 0-1); their stable ids did not.
    assert [p.id for p in output.passages[2:4]] == [p.id for p in previous.passages[0:2]] == [
        "a:0", "a:40"]


def test_passage_ids_map_rows_both_ways():
    passages = assemble(*_first_build([A, B])).passages
    ids = PassageIds(passages)
    assert len(ids) == 3 and ids[0] == passage_id("a", 0) == passages[0].id == "a:0"
    assert ids[1:] == ["a:40", "b:0"] and ids.row_of("b:0") == 2
    with pytest.raises(KeyError):
        ids.row_of("b:1")
    with pytest.raises(NewsragError, match="share an id"):
        PassageIds(passages + passages[:1])


def test_embed_stage_with_the_fake_encoder():
    plan = plan_build([A, B], Paragraphs(), sentences=True)
    chosen: list[HashEmbedder] = []

    def choose() -> tuple[HashEmbedder, None]:
        chosen.append(HashEmbedder())
        return chosen[-1], None

    out = embed(plan, None, choose, SETTINGS)
    assert len(chosen) == 1 and out.model.fingerprint == "hash-v1-64" and out.encoder_dir is None
    assert out.fresh is not None and out.fresh.shape == (3, HashEmbedder.DIM)
    assert np.allclose(out.fresh, HashEmbedder().encode(plan.to_embed))
    assert out.embedded_passages == 3 and out.embedded_sentences == 4
    assert out.sentences is not None and out.sentences.size == 4
    # Passages and sentences go to the encoder in one call.
    assert chosen[0].encoded == 3 + 4


def test_embed_stage_reuses_stored_sentences_and_loads_no_model_when_nothing_is_new():
    plan = plan_build([A, B], Paragraphs(), sentences=True)
    previous = _previous(plan)
    stored = SentenceVectors.build(text_keys(plan.sentence_texts),
                                   HashEmbedder().encode(plan.sentence_texts))
    previous.sentences = lambda: stored
    removal_only = plan_build([A], Paragraphs(), previous.manifest.articles, previous.passages,
                              sentences=True)
    assert removal_only.to_embed == [] and removal_only.removed == ["b.txt"]

    def refuse() -> tuple[HashEmbedder, None]:
        raise AssertionError("no model is needed")

    out = embed(removal_only, previous, refuse, SETTINGS)
    assert out.fresh is None and out.embedded_passages == out.embedded_sentences == 0
    assert out.model == previous.manifest.model and out.encoder_dir is None
    assert out.sentences is not None and out.sentences.size == 3  # A's sentences, from storage


def test_write_output_removes_a_fresh_export_even_when_the_store_fails(tmp_path):
    export = tmp_path / ".export-123"
    export.mkdir()

    class Failing:
        def write(self, output: Any) -> None:
            raise OSError("disk full")

    with pytest.raises(OSError):
        write_output(Failing(), SimpleNamespace(encoder_dir=export))  # type: ignore[arg-type]
    assert not export.exists()


class SpanPooling(HashEmbedder):
    """The fake encoder, with token vectors: a span's vector is the hash vector of its text
    read "in context" (prefixed by the text's first word); the sentences in ``cut`` are
    cut off, as a model's length limit cuts the end of a long passage."""

    def __init__(self, cut: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.cut = cut

    def _encode_spans(self, texts: Any, spans: Any, batch_size: int, progress: bool) -> Any:
        pooled = [[None if t[a:b] in self.cut else self._encode([f"{t.split()[0]}: {t[a:b]}"],
                                                                 1, False)[0]
                   for a, b in own] for t, own in zip(texts, spans)]
        return self._encode(texts, batch_size, progress), pooled


def test_sentence_vectors_are_pooled_from_the_passage_pass_and_the_cut_off_embedded_alone():
    plan = plan_build([A, B], Paragraphs(), sentences=True)
    encoder = SpanPooling(cut=frozenset(["Nobody was hurt."]))

    out = embed(plan, None, lambda: (encoder, None), SETTINGS)
    assert out.sentences is not None and out.sentences.size == 4 and out.embedded_sentences == 4
    assert np.allclose(out.fresh, HashEmbedder().encode(plan.to_embed))
    got = out.sentences.lookup(["Rockets hit the base.", "Nobody was hurt.",
                                "Talks stalled in Geneva."])
    # In context: the passage's pass (each embedding text starts with the headline).
    assert np.allclose(got["Rockets hit the base."],
                       HashEmbedder().encode(["Rockets: Rockets hit the base."])[0])
    assert np.allclose(got["Talks stalled in Geneva."],
                       HashEmbedder().encode(["Rockets: Talks stalled in Geneva."])[0])
    # Cut off: embedded alone, the only sentence that cost a second pass.
    assert np.allclose(got["Nobody was hurt."], HashEmbedder().encode(["Nobody was hurt."])[0])
    assert encoder.encoded == 3 + 1 and out.sentences_alone == 1

    alone = embed(plan, None, lambda: (SpanPooling(), None),
                  SETTINGS.model_copy(update={"pooled_sentences": False}))
    assert alone.sentences is not None
    assert np.allclose(alone.sentences.lookup(["Rockets hit the base."])["Rockets hit the base."],
                       HashEmbedder().encode(["Rockets hit the base."])[0])
