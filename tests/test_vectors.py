"""The dense index kinds on real FAISS: each finds a stored vector first, honours a row filter
(small and large), gives its vectors back for incremental builds, and survives save and load."""

from __future__ import annotations

import numpy as np
import pytest

from newsrag.vectors import DenseIndex


def _unit(n: int, dim: int = 48, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "hnsw_sq8", "ivf_sq8"])
def test_dense_index_kinds(kind, tmp_path):
    vectors = _unit(4000)
    threshold = 10**9 if kind == "flat" else 0
    index = DenseIndex.build(vectors, 48, threshold, 16, 64, 64,
                             "hnsw" if kind == "flat" else kind, nprobe=64)
    assert index.kind == kind and index.size == 4000
    exact = kind in ("flat", "hnsw")
    for row in (0, 1234, 3999):
        best, score = index.search(vectors[row], 3)[0]
        assert best == row and score == pytest.approx(1.0, abs=1e-6 if exact else 5e-3)
    few = np.arange(100, 200)
    assert all(100 <= r < 200 for r, _ in index.search(vectors[150], 5, allowed=few))
    assert index.search(vectors[150], 1, allowed=few)[0][0] == 150
    back = index.vectors(10, 5)
    assert np.min(np.sum(back * vectors[10:15], axis=1)) > (0.99999 if exact else 0.995)
    path = tmp_path / "dense.faiss"
    index.save(path)
    again = DenseIndex.load(path, index.kind, index.params)
    assert again.search(vectors[42], 3) == index.search(vectors[42], 3)
    assert again.similarity(vectors[42], [42])[0] == pytest.approx(1.0, abs=5e-3)


def test_pool_spans_averages_the_tokens_inside_each_span_and_skips_what_was_cut_off():
    from newsrag.embedding import pool_spans

    tokens = np.array([[9, 9], [1, 0], [3, 0], [0, 2], [9, 9]], dtype=np.float32)
    offsets = [(0, 0), (0, 4), (5, 9), (10, 14), (0, 0)]  # [CLS] w1 w2 w3 [SEP]
    first, second, cut, empty = pool_spans(tokens, offsets, [(0, 9), (10, 14), (10, 20), (4, 5)])
    assert np.allclose(first, [1.0, 0.0]) and np.allclose(second, [0.0, 1.0])
    assert cut is None and empty is None  # past the last token seen; no token inside
