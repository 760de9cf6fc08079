"""Lint and types as part of the suite, so `make test` (and `.ci/run`) enforces them: ruff over
src, tests and benchmarks, mypy over the package, both configured in pyproject.toml; and the
package's import layering (no cycle, nothing imported back up from ``newsrag/__init__``)."""

from __future__ import annotations

import ast
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


def test_package_imports_form_layers():
    """Module-level imports inside the package go one way: no cycle, and no module imports the
    package root (the version lives in ``_version.py`` for that reason). Imports inside functions
    and under TYPE_CHECKING are free to point anywhere."""
    deps: dict[str, set[str]] = {}
    for path in sorted((ROOT / "src" / "newsrag").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps[path.stem] = {node.module or "__init__" for node in tree.body
                           if isinstance(node, ast.ImportFrom) and node.level == 1}
        deps[path.stem] |= {alias.name.split(".")[1] if "." in alias.name else "__init__"
                            for node in tree.body if isinstance(node, ast.Import)
                            for alias in node.names if alias.name.split(".")[0] == "newsrag"}
    upward = sorted(m for m, d in deps.items() if "__init__" in d and m != "__init__")
    assert not upward, f"these modules import newsrag/__init__: {upward}"
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import cycle: " + " -> ".join(path + (module,))
        if module not in done:
            for dep in deps.get(module, ()):
                visit(dep, path + (module,))
            done.add(module)

    for module in deps:
        visit(module, ())
