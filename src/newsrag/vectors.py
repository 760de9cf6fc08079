"""The dense (FAISS) index: exact for small corpora, approximate past a size threshold.

Vectors are L2-normalised, so inner product is cosine similarity. The FAISS row position is the
passage id. Every index kind can give its vectors back, so an incremental build reads the
unchanged articles' vectors from the old index instead of embedding them again (exactly for
``flat`` and ``hnsw``; to 8-bit precision for the ``*_sq8`` kinds, about 0.998 cosine).

Approximate kinds (``NEWSRAG_APPROXIMATE_INDEX``), chosen on synthetic mixtures of real vectors
at a million passages (benchmarks/REPORT.md):

- ``hnsw``: HNSW graph over float32 vectors (1.5 KB per 384-d vector plus the graph).
- ``hnsw_sq8``: the same graph over 8-bit scalar-quantised vectors (384 B per vector + graph).
- ``ivf_sq8`` (the default): an inverted file (about 2 sqrt(n) lists, k-means on 100,000 of the
  vectors) over 8-bit vectors. At a million passages with nprobe=32: recall@10 0.974 against
  exact search, 396 resident bytes per passage; HNSW over 8-bit vectors reached only 0.72 there
  (efSearch 256) at 657 bytes, and HNSW over float32 vectors needs 1.5 KB for the vectors alone.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["DenseIndex", "SentenceVectors", "NpyOnDisk", "passage_sentences", "text_keys"]

# Up to this many allowed rows, a filtered search scores them exactly instead of asking FAISS.
EXACT_SUBSET_MAX = 50_000


class DenseIndex:
    """A FAISS index plus the record of what kind it is and with which parameters."""

    def __init__(self, faiss_index: Any, kind: str, params: dict[str, Any]):
        self.index = faiss_index
        self.kind = kind
        self.params = params

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, approximate_threshold: int, hnsw_m: int,
              ef_construction: int, ef_search: int, approximate: str = "hnsw",
              nprobe: int = 32) -> "DenseIndex":
        """Exact ``IndexFlatIP`` below ``approximate_threshold`` rows, the ``approximate`` kind
        (see the module docstring) from there on."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        n = len(vectors)
        sq8 = faiss.ScalarQuantizer.QT_8bit
        if n < approximate_threshold:
            index = faiss.IndexFlatIP(dim)
            kind, params = "flat", {}
        elif approximate in ("hnsw", "hnsw_sq8"):
            index = (faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
                     if approximate == "hnsw" else
                     faiss.IndexHNSWSQ(dim, sq8, hnsw_m, faiss.METRIC_INNER_PRODUCT))
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
            kind = approximate
            params = {"M": hnsw_m, "efConstruction": ef_construction, "efSearch": ef_search}
        elif approximate == "ivf_sq8":
            # 2 sqrt(n) lists, a power of two: 2,048 at a million, as measured.
            nlist = int(2 ** round(np.log2(max(2.0, 2 * np.sqrt(n)))))
            index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, sq8,
                                                  faiss.METRIC_INNER_PRODUCT)
            index.nprobe = nprobe
            kind, params = "ivf_sq8", {"nlist": nlist, "nprobe": nprobe}
        else:
            raise ValueError(f"unknown approximate index kind {approximate!r}")
        if not index.is_trained:
            sample = vectors[np.random.default_rng(0).choice(n, min(n, 100_000), replace=False)]
            index.train(sample)
        if n:
            index.add(vectors)
        if kind == "ivf_sq8":
            index.make_direct_map()  # rows by id: vectors(), filtered search, similarity
        return cls(index, kind, params)

    def vectors(self, first: int, count: int) -> np.ndarray:
        """Rows ``[first, first + count)`` as stored."""
        if count == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_n(first, count)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str, params: dict[str, Any]) -> "DenseIndex":
        import faiss

        index = faiss.read_index(str(path))
        if kind in ("hnsw", "hnsw_sq8"):
            index.hnsw.efSearch = int(params.get("efSearch", 128))
        elif kind == "ivf_sq8":
            index.nprobe = int(params.get("nprobe", 32))
            index.make_direct_map()
        return cls(index, kind, params)

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top ``k`` rows by cosine similarity, best first; only ``allowed`` rows if given.

        A small allowed set (a speaker's statements, a date range) is scored exactly from its
        stored vectors: an HNSW walk restricted to a few rows can miss them. A large one goes
        through FAISS with an ID selector.
        """
        if self.size == 0:
            return []
        q = query.reshape(1, -1).astype(np.float32)
        if allowed is None:
            scores, rows = self.index.search(q, min(k, self.size))
        elif len(allowed) == 0:
            return []
        elif len(allowed) <= EXACT_SUBSET_MAX:
            ids = np.asarray(allowed, dtype=np.int64)
            sims = self.index.reconstruct_batch(ids) @ q.reshape(-1)
            top = np.argsort(-sims, kind="stable")[:k]
            return [(int(ids[i]), float(sims[i])) for i in top]
        else:
            import faiss

            sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            if self.kind in ("hnsw", "hnsw_sq8"):
                params = faiss.SearchParametersHNSW(sel=sel,
                                                    efSearch=int(self.params.get("efSearch", 128)))
            elif self.kind == "ivf_sq8":
                params = faiss.SearchParametersIVF(sel=sel, nprobe=int(self.params["nprobe"]))
            else:
                params = faiss.SearchParameters(sel=sel)
            scores, rows = self.index.search(q, min(k, len(allowed)), params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def similarity(self, query: np.ndarray, rows: list[int]) -> list[float]:
        """Cosine of the query with given rows (to report a comparable score in every mode)."""
        if not rows:
            return []
        vecs = np.stack([self.index.reconstruct(int(r)) for r in rows])
        return [float(x) for x in vecs @ query.reshape(-1)]


def passage_sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where the sentences of a passage are: every sentence of every paragraph
    (``split_sentences`` per line), in order, repeats included."""
    from .passages import split_sentences

    return [span for line in re.finditer(r"[^\n]+", text)
            for span in split_sentences(text, line.start(), line.end())]


def passage_sentences(text: str) -> list[str]:
    """The sentence texts of a passage the answerer and the grounding check embed: those of
    :func:`passage_sentence_spans`, each once, in order."""
    return list(dict.fromkeys(text[s:e] for s, e in passage_sentence_spans(text)))


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """64-bit keys of texts (BLAKE2b): how stored sentence vectors are found by their text
    without keeping the texts (a collision needs ~4 billion sentences to become likely)."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
         for t in texts), dtype=np.uint64, count=len(texts))


class SentenceVectors:
    """Vectors of the passages' sentences, made at build time so a question embeds only itself.

    Two arrays, rows sorted by key: ``keys`` (uint64 text keys) and ``vectors`` (float32, the
    same encoder as the passages). Loaded, the keys are memory-mapped (8 bytes a sentence, and a
    binary search touches the same few pages question after question) and the vectors left on
    disk (:class:`NpyOnDisk`): a question reads its candidate sentences' rows, and what it read
    does not stay in the process, as it did in a memory map (1.5 KB a sentence; a news-sized
    index has several sentences a passage). Lookup is a binary search.
    """

    KEYS = "sentences.keys.npy"
    VECTORS = "sentences.vectors.npy"

    def __init__(self, keys: np.ndarray, vectors: "np.ndarray | NpyOnDisk"):
        self.keys, self.vectors = keys, vectors

    @property
    def size(self) -> int:
        return int(len(self.keys))

    @classmethod
    def build(cls, keys: np.ndarray, vectors: np.ndarray) -> "SentenceVectors":
        """From unsorted keys and their vectors (a repeated key keeps its first vector)."""
        keys = np.asarray(keys, dtype=np.uint64)
        uniq, first = np.unique(keys, return_index=True)
        return cls(uniq, np.ascontiguousarray(vectors[first], dtype=np.float32))

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key, -1 where absent."""
        keys = np.asarray(keys, dtype=np.uint64)
        if self.size == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), self.size - 1)
        return np.where(self.keys[pos] == keys, pos, -1).astype(np.int64)

    def lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those ``texts`` that have one."""
        rows = self.find(text_keys(texts))
        hit = np.flatnonzero(rows >= 0)
        if len(hit) == 0:
            return {}
        vecs = np.asarray(self.vectors[np.sort(rows[hit])])  # sorted rows: sequential reads
        by_row = dict(zip(np.sort(rows[hit]).tolist(), vecs))
        return {texts[i]: by_row[int(rows[i])] for i in hit.tolist()}

    def save(self, folder: Path) -> None:
        np.save(folder / self.KEYS, self.keys)
        np.save(folder / self.VECTORS, self.vectors)

    @classmethod
    def load(cls, folder: Path) -> "SentenceVectors | None":
        """The stored sentence vectors (keys memory-mapped, vectors read as asked for); None
        for an index built without them."""
        if not (folder / cls.KEYS).is_file():
            return None
        return cls(np.load(folder / cls.KEYS, mmap_mode="r"),
                   NpyOnDisk.open(folder / cls.VECTORS))


class NpyOnDisk:
    """A saved ``.npy`` array left on disk and read a slice (or a few rows) at a time with
    positioned reads (``os.pread``). Unlike a memory map, what has been read does not stay
    mapped into the process: it lives in the operating system's file cache, shared and
    dropped under memory pressure, and the process' resident memory does not grow with every
    page a query once touched (with a map, 400 questions left 727 MB of a million passages'
    BM25 scores resident). Safe to share between threads (no file position is shared).
    """

    def __init__(self, path: Path):
        fh = path.open("rb")
        try:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(fh)
        except BaseException:
            fh.close()
            raise
        if fortran or not shape:
            fh.close()
            raise ValueError(f"{path}: expected a C-ordered array of at least one dimension")
        self.path, self._fh = path, fh
        self._offset = fh.tell()
        self.shape: tuple[int, ...] = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._row_shape = self.shape[1:]
        self._row_bytes = self.dtype.itemsize * int(np.prod(self._row_shape, dtype=np.int64))
        size = os.fstat(fh.fileno()).st_size
        if self._offset + self.shape[0] * self._row_bytes > size:
            fh.close()
            raise ValueError(f"{path} is shorter than its header says (truncated)")

    @classmethod
    def open(cls, path: Path) -> "NpyOnDisk | np.ndarray":
        """The array on disk; memory-mapped where ``os.pread`` does not exist (Windows)."""
        if not hasattr(os, "pread"):
            return np.load(path, mmap_mode="r")
        return cls(path)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _read(self, first: int, count: int) -> np.ndarray:
        data = os.pread(self._fh.fileno(), count * self._row_bytes,
                        self._offset + first * self._row_bytes) if count else b""
        return np.frombuffer(data, dtype=self.dtype).reshape((count, *self._row_shape))

    def __getitem__(self, key: Any) -> Any:
        n = self.shape[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                return self._read(start, max(0, stop - start))
            key = np.arange(start, stop, step)
        if isinstance(key, (int, np.integer)):
            i = int(key) + n if int(key) < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"row {int(key)} out of range ({n} rows)")
            return self._read(i, 1)[0]
        rows = np.asarray(key, dtype=np.int64).reshape(-1)
        rows = np.where(rows < 0, rows + n, rows)
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise IndexError(f"rows out of range ({n} rows)")
        out = np.empty((len(rows), *self._row_shape), dtype=self.dtype)
        if not len(rows):
            return out
        # One read per run of consecutive rows (in row order), not one per row: a build reusing
        # most of a generation's sentence vectors reads them in a few long runs.
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        cuts = np.flatnonzero(np.diff(ordered) != 1) + 1
        for first, last in zip([0, *cuts.tolist()], [*cuts.tolist(), len(rows)]):
            out[order[first:last]] = self._read(int(ordered[first]), last - first)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self._read(0, self.shape[0])
        return whole.astype(dtype) if dtype is not None else whole.copy()
