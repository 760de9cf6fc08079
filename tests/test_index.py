"""The index: incremental builds, atomic swaps under SIGKILL, the build lock, and refusing to load
an index made by another model, other chunking, another format, or damaged on disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsrag import (BuildLockedError, Index, IndexCorruptError, IndexMismatchError,
                     IndexMissingError, Settings)
from newsrag.store import IndexStore
from newsrag.vectors import passage_sentences

from conftest import SEED_A, SEED_B

NEW_ARTICLE = """Drills Near Erbil Draw Fresh Warnings

date 2021-03-20 Kurdish officials in Erbil said on Saturday that air-defence drills would run for three days near the airport.

The drills follow the February rocket strikes that killed a civilian contractor, the officials said, and are meant to reassure residents.
"""


def _write_new(corpus: Path, name: str = "new_article.txt") -> Path:
    path = corpus / name
    path.write_text(NEW_ARTICLE, encoding="utf-8")
    return path


def test_build_then_load(corpus, tmp_path, settings, embedder):
    idx = Index.build(corpus, tmp_path / "index", settings, embedder=embedder)
    report = idx.build_report
    assert (report.articles, len(report.added), report.unchanged) == (2, 2, 0)
    assert report.passages == report.embedded_passages == len(idx.retriever.passages)
    again = Index.load(tmp_path / "index", settings, embedder)
    assert again.info()["passages"] == report.passages
    assert again.info()["index_type"] == "flat"
    assert again.info()["model"] == "all-MiniLM-L6-v2"


def test_incremental_add_embeds_only_the_new_article(corpus, tmp_path, settings, embedder):
    index_dir = tmp_path / "index"
    first = Index.build(corpus, index_dir, settings, embedder=embedder)
    old_passages = list(first.retriever.passages)
    _write_new(corpus)
    before = embedder.encoded
    idx = Index.build(corpus, index_dir, settings, embedder=embedder)
    report = idx.build_report
    new_count = sum(1 for p in idx.retriever.passages if p.title.startswith("Drills Near Erbil"))
    assert report.added == ["new_article.txt"] and report.unchanged == 2
    assert report.embedded_passages == new_count
    # Only the new passages went through the model; their sentences' vectors came from the
    # same pass (none is cut off by the model's length limit in so short an article).
    new_sentences = {s for p in idx.retriever.passages if p.title.startswith("Drills Near Erbil")
                     for s in passage_sentences(p.text)}
    assert 0 < report.embedded_sentences <= len(new_sentences)
    assert report.sentences_alone == 0
    assert embedder.encoded - before == new_count
    assert idx.retriever.passages[:len(old_passages)] == old_passages
    hits = idx.search("air-defence drills near the airport", k=1)
    assert hits[0].passage.title.startswith("Drills Near Erbil")
    # Vectors reused for old articles equal freshly computed ones (within float noise).
    import numpy as np
    fresh = embedder.encode([f"{old_passages[0].title}\n{old_passages[0].text}"])[0]
    assert np.allclose(idx.retriever.dense.vectors(0, 1)[0], fresh, atol=1e-4)


def test_nothing_changed_means_no_work(corpus, tmp_path, settings, embedder):
    Index.build(corpus, tmp_path / "index", settings, embedder=embedder)
    before = embedder.encoded
    report = Index.build(corpus, tmp_path / "index", settings, embedder=embedder).build_report
    assert report.up_to_date and embedder.encoded == before


def test_removed_and_renamed_articles(corpus, tmp_path, settings, embedder):
    index_dir = tmp_path / "index"
    Index.build(corpus, index_dir, settings, embedder=embedder)
    (corpus / SEED_A).rename(corpus / "renamed.txt")
    (corpus / SEED_B).unlink()
    before = embedder.encoded
    idx = Index.build(corpus, index_dir, settings, embedder=embedder)
    assert embedder.encoded == before  # a rename re-embeds nothing
    assert idx.build_report.removed == [SEED_B]
    assert [a.path for a in idx.articles()] == ["renamed.txt"]
    assert all(not h.passage.title.startswith("The United States") for h in idx.search("Austin", k=10))


def test_full_rebuild_embeds_everything(corpus, tmp_path, settings, embedder):
    Index.build(corpus, tmp_path / "index", settings, embedder=embedder)
    before = embedder.encoded
    idx = Index.build(corpus, tmp_path / "index", settings, full=True, embedder=embedder)
    report = idx.build_report
    assert report.embedded_sentences > report.passages  # a full build re-embeds the sentences too
    # ... pooled from the passages' pass, but for those the model's length limit cut off.
    assert 0 <= report.sentences_alone < report.embedded_sentences
    assert embedder.encoded - before == report.passages + report.sentences_alone


def _big_corpus(folder: Path, n: int = 80) -> None:
    for i in range(n):
        sentences = " ".join(
            f"Report {i} paragraph {j} describes rocket fire on base number {i * 7 + j} in Iraq "
            f"and what officials said about damage at site {i}-{j}." for j in range(12))
        (folder / f"synthetic_{i:03d}.txt").write_text(f"Synthetic report {i}\n\n{sentences}\n")


def test_killed_build_leaves_previous_index_intact(corpus, tmp_path, settings, embedder):
    index_dir = tmp_path / "index"
    idx = Index.build(corpus, index_dir, settings, embedder=embedder)
    expected = idx.ask("Which airbases were attacked?").answer
    live = (index_dir / "CURRENT").read_text()
    _big_corpus(corpus)
    cmd = [sys.executable, "-m", "newsrag.cli", "build", "--corpus", str(corpus), "--index", str(index_dir)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    kills = 0
    for delay in (0.5, 3.0, 6.0, "staging"):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        if delay == "staging":  # kill while the new generation is being written
            while not list(index_dir.glob(".staging-*")) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
        else:
            time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if (index_dir / "CURRENT").read_text() == live:
            loaded = Index.load(index_dir, settings, embedder)
            assert loaded.info()["articles"] == 2
            assert loaded.ask("Which airbases were attacked?").answer == expected
    assert kills >= 3
    # The next build cleans up after the killed ones and completes.
    report = Index.build(corpus, index_dir, settings, embedder=embedder).build_report
    assert report.articles == 82
    assert not list(index_dir.glob(".staging-*"))


def test_second_build_fails_clearly_while_one_holds_the_lock(corpus, tmp_path, settings, embedder):
    from filelock import FileLock

    index_dir = tmp_path / "index"
    index_dir.mkdir()
    with FileLock(str(index_dir / ".build.lock")):
        with pytest.raises(BuildLockedError, match="another build is running"):
            Index.build(corpus, index_dir, settings, embedder=embedder)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        proc = subprocess.run([sys.executable, "-m", "newsrag.cli", "build", "--corpus", str(corpus),
                               "--index", str(index_dir)], capture_output=True, text=True, env=env)
        assert proc.returncode == 1
        assert "error: another build is running" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_index_says_build(tmp_path, settings, embedder):
    with pytest.raises(IndexMissingError, match="newsrag build"):
        Index.load(tmp_path / "nothing", settings, embedder)


def test_index_from_another_model_is_refused(corpus, tmp_path, settings, embedder):
    Index.build(corpus, tmp_path / "index", settings, embedder=embedder)
    other = tmp_path / "other-model"
    shutil.copytree(settings.model, other, ignore=shutil.ignore_patterns("*.safetensors"))
    (other / "model.safetensors").symlink_to(Path(settings.model) / "model.safetensors")
    cfg = json.loads((other / "config.json").read_text())
    cfg["layer_norm_eps"] = 1e-6  # a different model, as far as the index can tell
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(IndexMismatchError, match="built with model 'all-MiniLM-L6-v2'.*newsrag build --full"):
        Index.load(tmp_path / "index", Settings(model=str(other)))


def test_other_chunking_and_format_version_are_refused(corpus, tmp_path, settings, embedder):
    index_dir = tmp_path / "index"
    Index.build(corpus, index_dir, settings, embedder=embedder)
    with pytest.raises(IndexMismatchError, match="chunking"):
        Index.load(index_dir, Settings(chunk_target_tokens=100), embedder)
    manifest_path = IndexStore(index_dir).current() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(IndexMismatchError, match="format version 99"):
        Index.load(index_dir, settings, embedder)


@pytest.mark.parametrize("damage", ["truncate_faiss", "flip_passages", "drop_bm25", "truncate_manifest"])
def test_damaged_index_is_detected_and_named(corpus, tmp_path, settings, embedder, damage):
    index_dir = tmp_path / "index"
    Index.build(corpus, index_dir, settings, embedder=embedder)
    gen = IndexStore(index_dir).current()
    if damage == "truncate_faiss":
        target = gen / "dense.faiss"
        target.write_bytes(target.read_bytes()[:1000])
    elif damage == "flip_passages":
        target = gen / "passages.jsonl"
        data = bytearray(target.read_bytes())
        data[200] = ord("X") if data[200] != ord("X") else ord("Y")
        target.write_bytes(bytes(data))
    elif damage == "drop_bm25":
        target = gen / "bm25" / "vocab.index.json"
        target.unlink()
    else:
        target = gen / "manifest.json"
        target.write_text(target.read_text()[:50])
    with pytest.raises(IndexCorruptError) as err:
        Index.load(index_dir, settings, embedder)
    assert str(target) in str(err.value) and "newsrag build --full" in str(err.value)
    # A build over a damaged index does a full rebuild and recovers.
    idx = Index.build(corpus, index_dir, settings, embedder=embedder)
    assert idx.build_report.full and idx.info()["articles"] == 2
