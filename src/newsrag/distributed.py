"""Distributed embedding: an executor for :func:`newsrag.build.build_index` that runs on Ray.

The build reads, diffs and chunks the corpus in the driver (cheap: about 1% of a build's time
here) and hands the one heavy step, embedding, to an executor. :class:`RayExecutor` ships the
embedder once to a pool of Ray actors (one per ``num_cpus_per_worker`` CPUs of the cluster, or
``workers``), sends them slices of the texts in order and concatenates the vectors, so the result
is the single-process build's, row for row. ``address``: ``local`` starts Ray inside this
process, ``auto`` joins the cluster ``ray start`` made on this machine, ``ray://HOST:10001``
connects a Ray client to a remote cluster (its workers need newsrag and the model installed).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import NewsragError

if TYPE_CHECKING:
    from .embedding import Embedder

__all__ = ["RayExecutor"]

SLICE = 256  # texts per task: small enough to balance, large enough to batch well


class _EmbedActor:
    """Holds one embedder; encodes the slices it is sent."""

    def __init__(self, embedder: "Embedder", threads: int):
        try:
            import torch

            torch.set_num_threads(max(1, threads))
        except ImportError:
            pass
        self.embedder = embedder

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.embedder.encode(texts, batch_size=batch_size, progress=False)


class RayExecutor:
    """Embed on a Ray cluster (an :data:`~newsrag.build.EmbedExecutor`)."""

    name = "ray"

    def __init__(self, address: str = "local", workers: int | None = None,
                 num_cpus_per_worker: int = 1, slice_size: int = SLICE):
        self.address, self.workers = address, workers
        self.num_cpus_per_worker, self.slice_size = num_cpus_per_worker, slice_size
        self.started_ray = False
        self.seconds = 0.0

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError as exc:
            raise NewsragError(f"--ray-address needs the scale extra: pip install "
                               f"'newsrag[scale]' ({exc})") from None
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "ignore_reinit_error": True}
            if self.address == "local":
                ray.init(**kwargs)
            else:
                ray.init(address=self.address, **kwargs)
            self.started_ray = True
        return ray

    def worker_count(self) -> int:
        ray = self._ray()
        if self.workers:
            return self.workers
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return max(1, cpus // max(1, self.num_cpus_per_worker))

    def __call__(self, embedder: "Embedder", texts: list[str], batch_size: int) -> np.ndarray:
        import time

        from ray.util import ActorPool

        started = time.perf_counter()
        ray = self._ray()
        if not texts:
            return np.zeros((0, embedder.info.dim), np.float32)
        slices = [texts[i:i + self.slice_size] for i in range(0, len(texts), self.slice_size)]
        count = min(self.worker_count(), len(slices))
        shipped = ray.put(embedder)
        actor = ray.remote(num_cpus=self.num_cpus_per_worker)(_EmbedActor)
        actors = [actor.remote(shipped, self.num_cpus_per_worker) for _ in range(count)]
        try:
            pool = ActorPool(actors)
            parts = list(pool.map(lambda a, part: a.encode.remote(part, batch_size), slices))
        finally:
            for a in actors:
                ray.kill(a)
        self.seconds += time.perf_counter() - started
        return np.concatenate(parts).astype(np.float32, copy=False)

    def shutdown(self) -> None:
        """Disconnect from (or stop the local) Ray, if this executor started it."""
        if self.started_ray:
            import ray

            ray.shutdown()
            self.started_ray = False
