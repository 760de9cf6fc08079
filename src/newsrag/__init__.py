"""newsrag: answers questions from news articles, citing the passages it used.

    >>> from newsrag import Index
    >>> index = Index.build("corpus", "index")        # incremental; embeds only what changed
    >>> answer = index.ask("Who fired rockets at Al-Asad?")
    >>> answer.answered, answer.answer, answer.citations[0].title
    >>> index.statements(speaker="Zarif")              # who said what, and when
"""

from __future__ import annotations

__version__ = "0.1.0"

from .answering import Answer, Citation  # noqa: E402
from .articles import Article, ArticleReader, register_reader  # noqa: E402
from .build import BuildReport  # noqa: E402
from .embedding import Embedder, ModelInfo, load_embedder, register_embedder  # noqa: E402
from .errors import (  # noqa: E402
    ArgumentError,
    ArticleError,
    BuildLockedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    NewsragError,
    QuestionError,
)
from .generation import Generator, GeneratorError, register_generator  # noqa: E402
from .index import ArticleInfo, Index  # noqa: E402
from .passages import Passage  # noqa: E402
from .retrieval import MODES, Hit  # noqa: E402
from .settings import Settings  # noqa: E402
from .statements import Statement  # noqa: E402
from .stores import PassageStore, make_store, register_store  # noqa: E402

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
