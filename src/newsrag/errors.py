"""The errors newsrag raises on purpose.

Every failure a user can cause (bad article, bad question, stale or damaged index) has its own
class with a message that says what to do, so the CLI and the web page can show it verbatim
instead of a traceback. Anything else reaching the user is a bug.
"""

from __future__ import annotations

__all__ = [
    "NewsragError",
    "ArticleError",
    "QuestionError",
    "ArgumentError",
    "IndexMissingError",
    "IndexMismatchError",
    "IndexCorruptError",
    "BuildLockedError",
    "NO_QUESTION",
]


class NewsragError(Exception):
    """Base class: the message is meant for the user, as is."""


class ArticleError(NewsragError):
    """An article file that cannot be read (empty, binary, undecodable, unknown format)."""


class QuestionError(NewsragError, ValueError):
    """A question that cannot be asked (empty, whitespace only, too long)."""


class ArgumentError(NewsragError, ValueError):
    """An API or command-line argument of the wrong type or out of range (``k=1.5``)."""


class IndexMissingError(NewsragError):
    """No index has been built in the folder yet."""


class IndexMismatchError(NewsragError):
    """The index was built with another model, other chunking or another format version."""


class IndexCorruptError(NewsragError):
    """A file of the index is missing, truncated or altered since it was written."""


class BuildLockedError(NewsragError):
    """Another build holds the index's lock."""


# What a request without a question (an API body of {}) is told, wherever it is checked.
NO_QUESTION = "no question given: send the question as text"
