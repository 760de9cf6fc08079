"""A build that embeds on Ray gives the single-process build's passages and vectors: on a Ray
started inside the test process, and on a real local cluster (a head and a worker node, each its
own `ray start` process) reached by the CLI through `--ray-address auto` and `ray://`."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, free_port, run_cli

from newsrag import Index
from newsrag.errors import NewsragError
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


def _passages_and_vectors(folder: Path) -> tuple[list[tuple], np.ndarray, dict[int, np.ndarray]]:
    from newsrag import Settings

    generation = make_store(Settings(), folder).open(lambda _: True)
    rows = [(p.article_id, p.start, p.end, p.text) for p in generation.passages]
    sentences = generation.sentences()
    by_key = ({int(k): v for k, v in zip(sentences.keys, sentences.vectors)}
              if sentences is not None else {})
    return rows, generation.dense.vectors(0, len(rows)), by_key


def _max_diff(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> float:
    assert a.keys() == b.keys() and a
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


@pytest.mark.model  # the CLI in subprocesses exports and runs the real model
@pytest.mark.slow
def test_build_on_a_local_ray_cluster_equals_a_single_process_build(tmp_path):
    """A head and a worker node started by `ray start` (separate processes, loopback only);
    builds through the CLI with --ray-address auto (RAY_ADDRESS set) and ray://127.0.0.1:PORT
    (the head's Ray client server) give the single-process build's passages and vectors.
    Both encode fp32 (--no-quantize): the int8 encoder, a new index's default on a CPU,
    quantises activations per batch, so its vectors depend on how texts are batched."""
    from ray_cluster import LocalRayCluster

    shutil.copytree(CORPUS, tmp_path / "corpus")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    single = run_cli("build", "--index", "single", "--no-quantize", cwd=tmp_path)
    timings["single-process build"] = time.perf_counter() - started
    assert single.returncode == 0, single.stderr

    cluster = LocalRayCluster(cpus_per_node=1)
    try:
        started = time.perf_counter()
        cluster.start()
        timings["ray start (head + worker)"] = time.perf_counter() - started
        env = {**cluster.driver_env(), "RAY_ADDRESS": cluster.gcs_address}
        started = time.perf_counter()
        auto = run_cli("build", "--index", "ray", "--no-quantize", "--ray-address", "auto",
                       "--ray-workers", "2", cwd=tmp_path, env=env)
        timings["build --ray-address auto"] = time.perf_counter() - started
        assert auto.returncode == 0, auto.stderr
        assert "executor ray" in auto.stderr and "indexed 2 articles" in auto.stderr
        assert "embedding ran on 2 Ray node(s)" in auto.stderr, auto.stderr[-2000:]

        # a full rebuild of the same index through the Ray client server
        started = time.perf_counter()
        client = run_cli("build", "--index", "ray", "--full", "--ray-address",
                         cluster.client_address, "--ray-workers", "2", cwd=tmp_path,
                         env=cluster.driver_env())
        timings["build --full --ray-address ray://"] = time.perf_counter() - started
        assert client.returncode == 0, client.stderr
        assert "full rebuild" in client.stderr or "8 passages embedded" in client.stderr
        assert "embedding ran on 2 Ray node(s)" in client.stderr, client.stderr[-2000:]
        pids = cluster.pids()
        assert pids  # the cluster is alive until stopped
    finally:
        cluster.stop()
    assert not cluster.pids()  # and none of its processes outlives the test

    rows, vectors, sentences = _passages_and_vectors(tmp_path / "single")
    ray_rows, ray_vectors, ray_sentences = _passages_and_vectors(tmp_path / "ray")
    assert ray_rows == rows and len(rows) == 8
    diff = float(np.abs(ray_vectors - vectors).max())
    sentence_diff = _max_diff(sentences, ray_sentences)
    assert diff <= 1e-5 and sentence_diff <= 1e-5, (diff, sentence_diff)
    asked = run_cli("ask", "At what time were the attacks made?", "--json", "--index", "ray",
                    cwd=tmp_path)
    assert asked.returncode == 0 and "5:30" in json.loads(asked.stdout)["answer"], asked.stderr
    print("\nlocal Ray cluster: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
          + f"; max |diff| passages {diff:.1e}, sentences {sentence_diff:.1e}")


def test_bad_ray_addresses_are_refused_clearly(tmp_path):
    from newsrag.distributed import RayExecutor

    for bad in ("", "nowhere", "http://127.0.0.1:6379", "ray://host"):
        with pytest.raises(NewsragError, match="is not a Ray address"):
            RayExecutor(bad)
    for good in ("local", "auto", "127.0.0.1:6379", "ray://127.0.0.1:10001", "head.example:6379"):
        assert RayExecutor(good).address == good


def test_cli_refuses_an_unreachable_ray_address_before_any_work(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    closed = free_port()  # nothing listens there
    for address in (f"ray://127.0.0.1:{closed}",):
        started = time.perf_counter()
        built = run_cli("build", "--ray-address", address, cwd=tmp_path, timeout=60)
        assert built.returncode == 1 and built.stderr.startswith("error: "), built.stderr
        assert "Traceback" not in built.stderr
        assert time.perf_counter() - started < 30  # no model loaded, no Ray retries
    assert "nothing answers at 127.0.0.1" in run_cli(
        "build", "--ray-address", f"127.0.0.1:{closed}", cwd=tmp_path, timeout=60).stderr
    assert not (tmp_path / "index" / "CURRENT").exists()
