"""Lint and types as part of the suite, so `make test` (and `.ci/run`) enforces them: ruff over
src, tests and benchmarks, mypy over the package, both configured in pyproject.toml."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from conftest import ROOT


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (it is in the test extra: pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_check_is_clean():
    proc = _run("ruff", "check", "--no-cache", "src", "tests", "benchmarks")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean():
    proc = _run("mypy")  # files and strictness from [tool.mypy]
    assert proc.returncode == 0, proc.stdout + proc.stderr
