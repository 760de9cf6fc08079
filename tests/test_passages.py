"""Passages: token-sized, offsets exact, never cut inside a sentence, quotes kept whole."""

from __future__ import annotations

import re

import pytest

from newsrag.articles import read_article_file, read_corpus
from newsrag.passages import Chunker, split_sentences

from conftest import CORPUS, SEED_A


@pytest.fixture(scope="module")
def chunker(settings) -> Chunker:
    return Chunker(**settings.chunking())


@pytest.fixture(scope="module")
def articles():
    return read_corpus(CORPUS).articles


def test_offsets_round_trip(chunker, articles):
    for art in articles:
        for p in chunker.split(art):
            assert art.text[p.start:p.end] == p.text
            assert p.article_id == art.id and p.title == art.title and p.date == art.date


def test_passages_cover_the_article_in_order(chunker, articles):
    for art in articles:
        passages = chunker.split(art)
        assert passages[0].start == 0 and passages[-1].end == len(art.text)
        for a, b in zip(passages, passages[1:]):
            assert a.start < b.start and b.start <= a.end + 2  # overlap or the paragraph gap


def test_no_passage_starts_or_ends_inside_a_sentence(chunker, articles):
    for art in articles:
        bounds = split_sentences(art.text)
        starts, ends = {s for s, _ in bounds}, {e for _, e in bounds}
        for p in chunker.split(art):
            assert p.start in starts, art.text[p.start:p.start + 40]
            assert p.end in ends, art.text[p.end - 40:p.end]


def test_sizes_in_tokens(chunker, articles, settings):
    sizes = [chunker.count_tokens(p.text) for a in articles for p in chunker.split(a)]
    assert max(sizes) <= settings.chunk_max_tokens + 10  # paragraph gaps add a token or two
    assert sum(sizes) / len(sizes) >= 90


def test_quotation_stays_with_its_attribution(chunker):
    [art] = read_article_file(CORPUS / SEED_A)
    passages = chunker.split(art)
    for quote, who in [
        ("The great nation of Iran will take revenge", "Hassan Rouhani via Twitter, January 3, 2020"),
        ("We do not seek escalation or war", "Javad Zarif via Twitter, January 7, 2020"),
        ("All is well!", "US President Donald Trump via Twitter, January 7, 2020"),
        ("We are open to sitting down with them", "Mark Esper, January 6, 2020"),
        ("He was planning attacks on American forces", "Secretary of Defense Dr. Mark T. Esper, January 6, 2020"),
    ]:
        holding = [p for p in passages if quote in p.text]
        assert holding and all(who in p.text for p in holding), quote
    # The lead-in "...stated to the press," travels with the quotation it introduces.
    lead = [p for p in passages if "stated to the press," in p.text][0]
    assert "How – how do you expect us not to respond" in lead.text


def test_sentence_splitter_keeps_abbreviations_and_initials():
    text = "Secretary of Defense Dr. Mark T. Esper spoke. U.S. forces were hit at 5:30 p.m. Nobody died."
    got = [text[s:e] for s, e in split_sentences(text)]
    assert got == ["Secretary of Defense Dr. Mark T. Esper spoke.",
                   "U.S. forces were hit at 5:30 p.m.", "Nobody died."]


def test_a_clock_time_with_its_time_zone_or_weekday_stays_in_its_sentence():
    text = ("The strikes came at about 6 p.m. Eastern Standard Time, just after 1 a.m. Friday "
            "local time. It ended at 7 p.m. Officials said so.")
    got = [text[s:e] for s, e in split_sentences(text)]
    assert got == ["The strikes came at about 6 p.m. Eastern Standard Time, just after 1 a.m. "
                   "Friday local time.", "It ended at 7 p.m.", "Officials said so."]


def test_long_unbreakable_sentence_becomes_its_own_passage(settings):
    from newsrag.articles import Article

    long_sentence = " ".join(["word"] * 400) + "."
    text = f"Short opening sentence here.\n\n{long_sentence}\n\nShort closing sentence here."
    art = Article(id="x", title="t", text=text)
    passages = Chunker(**settings.chunking()).split(art)
    assert any(p.text == long_sentence for p in passages)
    assert all(re.search(r"[.]$", p.text) for p in passages)
