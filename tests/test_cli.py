"""The real ``newsrag`` command in a subprocess: JSON on stdout only, errors on stderr with a
non-zero exit and no traceback, builds on demand, ``add`` and ``info``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import CORPUS, run_cli


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder laid out like the project: corpus/ and (after the first ask) index/."""
    folder = tmp_path_factory.mktemp("cli")
    shutil.copytree(CORPUS, folder / "corpus")
    return folder


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_ask_json_builds_first_and_prints_only_json(workdir):
    proc = run_cli("ask", "Which airbases were attacked in January 2020?", "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "building the index first (no index yet)" in proc.stderr
    data = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert set(data) == {"question", "answer", "answered", "reason", "citations", "generated",
                         "generation"}
    assert data["generated"] is False and data["generation"] is None
    assert data["answered"] is True and "Al-Asad" in data["answer"] and "[1]" in data["answer"]
    c = data["citations"][0]
    assert {"n", "article_id", "title", "date", "passage", "start", "end", "score"} <= set(c)
    assert c["n"] == 1 and c["title"] == "Iran Fires Rockets At US Forces Stationed In Iraq"
    assert c["date"] is None and isinstance(c["score"], float) and c["end"] > c["start"]


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_ask_second_time_does_not_rebuild(workdir):
    proc = run_cli("ask", "What did Trump tweet?", "--json", cwd=workdir)
    assert proc.returncode == 0 and "building" not in proc.stderr
    assert json.loads(proc.stdout)["answered"]


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_unanswerable_json(workdir):
    data = json.loads(run_cli("ask", "What is the capital of France?", "--json", cwd=workdir).stdout)
    assert data["answered"] is False and data["answer"].startswith("The articles don't say")
    assert data["citations"]


def test_a_refusal_in_text_shows_the_pages_closest_passages_not_all_retrieved(workdir):
    # Before, the command line listed all five retrieved passages; the page shows at most
    # three, and only ones somewhat related (Answer.shown_sources, used by both).
    far = run_cli("ask", "What is the capital of France?", cwd=workdir)
    assert far.returncode == 0 and "No passage comes close to this question." in far.stdout
    near = run_cli("ask", "How many Purple Hearts were awarded after the missile attack?", cwd=workdir)
    listed = [line for line in near.stdout.splitlines() if line.startswith("[")]
    assert near.stdout.startswith("The articles don't say") and 1 <= len(listed) <= 3, near.stdout


@pytest.mark.parametrize("question,message", [("  ", "empty"), ("y" * 2500, "2,500 characters")])
def test_bad_question_exits_nonzero_without_traceback(workdir, question, message):
    proc = run_cli("ask", question, "--json", cwd=workdir)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1].startswith("error:") and message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_search_json_and_text(workdir):
    data = json.loads(run_cli("search", "FAJR-5", "-k", "2", "--mode", "bm25", "--json", cwd=workdir).stdout)
    assert len(data["hits"]) == 1 and "FAJR-5" in data["hits"][0]["passage"]  # only positive BM25 scores
    hit = data["hits"][0]
    assert hit["id"] == f"{hit['article_id']}:{hit['start']}"  # stable across builds, unlike row
    text = run_cli("search", "Kirkuk", "-k", "1", cwd=workdir).stdout
    assert text.startswith("[1] The United States will do") and "Kirkuk" in text


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_info(workdir):
    proc = run_cli("info", "--json", cwd=workdir)
    data = json.loads(proc.stdout)
    assert data["articles"] == 2 and data["model"] == "all-MiniLM-L6-v2" and data["index_type"] == "flat"
    assert "built_at" in data and data["passages"] >= 6
    human = run_cli("info", cwd=workdir).stdout
    assert "all-MiniLM-L6-v2" in human and "(undated;" in human
    assert data["corpus"] == "corpus" and data["stale"] is None and "corpus/, up to date" in human


def test_info_says_when_the_index_lags_its_corpus(workdir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(workdir / "corpus", other)
    (other / "000_57c284030dba6432.txt").unlink()
    proc = run_cli("info", "--json", "--corpus", str(other), cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stale"] == "the corpus changed since the last build"
    assert "stale: the corpus changed" in run_cli("info", "--corpus", str(other), cwd=workdir).stdout


@pytest.mark.parametrize("command", [["ask", "Who fired the missiles?"], ["search", "missiles"],
                                     ["statements"], ["info"]])
def test_a_corpus_folder_that_is_not_there_is_an_error_not_ignored(workdir, command):
    # Before, an index already built answered past a mistyped --corpus as if nothing was wrong.
    proc = run_cli(*command, "--corpus", "corpsu", cwd=workdir)
    assert proc.returncode == 1 and proc.stdout == "", proc.stdout
    assert "error: no corpus folder corpsu/" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", [["build"], ["add", "corpus/000_57c284030dba6432.txt"]])
def test_a_file_given_as_corpus_is_named_as_a_file(workdir, command):
    # Before, build said "corpus folder x.txt/ does not exist" and add "cannot create" it.
    proc = run_cli(*command, "--corpus", "corpus/003_1a5c6e53506a3daa.txt", "--index",
                   "unused-index", cwd=workdir)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "003_1a5c6e53506a3daa.txt is a file, not a folder" in proc.stderr, proc.stderr
    assert not (workdir / "unused-index").exists()


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_an_index_built_from_another_folder_is_kept_up_to_date_with_that_folder(workdir, tmp_path):
    """Before, ``statements --index elsewhere/`` run beside another corpus/ rebuilt elsewhere/
    from that corpus, replacing its articles. The index remembers the folder it was built from."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "note.txt").write_text("Harbour reopens\n\nThe harbour reopened on Monday, the port "
                                   "director Elena Marchetti said.\n", encoding="utf-8")
    built = run_cli("build", "--corpus", str(mine), "--index", str(tmp_path / "idx"), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    proc = run_cli("statements", "--json", "--index", str(tmp_path / "idx"), cwd=workdir)
    assert proc.returncode == 0 and "building" not in proc.stderr, proc.stderr
    assert {s["speaker"] for s in json.loads(proc.stdout)["statements"]} == {"Elena Marchetti"}
    info = json.loads(run_cli("info", "--json", "--index", str(tmp_path / "idx"), cwd=workdir).stdout)
    assert info["articles"] == 1 and info["corpus"] == str(mine.resolve()) and info["stale"] is None
    # a change in that folder is picked up beside the unrelated corpus/ (with none here, the
    # index answers as it is: a replica with only the index)
    (mine / "more.txt").write_text("Ferry resumes\n\nThe ferry resumed service, Marchetti said.\n",
                                   encoding="utf-8")
    proc = run_cli("ask", "--json", "--index", str(tmp_path / "idx"), "When did the harbour reopen?",
                   cwd=workdir)
    assert proc.returncode == 0 and "building the index first" in proc.stderr, proc.stderr
    info = json.loads(run_cli("info", "--json", "--index", str(tmp_path / "idx"), cwd=workdir).stdout)
    assert info["articles"] == 2


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_add_copies_and_indexes_only_new_article(workdir, tmp_path):
    new = tmp_path / "drills.md"
    new.write_text("---\ntitle: Drills near Erbil\ndate: 2021-03-20\n---\n"
                   "Kurdish officials said air-defence drills would run for three days near Erbil airport.\n")
    proc = run_cli("add", str(new), cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "1 added" in proc.stderr and "2 unchanged" in proc.stderr
    assert (workdir / "corpus" / "drills.md").exists()
    data = json.loads(run_cli("ask", "How long will the air-defence drills run?", "--json", cwd=workdir).stdout)
    assert "three days" in data["answer"] and data["citations"][0]["date"] == "2021-03-20"


def test_add_refuses_a_bad_file_before_copying(workdir, tmp_path):
    bad = tmp_path / "blob.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    proc = run_cli("add", str(bad), cwd=workdir)
    assert proc.returncode == 1 and "binary file" in proc.stderr and "Traceback" not in proc.stderr
    assert not (workdir / "corpus" / "blob.txt").exists()


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_build_reports_skipped_files(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    (tmp_path / "corpus" / "empty.txt").write_text("")
    (tmp_path / "corpus" / "dup.txt").write_bytes((CORPUS / "000_57c284030dba6432.txt").read_bytes())
    proc = run_cli("build", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "skipped empty.txt: empty file" in proc.stderr
    assert "skipped dup.txt: duplicate of 000_57c284030dba6432.txt (same text)" in proc.stderr
    assert "2 file(s) skipped" in proc.stderr


def test_missing_index_without_corpus_is_a_clear_error(tmp_path):
    proc = run_cli("ask", "anything?", cwd=tmp_path)
    assert proc.returncode == 1 and "no index in index/ yet" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_shows_examples(tmp_path):
    out = run_cli("--help", cwd=tmp_path).stdout
    assert "newsrag ask" in out and "Examples" in out


def test_an_empty_option_value_is_an_error(workdir):
    proc = run_cli("ask", "Who fired the missiles?", "--speaker", "", cwd=workdir)
    assert proc.returncode == 1 and "error: --speaker is empty" in proc.stderr, proc.stderr
