"""newsrag: answers questions from news articles, citing the passages it used.

    >>> from newsrag import Index
    >>> index = Index.build("corpus", "index")        # incremental; embeds only what changed
    >>> answer = index.ask("Who fired rockets at Al-Asad?")
    >>> answer.answered, answer.answer, answer.citations[0].title
    >>> index.statements(speaker="Zarif")              # who said what, and when
"""

from __future__ import annotations

from ._version import __version__
from .answering import Answer, Citation
from .articles import Article, ArticleReader, register_reader
from .build import BuildReport
from .embedding import Embedder, ModelInfo, load_embedder, register_embedder
from .errors import (
    ArgumentError,
    ArticleError,
    BuildLockedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    NewsragError,
    QuestionError,
)
from .generation import Generator, GeneratorError, register_generator
from .index import ArticleInfo, Index
from .passages import Passage
from .retrieval import MODES, Hit
from .settings import Settings
from .statements import Statement
from .stores import PassageStore, make_store, register_store

__all__ = [
    "__version__",
    "Index",
    "Settings",
    "Answer",
    "Citation",
    "Hit",
    "Passage",
    "Statement",
    "Article",
    "ArticleInfo",
    "BuildReport",
    "Embedder",
    "ModelInfo",
    "register_embedder",
    "load_embedder",
    "Generator",
    "GeneratorError",
    "register_generator",
    "ArticleReader",
    "register_reader",
    "MODES",
    "PassageStore",
    "register_store",
    "make_store",
    "NewsragError",
    "ArticleError",
    "QuestionError",
    "ArgumentError",
    "IndexMissingError",
    "IndexMismatchError",
    "IndexCorruptError",
    "BuildLockedError",
]
