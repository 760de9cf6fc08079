"""Passages read from disk as they are asked for (:class:`newsrag.store.PassageTable`).

A loaded index holds no passage text: ``passages.jsonl`` is memory-mapped, ``passages.rows.npy``
(line offsets, starts, ends) too, and a passage is parsed when a search returns it. These tests
check that this gives exactly the passages the old reader (every line parsed at load) gave, that
loading and searching do not read every passage, and that a generation written before
``passages.rows.npy`` still loads and answers the same. Fast layer: the ``hash`` fake encoder.
"""

from __future__ import annotations

import gc
import json
import re
from pathlib import Path

import numpy as np
import pytest

from newsrag import Index, Settings
from newsrag.lexical import LexicalIndex, tokenize
from newsrag.passages import Passage
from newsrag.vectors import NpyOnDisk
from newsrag.filters import PassageFilters
from newsrag.store import (
    BM25,
    PASSAGE_DATE_ROWS,
    PASSAGE_DATES,
    PASSAGE_ROWS,
    PASSAGES,
    IndexStore,
    PassageTable,
    _canonical_sha256,
    _line_offsets,
    load_passages,
    passage_span,
)

QUESTIONS = ["Which airbases did the rockets hit in January?", "What did Zarif say?",
             "Who was killed in the strike?"]


@pytest.fixture
def hash_index(corpus: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    Index.build(corpus, folder, Settings(embedder="hash"))
    return folder


def _old_reader(gen: Path) -> list[Passage]:
    manifest = IndexStore(gen.parent).read_manifest(gen)
    return load_passages(gen / PASSAGES, {a.id: a for a in manifest.articles})


def test_table_gives_the_passages_the_old_reader_gave(hash_index):
    gen = IndexStore(hash_index).current()
    manifest = IndexStore(hash_index).read_manifest(gen)
    table = PassageTable.open(gen, manifest.articles)
    old = _old_reader(gen)
    assert len(table) == len(old) > 2
    assert list(table) == old
    assert list(table.texts()) == [p.text for p in old]
    assert [table[i] for i in range(len(old))] == old
    assert table[1:3] == old[1:3] and table[-1] == old[-1]
    assert [table.span(i) for i in range(len(old))] == [(p.start, p.end) for p in old]
    assert [passage_span(old, i) for i in range(len(old))] == [(p.start, p.end) for p in old]
    for a in manifest.articles:
        assert all(table.article_of(r).id == a.id for r in range(a.first, a.first + a.count))
    with pytest.raises(IndexError):
        table[len(old)]
    rows = np.load(gen / PASSAGE_ROWS)
    assert rows.shape == (len(old), 3) and rows.dtype == np.int64


def test_loading_reads_no_passage_and_a_search_reads_its_hits_only(hash_index, monkeypatch):
    read: list[int] = []
    original = PassageTable._line

    def counting(self, row):
        read.append(row)
        return original(self, row)

    monkeypatch.setattr(PassageTable, "_line", counting)
    gc.collect()
    before = sum(isinstance(o, Passage) for o in gc.get_objects())
    index = Index.load(hash_index, Settings(embedder="hash"))
    assert isinstance(index.retriever.passages, PassageTable)
    assert read == []  # no line parsed at load
    assert sum(isinstance(o, Passage) for o in gc.get_objects()) == before
    hits = index.search("rockets airbase", k=2)
    assert hits and sorted(set(read)) == sorted(h.row for h in hits)


def _without_rows_file(folder: Path, *names: str) -> None:
    """Make the live generation look written by a newsrag from before passages.rows.npy (or
    before the files ``names``)."""
    gen = IndexStore(folder).current()
    path = gen / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("checksum")
    for name in names or (PASSAGE_ROWS,):
        (gen / name).unlink()
        del data["files"][name]
    data["checksum"] = _canonical_sha256(data)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def test_a_generation_without_the_rows_file_loads_and_answers_the_same(hash_index, tmp_path):
    settings = Settings(embedder="hash")
    new = Index.load(hash_index, settings)
    expected = [new.ask(q).to_dict() for q in QUESTIONS]
    hits = [[(h.row, h.passage, h.score) for h in new.search(q)] for q in QUESTIONS]
    _without_rows_file(hash_index)
    old = Index.load(hash_index, settings)
    assert old.retriever.passages._spans is None  # type: ignore[attr-defined]
    assert [old.ask(q).to_dict() for q in QUESTIONS] == expected
    assert [[(h.row, h.passage, h.score) for h in old.search(q)] for q in QUESTIONS] == hits
    gen = IndexStore(hash_index).current()
    assert list(old.retriever.passages) == _old_reader(gen)


def test_line_offsets_of_a_jsonl_file(tmp_path):
    path = tmp_path / "lines.jsonl"
    for data, offsets in [(b"", []), (b'{"a": 1}\n', [0]),
                          ('{"t": "é"}\n{"t": "ab"}\n{"t": ""}'.encode(), [0, 12, 24])]:
        path.write_bytes(data)
        assert _line_offsets(path).tolist() == offsets


def test_an_empty_passage_file(tmp_path):
    (tmp_path / PASSAGES).write_bytes(b"")
    table = PassageTable.open(tmp_path, [])
    assert len(table) == 0 and list(table) == []


def test_bm25_scores_left_on_disk_score_as_loaded_in_memory(hash_index):
    folder = IndexStore(hash_index).current() / BM25
    on_disk, loaded = LexicalIndex.load(folder, on_disk=True), LexicalIndex.load(folder)
    assert isinstance(on_disk.bm25.scores["data"], NpyOnDisk)
    for q in QUESTIONS + ["Erbil", "nothing matches zzz"]:
        assert on_disk.search(q, 50) == loaded.search(q, 50)
        tokens = [t for t in tokenize(q) if t in loaded._vocab]
        if tokens:
            assert np.array_equal(on_disk.bm25.get_scores(tokens), loaded.bm25.get_scores(tokens))


def test_npy_on_disk_reads_as_the_array(tmp_path):
    for array in (np.arange(10, dtype=np.int32), np.arange(24, dtype=np.float32).reshape(6, 4),
                  np.zeros((0, 3), dtype=np.float32)):
        np.save(tmp_path / "a.npy", array)
        disk = NpyOnDisk(tmp_path / "a.npy")
        assert disk.shape == array.shape and disk.dtype == array.dtype and len(disk) == len(array)
        assert np.array_equal(np.asarray(disk), array)
        for key in (slice(1, 4), slice(None), slice(4, 1), slice(0, None, 2)):
            assert np.array_equal(disk[key], array[key])
        if len(array):
            rows = np.array([3, 0, -1, 3])
            assert np.array_equal(disk[rows], array[rows]) and np.array_equal(disk[-1], array[-1])
            # Rows read in runs of consecutive ones: unsorted, repeated, runs and gaps.
            runs = np.array([4, 5, 1, 2, 3, 5, 0, 2, 2, 3])
            assert np.array_equal(disk[runs], array[runs])
            assert np.array_equal(disk[np.arange(len(array))], array)
            with pytest.raises(IndexError):
                disk[len(array)]
    (tmp_path / "b.npy").write_bytes((tmp_path / "a.npy").read_bytes())
    np.save(tmp_path / "c.npy", np.arange(100, dtype=np.int64))
    (tmp_path / "c.npy").write_bytes((tmp_path / "c.npy").read_bytes()[:-8])
    with pytest.raises(ValueError, match="truncated"):
        NpyOnDisk(tmp_path / "c.npy")


def test_period_checks_work_out_the_rows_asked_only(hash_index):
    index = Index.load(hash_index, Settings(embedder="hash"))
    filters = index.filters
    rows = range(len(index.retriever.passages))
    lazy = [filters.dates_of(r) for r in reversed(rows)][::-1]
    years = [filters.years_of(r) for r in rows]
    assert filters._row_dates is None and filters._row_years is None  # no table of every row
    assert any(lazy) and any(years)
    assert lazy == filters.row_dates() and years == filters._years()
    assert any(filters._said_dates().values())  # statements' dates count too


def test_manifest_articles_are_read_into_columns_equal_to_the_written_ones(hash_index):
    from newsrag.store import (ArticleMeta, ArticleTable, article_fields, article_position,
                               article_rows)

    store = IndexStore(hash_index)
    gen = store.current()
    data = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    written = [ArticleMeta.model_validate(a) for a in data["articles"]]
    manifest = store.read_manifest(gen)
    assert isinstance(manifest.articles, ArticleTable)
    assert manifest.articles == written and list(manifest.articles) == written
    assert manifest.articles[-1] == written[-1] and manifest.articles[0:1] == written[0:1]
    assert [article_position(manifest.articles)(a.id) for a in written] == list(range(len(written)))
    assert manifest.articles.position("no such article") is None
    assert article_position(written)(written[-1].id) == len(written) - 1
    fields = ("title", "date", "source", "author")
    assert list(article_fields(manifest.articles, *fields)) == list(article_fields(written, *fields))
    assert list(article_fields(written, "id")) == [(a.id,) for a in written]
    firsts, counts = article_rows(manifest.articles)
    assert firsts.tolist() == [a.first for a in written]
    assert counts.tolist() == [a.count for a in written]
    dumped = manifest.model_dump(mode="json")
    assert dumped["articles"] == data["articles"]
    # A damaged article is named as before: its position and field.
    data["articles"][1]["first"] = -1
    data.pop("checksum")
    from newsrag.store import _canonical_sha256 as sha

    data["checksum"] = sha({k: v for k, v in data.items() if k != "checksum"})
    (gen / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    from newsrag.errors import IndexCorruptError

    with pytest.raises(IndexCorruptError, match=r"articles\.1\.first"):
        store.read_manifest(gen)


def test_an_acronym_scan_reads_every_text_once_then_is_remembered(hash_index, monkeypatch):
    from newsrag.lexical import STOPWORDS

    index = Index.load(hash_index, Settings(embedder="hash"))
    passages = index.retriever.passages
    assert isinstance(passages, PassageTable)
    scans = []
    original = PassageTable.texts

    def counting(self):
        scans.append(1)
        return original(self)

    monkeypatch.setattr(PassageTable, "texts", counting)
    text = " ".join(p.text for p in passages)
    # Three words of substance in a row, in lower case: a spelling Retriever.spelling accepts.
    runs = re.finditer(r"\b([a-z]{4,}) ([a-z]{4,}) ([a-z]{4,})\b", text)
    m = next(r for r in runs if not set(r.groups()) & STOPWORDS)
    known = "".join(w[0] for w in m.groups()).upper()
    assert index.retriever.spelling(known) is not None
    assert index.retriever.spelling("QXZ") is None
    assert index.retriever.spelling(known) is not None
    assert len(scans) == 2  # one per acronym


PERIODS = [("2020-01-05", "2020-01-10"), ("2020-01", None), (None, "2020-01-07"), ("2021", "2021"),
           ("2020-01-08", "2020-01-08")]


def test_stored_dates_are_the_dates_the_texts_give(hash_index):
    """The dates a build stores per passage (passages.dates.npy) are those worked out from the
    passages' texts, and a period filter over them leaves the same rows, reading no passage."""
    index = Index.load(hash_index, Settings(embedder="hash"))
    filters = index.filters
    assert filters._stored is not None
    rows = range(len(index.retriever.passages))
    from_texts = PassageFilters(index.typed_manifest.articles, list(index.retriever.passages),
                                index.book)
    assert from_texts._stored is None
    assert [filters.dates_of(r) for r in rows] == from_texts.row_dates()
    assert any(from_texts.row_dates())
    from newsrag.dates import between

    for since, until in PERIODS:
        period = between(since, until)
        assert list(filters.allowed(None, period)) == list(from_texts.allowed(None, period))
    assert filters._row_dates is None  # no passage was dated from its text


def test_a_generation_without_stored_dates_loads_and_answers_the_same(hash_index):
    settings = Settings(embedder="hash")
    new = Index.load(hash_index, settings)
    expected = [new.ask(q, since=a, until=b).to_dict() for q in QUESTIONS for a, b in PERIODS]
    hits = [[(h.row, h.score) for h in new.search(q, since=a, until=b)]
            for q in QUESTIONS for a, b in PERIODS]
    plain = [new.ask(q).to_dict() for q in QUESTIONS]
    assert any(hits) and not all(hits)
    _without_rows_file(hash_index, PASSAGE_DATES, PASSAGE_DATE_ROWS)
    old = Index.load(hash_index, settings)
    assert old.filters._stored is None
    assert [old.ask(q, since=a, until=b).to_dict() for q in QUESTIONS
            for a, b in PERIODS] == expected
    assert [[(h.row, h.score) for h in old.search(q, since=a, until=b)]
            for q in QUESTIONS for a, b in PERIODS] == hits
    assert [old.ask(q).to_dict() for q in QUESTIONS] == plain
