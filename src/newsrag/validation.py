"""Checking the arguments of the Python API and the command line, in one place.

``Index.ask``, ``Index.search`` and ``Index.statements`` are called by people and by programs
(the web page, notebooks). A wrong type (``k=1.5``, ``since=2020``, ``history=[1, None]``) or text
that is not valid Unicode (bytes that were not UTF-8 on the command line arrive as lone
surrogates) would otherwise fail deep inside as a TypeError or a tokenizer traceback. Here each
becomes a :class:`~newsrag.errors.ArgumentError` (a :class:`~newsrag.errors.NewsragError`) that
names the argument, so the CLI and the web page can show it as is.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from .errors import NO_QUESTION, ArgumentError, QuestionError

__all__ = ["check_arguments", "check_text", "MAX_FIELD_CHARS"]

# A speaker's name or a date such as "January 2020" is short; anything longer is not one.
MAX_FIELD_CHARS = {"speaker": 200, "since": 100, "until": 100}
MAX_HISTORY = 50
SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_text(name: str, value: Any, max_chars: int) -> str:
    """``value`` if it is text Python can encode as UTF-8 and at most ``max_chars`` long."""
    error = QuestionError if name == "the question" else ArgumentError
    if value is None and name == "the question":  # POST {} to the API
        raise error(NO_QUESTION)
    if not isinstance(value, str):
        raise error(f"{name} must be text, not {type(value).__name__}")
    bad = SURROGATE.search(value)
    if bad:
        raise error(f"{name} is not valid UTF-8 text (an undecodable byte or a lone surrogate at "
                    f"character {bad.start() + 1}); retype it or re-save it as UTF-8")
    if len(value) > max_chars:
        raise error(f"{name} is {len(value):,} characters long; the limit is {max_chars:,}")
    if name.startswith("--") and not value.strip():  # --speaker "" filters on nothing
        raise error(f"{name} is empty: give a value or leave the option out")
    return value


def _check_k(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"k must be a whole number, not {value!r}")
    if value < 1:
        raise ArgumentError(f"k must be at least 1, not {value}")


def _check_history(value: Any, max_chars: int) -> None:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ArgumentError("history must be a list of questions (strings), oldest first, "
                            f"not {type(value).__name__}")
    if len(value) > MAX_HISTORY:
        raise ArgumentError(f"history holds {len(value)} questions; the limit is {MAX_HISTORY}")
    for item in value:
        if not isinstance(item, str):
            raise ArgumentError("history must be a list of questions (strings), but it holds "
                                f"{type(item).__name__}")
        check_text("a question in history", item, max_chars)


def check_arguments(max_chars: int, **args: Any) -> None:
    """Raise :class:`ArgumentError` for the first argument of ``args`` that is not usable.

    Known names: question, k, mode, history, speaker, since, until, generate, on_token;
    ``max_chars`` bounds the question and each history entry.
    """
    from .generation import Generator
    from .retrieval import MODES

    for name, value in args.items():
        if name == "question":
            check_text("the question", value, sys.maxsize)  # check_question has the limit
        elif name == "k":
            _check_k(value)
        elif name == "mode":
            if value not in MODES:
                raise ArgumentError(f"unknown search mode {value!r}; use one of "
                                    f"{', '.join(MODES)}")
        elif name == "history":
            _check_history(value, max_chars)
        elif name in MAX_FIELD_CHARS:
            if value is not None:
                check_text(name, value, MAX_FIELD_CHARS[name])
        elif name == "generate":
            if value is not None and not isinstance(value, (bool, Generator)):
                raise ArgumentError("generate must be True, False, None or a Generator, not "
                                    f"{type(value).__name__}")
        elif name == "on_token":
            if value is not None and not callable(value):
                raise ArgumentError("on_token must be a function taking a string, or None")
        else:
            raise TypeError(f"check_arguments does not know the argument {name!r}")
