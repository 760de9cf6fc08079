"""The dense (FAISS) index: exact for small corpora, HNSW past a size threshold.

Vectors are L2-normalised, so inner product is cosine similarity. The FAISS row position is the
passage id. Both index kinds store the full vectors, so an incremental build reads the unchanged
articles' vectors back from the old index instead of embedding them again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DenseIndex"]

# Up to this many allowed rows, a filtered search scores them exactly instead of asking FAISS.
EXACT_SUBSET_MAX = 50_000


class DenseIndex:
    """A FAISS index plus the record of what kind it is and with which parameters."""

    def __init__(self, faiss_index, kind: str, params: dict[str, Any]):
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
              ef_construction: int, ef_search: int) -> "DenseIndex":
        """Exact ``IndexFlatIP`` below ``approximate_threshold`` rows, ``IndexHNSWFlat`` above."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        if len(vectors) < approximate_threshold:
            index = faiss.IndexFlatIP(dim)
            kind, params = "flat", {}
        else:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
            kind = "hnsw"
            params = {"M": hnsw_m, "efConstruction": ef_construction, "efSearch": ef_search}
        if len(vectors):
            index.add(vectors)
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
        if kind == "hnsw":
            index.hnsw.efSearch = int(params.get("efSearch", 128))
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
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=int(self.params.get("efSearch", 128)))
                      if self.kind == "hnsw" else faiss.SearchParameters(sel=sel))
            scores, rows = self.index.search(q, min(k, len(allowed)), params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def similarity(self, query: np.ndarray, rows: list[int]) -> list[float]:
        """Cosine of the query with given rows (to report a comparable score in every mode)."""
        if not rows:
            return []
        vecs = np.stack([self.index.reconstruct(int(r)) for r in rows])
        return [float(x) for x in vecs @ query.reshape(-1)]
