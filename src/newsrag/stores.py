"""Where an index lives: the passage-store seam and its registry.

A :class:`PassageStore` holds one index: its passages, their vectors, what BM25 needs, and the
rest of a build (manifest, names, statements, sentence vectors). Two ship with newsrag:

- ``faiss`` (default): the on-disk generations of :mod:`newsrag.store` (FAISS + bm25s files).
- ``milvus``: a Milvus collection through pymilvus (:mod:`newsrag.milvus_store`), Milvus Lite
  for a file path, a Milvus server or cluster for ``http(s)://host:19530``.

The store is chosen by the ``store`` setting (``--store``, ``NEWSRAG_STORE``): a registry name or
the dotted path of a :class:`PassageStore` subclass (``package.module:Class``). A new store is one
class and one :func:`register_store` line.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

import numpy as np

from .errors import NewsragError
from .plugins import registrar, resolve_class

if TYPE_CHECKING:
    from .names import NameTable
    from .passages import Passage
    from .settings import Settings
    from .statements import Statement
    from .store import ArticleMeta, Generation, Manifest, ModelInfo
    from .vectors import SentenceVectors

__all__ = ["PassageStore", "FaissStore", "BuildOutput", "STORES", "register_store",
           "store_class", "make_store"]

STORES: dict[str, type["PassageStore"]] = {}
# Registry names whose class lives in a module imported only when chosen (its dependencies are
# an optional extra).
_LAZY: dict[str, str] = {"milvus": "newsrag.milvus_store:MilvusStore"}


@dataclass
class BuildOutput:
    """Everything a build hands to a store to write: all articles and passages in row order,
    the vectors embedded by this build per article, and the articles that went away."""

    articles: list["ArticleMeta"]
    passages: list["Passage"]
    model: "ModelInfo"
    all_vectors: Callable[[], np.ndarray]  # every row's vector, in row order (computed on demand)
    fresh: dict[str, np.ndarray]  # article id -> vectors of its passages embedded by this build
    removed: list[str]  # article ids of the previous build whose rows must go
    full: bool
    corpus_files: dict[str, str]
    skipped: list[tuple[str, str]]
    names: "NameTable"
    statements: Sequence["Statement"]
    sentences: "SentenceVectors | None"
    encoder_dir: Path | None
    extra: dict[str, Any] = field(default_factory=dict)
    corpus_dir: str | None = None  # the folder built from (absolute), recorded in the manifest


class PassageStore(ABC):
    """One index's storage. Constructed with the index folder and the settings."""

    kind: ClassVar[str] = ""

    def __init__(self, index_dir: Path | str, settings: "Settings"):
        self.index_dir = Path(index_dir)
        self.settings = settings
        # What the last write() wrote, as the store counts it (``passages``: passage rows
        # written; a store may add its own keys); empty when it does not say.
        self.written: dict[str, Any] = {}

    @abstractmethod
    def exists(self) -> bool:
        """Whether a complete index is there."""

    @abstractmethod
    def describe(self) -> str:
        """Where the index is, for messages and ``info``."""

    @abstractmethod
    def read_manifest(self) -> "Manifest":
        """The live index's manifest (checked)."""

    @abstractmethod
    def open(self, fingerprint: "str | Callable[[str], bool]") -> "Generation":
        """The live index, checked against this run's model fingerprint and chunking."""

    @abstractmethod
    def write(self, output: BuildOutput) -> None:
        """Make ``output`` the live index (call under :meth:`lock`)."""

    @abstractmethod
    def lock(self) -> AbstractContextManager[None]:
        """The one-build-at-a-time lock."""

    def clean(self) -> None:
        """Remove what killed builds left behind (call under :meth:`lock`)."""
        return None  # nothing to clean unless a store keeps staging areas

    def is_locked(self) -> bool:
        return False

    def wait_for_lock(self, say: Callable[[str], None]) -> None:
        """Block until no build holds the lock."""
        return None  # no lock to wait for unless a store has one

    def version(self) -> str | None:
        """A token that changes whenever a build makes new data live (live reload polls it)."""
        try:
            return self.read_manifest().built_at if self.exists() else None
        except NewsragError:
            return None

    def local_folder(self) -> Path | None:
        """A local folder for what a build keeps beside the index (the ONNX encoder)."""
        return None


def register_store(name: str) -> Callable[[type[PassageStore]], type[PassageStore]]:
    """Class decorator: make a :class:`PassageStore` subclass selectable as ``--store name``."""
    return registrar(STORES, "kind", name)


def store_class(spec: str) -> type[PassageStore]:
    """The class for a registry name, an installed plugin's entry point (group
    ``newsrag.stores``) or a dotted path (``pkg.module:Class``), by the same resolver as
    encoders, generators and readers (:mod:`newsrag.plugins`). Milvus registers itself when its
    module is imported, which needs the scale extra."""
    if spec in _LAZY and spec not in STORES:
        try:
            importlib.import_module(_LAZY[spec].partition(":")[0])
        except ImportError as exc:
            raise NewsragError(f"--store {spec} needs the scale extra: pip install "
                               f"'newsrag[scale]' ({exc})") from None
    return resolve_class(spec, STORES, PassageStore, "newsrag.stores", "store", also=_LAZY)


def make_store(settings: "Settings", index_dir: Path | str) -> PassageStore:
    """The store the settings choose, for ``index_dir``."""
    return store_class(settings.store)(index_dir, settings)


@register_store("faiss")
class FaissStore(PassageStore):
    """Today's on-disk generations: FAISS, bm25s and JSON files under ``index_dir``."""

    def __init__(self, index_dir: Path | str, settings: "Settings"):
        from .store import IndexStore

        super().__init__(index_dir, settings)
        self.disk = IndexStore(self.index_dir)

    def exists(self) -> bool:
        return self.disk.exists()

    def describe(self) -> str:
        return f"{self.index_dir}/"

    def read_manifest(self) -> "Manifest":
        return self.disk.read_manifest()

    def open(self, fingerprint: "str | Callable[[str], bool]") -> "Generation":
        from .store import open_generation

        return open_generation(self.disk, self.settings, fingerprint)

    def lock(self) -> AbstractContextManager[None]:
        return self.disk.lock()

    def clean(self) -> None:
        self.disk.clean()

    def is_locked(self) -> bool:
        return self.disk.is_locked()

    def wait_for_lock(self, say: Callable[[str], None]) -> None:
        self.disk.wait_for_lock(say)

    def version(self) -> str | None:
        try:
            return (self.index_dir / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return None

    def local_folder(self) -> Path | None:
        try:
            return self.disk.current() if self.disk.exists() else None
        except NewsragError:
            return None

    def write(self, output: BuildOutput) -> None:
        from .build import embedding_text, write_generation
        from .lexical import LexicalIndex
        from .vectors import DenseIndex

        s = self.settings
        dim = output.model.dim
        dense = DenseIndex.build(output.all_vectors(), dim, s.approximate_threshold, s.hnsw_m,
                                 s.hnsw_ef_construction, s.hnsw_ef_search, s.approximate_index,
                                 s.ivf_nprobe)
        meta_by_id = {a.id: a for a in output.articles}
        lexical = LexicalIndex.build(
            [embedding_text(meta_by_id[p.article_id], p.text) for p in output.passages])
        write_generation(self.disk, dense, lexical, output.passages, output.articles,
                         output.model, s, output.corpus_files, output.skipped, output.names,
                         output.statements, output.sentences, output.encoder_dir,
                         output.corpus_dir)
        self.written = {"mode": "generation", "passages": len(output.passages)}
