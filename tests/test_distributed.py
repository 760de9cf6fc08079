"""A build that embeds on Ray gives the single-process build's passages and vectors."""

from __future__ import annotations

import time

import numpy as np
import pytest

from newsrag import Index
from newsrag.stores import make_store

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'newsrag[scale]')")


@pytest.mark.slow
def test_ray_build_equals_single_process_build(corpus, tmp_path, settings, embedder, seed_index):
    from newsrag.distributed import RayExecutor

    executor = RayExecutor("local", workers=2)
    started = time.perf_counter()
    try:
        ray_index = Index.build(corpus, tmp_path / "index", settings, embedder=embedder,
                                executor=executor)
    finally:
        executor.shutdown()
    seconds = time.perf_counter() - started
    assert executor.seconds > 0  # the embedding went through Ray
    one = make_store(settings, seed_index.folder).open(lambda _: True)
    distributed = make_store(settings, tmp_path / "index").open(lambda _: True)
    assert [(p.article_id, p.start, p.end, p.text) for p in distributed.passages] == \
        [(p.article_id, p.start, p.end, p.text) for p in one.passages]
    n = len(one.passages)
    diff = np.abs(distributed.dense.vectors(0, n) - one.dense.vectors(0, n)).max()
    assert diff <= 1e-5, diff
    print(f"ray build {seconds:.1f}s (embedding {executor.seconds:.1f}s), max |diff| {diff:.2e}")
    assert ray_index.ask("At what time were the attacks made?").answer == \
        seed_index.ask("At what time were the attacks made?").answer
