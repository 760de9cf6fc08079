"""Issue 14 (items 4-11, 17-21) and issue 11's typed, checksummed manifest: what a hostile tester
and a careless user broke. Every bad input gives one clear ``error: ...`` line and a non-zero exit
(never a traceback), every bad file is skipped by name with the reason, and ``build --full``
recovers from any damage to the index folder.

Real components throughout: the real model, real FAISS files, the CLI in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS, SEED_A, newsrag_cmd, run_cli

from newsrag import Index, IndexCorruptError, NewsragError, QuestionError
from newsrag.store import IndexStore

QUESTION = "Which airbases were attacked in January 2020?"
SECRET = "Zyxwvut quarterly password rotation schedule"


def _one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The process failed with exactly one ``error:`` line on stderr, holding every needle."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# ---- a corpus with hostile files, built once through the CLI (items 4, 11, 20) -----------------
@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("hostile")
    corpus = folder / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    outside = folder / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"Secrets\n\n{SECRET}.\n\nMore about the {SECRET}.\n")
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "linked-folder").symlink_to(outside, target_is_directory=True)
    (corpus / "inside-link.txt").symlink_to(corpus / SEED_A)  # inside the corpus: a duplicate
    paragraph = ("Officials in Baghdad said on Monday that the inquiry into the rocket fire would "
                 "take several more weeks, and that findings would be shared with partners. ")
    (corpus / "huge.txt").write_text("A Very Long File\n\n" + (paragraph * 40 + "\n\n") * 150)
    return folder, _hostile_cli(folder, "build")


def _hostile_cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI with the hostile corpus's file size limit (another limit would change which files
    count, and so whether the index is up to date)."""
    return run_cli(*args, cwd=folder, env={"NEWSRAG_MAX_FILE_BYTES": "500000"})


def _articles(folder: Path) -> list[str]:
    data = json.loads(_hostile_cli(folder, "info", "--json").stdout)
    return [a["path"] for a in data["article_list"]]


def test_deeply_nested_json_is_skipped_not_fatal(hostile):
    """Item 4: a .json nested 100,000 levels deep is one skipped file, not a RecursionError."""
    folder, proc = hostile
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "skipped deep.json: nested too deeply" in proc.stderr


def test_symlinks_out_of_the_corpus_are_not_followed(hostile):
    """Item 11: a link to a file (or folder) outside corpus/ is reported and never read."""
    folder, proc = hostile
    assert proc.returncode == 0, proc.stderr
    assert "skipped passwd.txt: a link to" in proc.stderr and "outside the corpus" in proc.stderr
    articles = _articles(folder)
    assert "passwd.txt" not in articles and not any("linked-folder" in a for a in articles)
    out = _hostile_cli(folder, "search", "Zyxwvut password rotation", "--mode", "bm25", "--json")
    assert out.returncode == 0 and "building" not in out.stderr, out.stderr
    assert json.loads(out.stdout)["hits"] == []


def test_oversized_file_is_skipped_and_progress_is_logged(hostile):
    """Item 20: a file over NEWSRAG_MAX_FILE_BYTES is skipped with its size and the limit; a
    build whose stderr is not a terminal still says how far embedding got, in plain lines."""
    folder, proc = hostile
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("skipped huge.txt"))
    assert "over the limit" in line and "NEWSRAG_MAX_FILE_BYTES" in line
    assert "huge.txt" not in _articles(folder)
    lines = proc.stderr.splitlines()
    assert any(ln.startswith("embedded ") and " passages" in ln for ln in lines), proc.stderr


# ---- an unreadable corpus file (item 5) ------------------------------------------------------
def _without_root_powers() -> list[str]:
    """A command prefix that drops root's power to read any file (the tests may run as root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]


def test_unreadable_corpus_file_is_skipped_and_ask_still_answers(tmp_path, settings, embedder):
    """Item 5: a file without read permission is skipped by name; ask on an intact index does
    not even look inside it."""
    shutil.copytree(CORPUS, tmp_path / "corpus")
    locked = tmp_path / "corpus" / "locked.txt"
    locked.write_text("Locked Away\n\nA paragraph nobody may read.\n\nAnother one.\n")
    locked.chmod(0)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    prefix = _without_root_powers()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *newsrag_cmd(), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    build = cli("build")
    assert build.returncode == 0, build.stderr
    assert "skipped locked.txt: cannot read file (Permission denied)" in build.stderr
    ask = cli("ask", QUESTION, "--json")
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["answered"] and "building" not in ask.stderr


# ---- questions and arguments (items 6, 10, 21) ---------------------------------------------
@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory, settings, embedder) -> Path:
    """corpus/ and an up-to-date index/, built in-process (the CLI only reads it)."""
    folder = tmp_path_factory.mktemp("cli-hard")
    shutil.copytree(CORPUS, folder / "corpus")
    Index.build(folder / "corpus", folder / "index", settings, embedder=embedder)
    return folder


def _run_bytes(*args: bytes | str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*newsrag_cmd(), *args], cwd=cwd, capture_output=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_invalid_utf8_question_is_a_clear_error(cli_dir, seed_index):
    """Item 6: bytes that are not UTF-8 on the command line, or a lone surrogate through the API."""
    proc = _run_bytes("ask", b"What did Zarif say \xff\xfe?", "--json", cwd=cli_dir)
    assert proc.stdout == b""
    _one_error_line(subprocess.CompletedProcess(proc.args, proc.returncode, "",
                                                proc.stderr.decode("utf-8", "replace")),
                    "not valid UTF-8")
    for call in (seed_index.ask, seed_index.search):
        with pytest.raises(QuestionError, match="not valid UTF-8"):
            call("What did Zarif say \udcff?")


def test_statements_json_is_always_valid_utf8(cli_dir):
    """Item 21: an undecodable --speaker is refused instead of being echoed back as bad bytes."""
    proc = _run_bytes("statements", "--speaker", b"Zar\xffif", "--json", cwd=cli_dir)
    proc.stdout.decode("utf-8")  # never invalid UTF-8 on stdout
    assert proc.returncode == 1 and b"error: --speaker" in proc.stderr
    assert b"Traceback" not in proc.stderr


@pytest.mark.parametrize("method, kwargs, needle", [
    ("ask", {"k": 1.5}, "k must be a whole number"),
    ("ask", {"k": 0}, "k must be at least 1"),
    ("search", {"k": 0}, "k must be at least 1"),
    ("search", {"k": True}, "k must be a whole number"),
    ("ask", {"since": 2020}, "since must be text"),
    ("search", {"until": 2021.5}, "until must be text"),
    ("ask", {"speaker": ["Zarif"]}, "speaker must be text"),
    ("ask", {"history": [1, None]}, "history must be a list of questions"),
    ("ask", {"history": "What did Esper say?"}, "history must be a list of questions"),
    ("ask", {"mode": "fuzzy"}, "unknown search mode"),
    ("search", {"mode": None}, "unknown search mode"),
    ("ask", {"generate": "yes"}, "generate must be"),
    ("ask", {"on_token": "print"}, "on_token must be"),
    ("ask", {"speaker": "x" * 5000}, "speaker is 5,000 characters"),
    ("statements", {"speaker": 7}, "speaker must be text"),
    ("statements", {"since": 2020}, "since must be text"),
])
def test_wrong_argument_types_raise_newsrag_errors(seed_index, method, kwargs, needle):
    """Item 10: the Python API refuses wrong types with a NewsragError naming the argument."""
    args = () if method == "statements" else ("What did Zarif say about the attack?",)
    with pytest.raises(NewsragError, match=needle):
        getattr(seed_index, method)(*args, **kwargs)


def test_valid_arguments_still_work(seed_index):
    assert len(seed_index.search("Zarif", k=2)) == 2
    assert seed_index.ask("What did he say?", k=3, history=("What did Zarif say?",)).answered
    assert seed_index.statements(speaker="Zarif", since="2020")


# ---- add (items 7, 17, 18) -----------------------------------------------------------------
def test_add_a_file_already_in_the_corpus(cli_dir):
    """Item 7: adding corpus/<file> is not a SameFileError; the file is already there."""
    proc = run_cli("add", f"corpus/{SEED_A}", cwd=cli_dir)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "already in the corpus" in proc.stderr and "up to date" in proc.stderr


def test_add_a_hidden_file_is_refused(cli_dir, tmp_path):
    """Item 17: a hidden file would be copied but never indexed; say so instead."""
    hidden = tmp_path / ".hidden.txt"
    hidden.write_text("Hidden Headline\n\nA paragraph that would never be indexed.\n\nAnd more.\n")
    _one_error_line(run_cli("add", str(hidden), cwd=cli_dir), ".hidden.txt", "hidden")
    assert not (cli_dir / "corpus" / ".hidden.txt").exists()


def test_add_a_folder_is_a_clear_error(cli_dir, tmp_path):
    """Item 18: a folder is named as a folder, not as "no such file"."""
    (tmp_path / "articles").mkdir()
    _one_error_line(run_cli("add", str(tmp_path / "articles"), cwd=cli_dir), "is a folder")
    _one_error_line(run_cli("add", str(tmp_path / "nothing.txt"), cwd=cli_dir), "no such file")


def test_add_a_link_or_a_copy_is_refused(cli_dir, tmp_path):
    """A link is not followed by add any more than by a build ("notes.txt -> /etc/passwd" was
    copied in and indexed); a copy of an article already in the corpus, under another name, is
    not added beside it (the build would keep one and drop the other)."""
    secret = tmp_path / "outside.txt"
    secret.write_text("Outside Headline\n\nA file that lives outside the corpus.\n\nMore.\n")
    link = tmp_path / "notes.txt"
    link.symlink_to(secret)
    _one_error_line(run_cli("add", str(link), cwd=cli_dir), "notes.txt", "symbolic link")
    assert not (cli_dir / "corpus" / "notes.txt").exists()
    copy = tmp_path / "copy-of-seed.txt"
    copy.write_bytes((cli_dir / "corpus" / SEED_A).read_bytes())
    _one_error_line(run_cli("add", str(copy), cwd=cli_dir), "same content as", SEED_A)
    assert not (cli_dir / "corpus" / "copy-of-seed.txt").exists()


def test_markup_in_a_question_is_no_part_of_it(seed_index):
    """HTML typed or pasted into the chat: its attributes are not names no article mentions."""
    plain = seed_index.ask("What did Zarif say?")
    marked = seed_index.ask('<img src=x onerror="alert(1)"> What did <b>Zarif</b> say?')
    assert marked.answered and marked.answer == plain.answer
    assert marked.question == "What did Zarif say?"
    with pytest.raises(QuestionError, match="empty"):
        seed_index.ask("<script></script>")
    # what a script element holds is code, not words of the question
    assert seed_index.ask("<script>alert(1)</script>What did Zarif say?").question == \
        "What did Zarif say?"
    # history=None is no conversation, as () is
    assert seed_index.ask("What did Zarif say?", history=None).answer == plain.answer
    # No space is left where a tag stood before punctuation, nor a NUL pasted in.
    assert seed_index.ask("Who fired rockets at <i>Al-Asad</i>?").question == \
        "Who fired rockets at Al-Asad?"
    assert seed_index.ask("What did Zarif say?\x00").question == "What did Zarif say?"


def test_refusal_reasons_read_as_sentences(seed_index):
    assert seed_index.ask("what is the best recipe for banana bread").reason.startswith(
        "no passage is close enough to the question")
    # "How much ...?" is told "how much", not "how many".
    reason = seed_index.ask("How much did oil prices rise after the attack?").reason
    assert "how many" not in reason, reason


def test_add_during_a_build_waits_for_it(tmp_path, settings, embedder):
    """Item 18: ``add`` while a build holds the lock waits for it, then indexes the file."""
    from filelock import FileLock

    shutil.copytree(CORPUS, tmp_path / "corpus")
    Index.build(tmp_path / "corpus", tmp_path / "index", settings, embedder=embedder)
    new = tmp_path / "drills.md"
    new.write_text("---\ntitle: Drills near Erbil\ndate: 2021-03-20\n---\n"
                   "Kurdish officials said air-defence drills would run for three days.\n")
    log = tmp_path / "add.log"
    lock = FileLock(str(tmp_path / "index" / ".build.lock"))
    lock.acquire()
    try:
        with log.open("w") as err:
            proc = subprocess.Popen([*newsrag_cmd(), "add", str(new)], cwd=tmp_path,
                                    stdout=subprocess.DEVNULL, stderr=err,
                                    env={**os.environ, "HF_HUB_OFFLINE": "1"})
        deadline = time.monotonic() + 120
        while "waiting" not in log.read_text() and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, log.read_text()  # still waiting, not failed
    finally:
        lock.release()
    assert proc.wait(timeout=300) == 0, log.read_text()
    assert "1 added" in log.read_text()
    articles = Index.load(tmp_path / "index", settings, embedder).articles()
    assert "drills.md" in [a.path for a in articles]


# ---- the index folder (items 8, 9, 19, 21 and the manifest) --------------------------------
def test_index_path_that_is_a_file_or_cannot_be_created(cli_dir, tmp_path):
    """Item 8: --index at an existing file, or under one, is one clear line."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for command in ("build", "ask"):
        args = [command, "--corpus", str(cli_dir / "corpus")]
        args += [QUESTION] if command == "ask" else []
        _one_error_line(run_cli(*args, "--index", str(afile), cwd=tmp_path), "not a folder")
        _one_error_line(run_cli(*args, "--index", str(afile / "sub"), cwd=tmp_path),
                        "cannot create the index folder")
    assert afile.read_text() == "not a folder"


def _damage(index_dir: Path, how: str) -> None:
    store = IndexStore(index_dir)
    gen = store.current()
    path = gen / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if how == "renamed_key":
        manifest["article_list"] = manifest.pop("articles")
    elif how == "other_index_type":
        manifest["dense"]["type"] = "ivf-pq"
    elif how == "edited_title":
        manifest["articles"][0]["title"] = "A Title Nobody Wrote"
    elif how == "wrong_type":
        manifest["counts"]["passages"] = "many"
    if how == "garbage_current":
        (index_dir / "CURRENT").write_bytes(b"\xff\xfe\x00garbage\n")
        (index_dir / "gen-20200101T000000-orphan").mkdir()  # left by a failed build
    else:
        path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    (index_dir / ".CURRENT.0a1b2c").write_text("gen-x\n")  # left by a kill during a swap


@pytest.mark.parametrize("how", ["renamed_key", "other_index_type", "edited_title", "wrong_type",
                                 "garbage_current"])
def test_damaged_manifest_says_rebuild_and_full_build_recovers(tmp_path, settings, embedder, how):
    """Item 9 and the manifest checksum: damage that is still valid JSON is one clear error that
    says to run `newsrag build --full`; an incremental build does not call it up to date; and
    `build --full` always recovers, leaving no orphan generation or temporary pointer."""
    shutil.copytree(CORPUS, tmp_path / "corpus")
    index_dir = tmp_path / "index"
    Index.build(tmp_path / "corpus", index_dir, settings, embedder=embedder)
    _damage(index_dir, how)
    with pytest.raises(IndexCorruptError, match="newsrag build --full") as err:
        Index.load(index_dir, settings, embedder)
    assert "\n" not in str(err.value)
    if how in ("renamed_key", "garbage_current"):
        _one_error_line(run_cli("info", cwd=tmp_path), "newsrag build --full")
    report = Index.build(tmp_path / "corpus", index_dir, settings, embedder=embedder).build_report
    assert not report.up_to_date and report.full and report.reason_full
    Index.build(tmp_path / "corpus", index_dir, settings, full=True, embedder=embedder)
    if how == "garbage_current":  # and the command a user is told to run
        _damage(index_dir, how)
        # fp32, as the index was: with its pointer unreadable the build cannot know, and a new
        # index's default on a CPU is int8, which the torch embedder below would not match
        proc = run_cli("build", "--full", "--no-quantize", cwd=tmp_path)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    idx = Index.load(index_dir, settings, embedder)
    assert idx.info()["articles"] == 2 and "A Title Nobody Wrote" not in json.dumps(idx.info())
    live = (index_dir / "CURRENT").read_text().strip()
    leftovers = sorted(p.name for p in index_dir.iterdir()
                       if p.name not in (live, "CURRENT", ".build.lock"))
    assert len(leftovers) <= 1 and all(n.startswith("gen-") and "orphan" not in n
                                       for n in leftovers), leftovers


def test_leftover_pointer_temp_file_is_removed_by_the_next_build(corpus, tmp_path, settings,
                                                                  embedder):
    """Item 21: a `.CURRENT.<hex>` left by a kill during the swap does not stay forever."""
    index_dir = tmp_path / "index"
    Index.build(corpus, index_dir, settings, embedder=embedder)
    (index_dir / ".CURRENT.a1b2c3").write_text("gen-nothing\n")
    assert Index.build(corpus, index_dir, settings, embedder=embedder).build_report.up_to_date
    assert not list(index_dir.glob(".CURRENT.*"))


def test_manifest_is_typed_and_older_format_says_rebuild(corpus, tmp_path, settings, embedder):
    """Issue 11: the manifest is a validated pydantic model, read by one open_generation()."""
    from newsrag.embedding import model_fingerprint
    from newsrag.store import FORMAT_VERSION, Manifest, open_generation

    index_dir = tmp_path / "index"
    Index.build(corpus, index_dir, settings, embedder=embedder)
    generation = open_generation(IndexStore(index_dir), settings,
                                 model_fingerprint(Path(settings.model)))
    assert isinstance(generation.manifest, Manifest)
    assert generation.manifest.counts.passages == len(generation.passages)
    assert generation.manifest.articles[0].title.startswith("Iran Fires Rockets At US Forces")
    path = generation.folder / "manifest.json"
    old = json.loads(path.read_text())
    old["format_version"] = FORMAT_VERSION - 1
    path.write_text(json.dumps(old))
    with pytest.raises(NewsragError, match=f"format version {FORMAT_VERSION - 1}.*build --full"):
        Index.load(index_dir, settings, embedder)


def test_ask_during_a_build_answers_from_the_live_index(cli_dir, tmp_path):
    """Item 19: the corpus changed and a build holds the lock: answer from the live index."""
    from filelock import FileLock

    folder = tmp_path / "work"
    shutil.copytree(cli_dir, folder)
    (folder / "corpus" / "new.txt").write_text(
        "Drills Near Erbil\n\nKurdish officials said air-defence drills would run for three "
        "days.\n\nThe drills follow the February strikes.\n")
    with FileLock(str(folder / "index" / ".build.lock")):
        proc = run_cli("ask", QUESTION, "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["answered"]
    assert "a build is running" in proc.stderr and "Traceback" not in proc.stderr
