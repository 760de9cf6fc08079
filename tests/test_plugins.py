"""The backend seams, fast layer: a new answer generator and a new article format are each one class
and one registry line (or a dotted path, or an installed package's entry point).

Everything here runs on the hash fake encoder (``embedder="hash"``): no model is loaded.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterator

import pytest

import newsrag
from newsrag import (Article, ArticleReader, Generator, Index, NewsragError, Settings,
                     register_generator, register_reader)
from newsrag.articles import READERS, make_article, read_article_file, read_corpus, reader_for
from newsrag.generation import GENERATORS, generator_class, generator_names, make_generator
from newsrag.plugins import resolve_class

from conftest import CORPUS, run_cli

QUESTION = "Which airbases were attacked?"


class EchoGenerator(Generator):
    """A toy generator: repeats the first sentence of passage [1] and cites it, in two pieces."""

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        prompt = messages[-1]["content"]
        block = prompt.split("[1] ", 1)[1].split("\n", 1)[1]  # after the title line
        sentence = re.split(r"(?<=[.!?])\s+", block.split("\n\n")[0].strip())[0]
        yield sentence[: len(sentence) // 2]
        yield sentence[len(sentence) // 2:] + " [1]"


@pytest.fixture
def echo_registered():
    register_generator("echo")(EchoGenerator)
    yield "echo"
    GENERATORS.pop("echo", None)


@pytest.fixture(scope="module")
def hash_index(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plugins") / "index"
    Index.build(CORPUS, folder, Settings(embedder="hash"))
    return folder


def _generated(answer) -> str:
    assert answer.generation is not None and not answer.generation.fallback, answer.generation
    return " ".join(s.text for s in answer.generation.kept)


def test_seams_are_exported():
    assert {"Embedder", "Generator", "ArticleReader", "register_embedder", "register_generator",
            "register_reader"} <= set(newsrag.__all__)


def test_a_registered_toy_generator_answers(hash_index, echo_registered):
    assert generator_class("echo") is EchoGenerator and "echo" in generator_names()
    index = Index.load(hash_index, Settings(embedder="hash", generator="echo"))
    tokens: list[str] = []
    answer = index.ask(QUESTION, on_token=tokens.append)
    assert len(tokens) == 2 and answer.generation.model == "echo"
    assert _generated(answer) and answer.citations


def test_a_toy_generator_by_dotted_path_answers(hash_index):
    for spec in (f"{__name__}:EchoGenerator", f"{__name__}.EchoGenerator"):
        assert generator_class(spec) is EchoGenerator
        index = Index.load(hash_index, Settings(embedder="hash", generator=spec))
        assert _generated(index.ask(QUESTION))
    # generate=True uses the configured generator; an explicit instance wins over the setting.
    assert _generated(index.ask(QUESTION, generate=True))
    assert _generated(Index.load(hash_index, Settings(embedder="hash")).ask(
        QUESTION, generate=EchoGenerator()))


def test_unknown_generators_are_refused_with_the_names_that_work():
    assert make_generator(Settings(embedder="hash")) is None  # extractive
    assert type(make_generator(Settings(generator="openai"))).__name__ == "OpenAICompatibleGenerator"
    for bad in ("poetry", "no.such.module:Thing", "newsrag.generation:Grounding", "json:loads"):
        with pytest.raises(NewsragError, match=r"unknown generator .*extractive, openai"):
            make_generator(Settings(generator=bad))
    with pytest.raises(NewsragError):
        register_generator("extractive")


def test_entry_points_are_the_plugin_route(monkeypatch):
    """An installed package's entry point (group newsrag.generators) resolves like a name."""
    class FakeEntryPoint:
        name, value = "echo-plugin", f"{__name__}:EchoGenerator"

        def load(self):
            return EchoGenerator

    monkeypatch.setattr("newsrag.plugins.entry_points",
                        lambda group: {"echo-plugin": FakeEntryPoint()}
                        if group == "newsrag.generators" else {})
    registry: dict = {}
    assert resolve_class("echo-plugin", registry, Generator, "newsrag.generators",
                         "generator") is EchoGenerator
    assert registry == {"echo-plugin": EchoGenerator}  # loaded once, then kept


def test_cli_generator_by_dotted_path_and_unknown_name(hash_index, tmp_path):
    paths = [str(Path(__file__).parent)] + [os.path.abspath(p) for p in
                                            os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {"NEWSRAG_EMBEDDER": "hash", "PYTHONPATH": os.pathsep.join(paths)}
    proc = run_cli("ask", QUESTION, "--index", str(hash_index), "--json",
                   "--generator", "test_plugins:EchoGenerator", cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    generation = json.loads(proc.stdout)["generation"]
    assert not generation["fallback"] and any(s["kept"] for s in generation["sentences"])
    proc = run_cli("ask", QUESTION, "--index", str(hash_index), "--generator", "nope.nothing:X",
                   cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 1 and "unknown generator 'nope.nothing:X'" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---- article readers ---------------------------------------------------------------------------
class ToyReader(ArticleReader):
    """A toy format: ``TITLE: ...`` / ``DATE: ...`` header lines, then the text."""

    suffixes = (".toy",)

    def parse(self, name: str, text: str, warnings: list[tuple[str, str]]) -> list[Article]:
        head, _, body = text.partition("\n\n")
        fields = dict(line.split(": ", 1) for line in head.splitlines())
        return [make_article(name, {"title": fields["TITLE"], "date": fields.get("DATE"),
                                    "text": body}, warnings)]


@pytest.fixture
def toy_reader():
    register_reader(ToyReader)
    yield ToyReader
    READERS.pop(".toy", None)


TOY = ("TITLE: Drills near Erbil\nDATE: 2020-01-09\n\nOfficials said drills near Erbil would run "
       "for three days.\n\nResidents were told to stay calm during the drills.\n")


def test_a_registered_toy_reader_reads_and_builds(toy_reader, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "drills.toy").write_text(TOY)
    (corpus / "note.txt").write_text("Weather\n\nIt rained in Basra on Tuesday.\n")
    assert isinstance(reader_for(".TOY"), ToyReader)
    [art] = read_article_file(corpus / "drills.toy")
    assert (art.title, art.date, art.path) == ("Drills near Erbil", "2020-01-09", "drills.toy")
    assert art.text.startswith("Officials said drills")
    assert sorted(a.path for a in read_corpus(corpus).articles) == ["drills.toy", "note.txt"]
    index = Index.build(corpus, tmp_path / "index", Settings(embedder="hash"))
    assert {a.title for a in index.articles()} == {"Drills near Erbil", "Weather"}
    hit = index.search("drills near Erbil", k=1)[0]
    assert hit.passage.title == "Drills near Erbil"


def test_unregistered_suffix_is_skipped_and_bad_readers_refused(tmp_path):
    (tmp_path / "drills.toy").write_text(TOY)
    with pytest.raises(newsrag.ArticleError, match=r"unsupported file type '\.toy' .*\.txt"):
        read_article_file(tmp_path / "drills.toy")
    assert read_corpus(tmp_path).skipped[0][0] == "drills.toy"

    class NoSuffix(ToyReader):
        suffixes = ("toy",)

    with pytest.raises(newsrag.ArticleError, match="suffixes"):
        register_reader(NoSuffix)
