"""Distributed embedding: an executor for :func:`newsrag.build.build_index` that runs on Ray.

The build reads, diffs and chunks the corpus in the driver (cheap: about 1% of a build's time
here) and hands the one heavy step, embedding, to an executor. :class:`RayExecutor` ships the
embedder once to a pool of Ray actors (one per ``num_cpus_per_worker`` CPUs of the cluster, or
``workers``), sends them slices of the texts in order and concatenates the vectors, so the result
is the single-process build's, row for row.

``address``: ``local`` starts Ray inside this process; ``auto`` joins the cluster ``ray start``
made on this machine (or the one ``RAY_ADDRESS`` names); ``HOST:PORT`` joins a cluster by its
GCS address; ``ray://HOST:10001`` connects a Ray client to a cluster's client server
(``ray start --head --ray-client-server-port 10001``).

What travels to a cluster (``auto``, ``HOST:PORT``, ``ray://``):

- this process's ``newsrag`` package, as a Ray ``py_modules`` runtime environment, so the
  actors run the driver's code even where another newsrag version is installed (the workers
  still need newsrag's dependencies: onnxruntime and tokenizers, or sentence-transformers);
- an exported ONNX encoder (the default) as its folder's path, re-opened by each actor with one
  intra-op thread per CPU it reserved; when the cluster spans machines, also the folder's files
  (about 90 MB, once, through Ray's object store), written to a temporary folder by an actor
  that does not see the path;
- any other encoder (sentence-transformers, a plugin) pickled whole.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .errors import NewsragError

if TYPE_CHECKING:
    from .embedding import Embedder, SpanVectors

__all__ = ["RayExecutor", "check_address", "EncoderFolder"]

SLICE = 256  # texts per task: small enough to balance, large enough to batch well
ADDRESS = re.compile(r"local|auto|ray://[\w.\-\[\]:]+:\d+|[\w.\-\[\]:]+:\d+")


def check_address(address: str) -> str:
    """``address`` if it is a Ray address newsrag can use, else a clear error."""
    if not ADDRESS.fullmatch(address or ""):
        raise NewsragError(f"--ray-address {address!r} is not a Ray address: use local, auto, "
                           "HOST:PORT (a cluster's GCS) or ray://HOST:10001 (a Ray client "
                           "server)")
    return address


class EncoderFolder:
    """An exported ONNX encoder as an actor receives it: the folder's path, its fingerprint and,
    for a cluster that spans machines, a reference to its files in Ray's object store (a
    reference inside a list, so that Ray does not fetch it unless the path is missing)."""

    def __init__(self, folder: str, fingerprint: str, files: list[Any] | None = None):
        self.folder, self.fingerprint, self.files = folder, fingerprint, files

    def open(self, threads: int) -> "Embedder":
        from .embedding import OnnxEmbedder, encoder_meta

        folder = Path(self.folder)
        meta = encoder_meta(folder) if folder.is_dir() else None
        if meta is None or meta.get("fingerprint") != self.fingerprint:
            if not self.files:
                raise NewsragError(f"the encoder folder {self.folder} is not on this Ray node")
            import ray

            contents: dict[str, bytes] = ray.get(self.files[0])
            folder = Path(tempfile.mkdtemp(prefix="newsrag-encoder-"))
            for name, data in contents.items():
                (folder / name).write_bytes(data)
        return OnnxEmbedder(str(folder), threads=threads)


class _EmbedActor:
    """Holds one embedder; encodes the slices it is sent."""

    def __init__(self, embedder: "Embedder | EncoderFolder", threads: int):
        try:
            import torch

            torch.set_num_threads(max(1, threads))
        except ImportError:
            pass
        self.embedder = (embedder.open(max(1, threads)) if isinstance(embedder, EncoderFolder)
                         else embedder)

    def node(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.embedder.encode(texts, batch_size=batch_size, progress=False)

    def encode_spans(self, texts: list[str], spans: list[list[tuple[int, int]]],
                     batch_size: int) -> tuple[np.ndarray, "SpanVectors"]:
        return self.embedder.encode_spans(texts, spans, batch_size=batch_size, progress=False)


class RayExecutor:
    """Embed on a Ray cluster (an :data:`~newsrag.build.EmbedExecutor`)."""

    name = "ray"

    def __init__(self, address: str = "local", workers: int | None = None,
                 num_cpus_per_worker: int = 1, slice_size: int = SLICE):
        self.address, self.workers = check_address(address), workers
        self.num_cpus_per_worker, self.slice_size = num_cpus_per_worker, slice_size
        self.started_ray = False
        self.seconds = 0.0
        self.nodes: set[str] = set()  # the Ray nodes whose actors embedded

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError as exc:
            raise NewsragError(f"--ray-address needs the scale extra: pip install "
                               f"'newsrag[scale]' ({exc})") from None
        if not ray.is_initialized():
            self._probe()
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            kwargs: dict[str, Any] = {"log_to_driver": False, "ignore_reinit_error": True}
            try:
                if self.address == "local":
                    ray.init(include_dashboard=False, **kwargs)
                else:
                    import newsrag

                    # the driver's newsrag on every worker, whatever is installed there
                    package = str(Path(newsrag.__file__).resolve().parent)
                    ray.init(address=self.address, runtime_env={"py_modules": [package]},
                             **kwargs)
            except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
                raise NewsragError(f"cannot connect to Ray at {self.address}: "
                                   f"{str(exc).splitlines()[0][:300]}") from None
            self.started_ray = True
        return ray

    def connect(self) -> None:
        """Join (or start) Ray now: a wrong address fails before any work is done."""
        self._ray()

    def _probe(self) -> None:
        """Fail at once, with a clear message, where nothing listens at the address (Ray itself
        retries for 30 s to minutes before giving up)."""
        import socket

        address = self.address
        if address == "auto":
            address = os.environ.get("RAY_ADDRESS", "") or "auto"
        if address in ("local", "auto"):
            return
        host, _, port = address.removeprefix("ray://").rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
        except OSError as exc:
            raise NewsragError(f"cannot connect to Ray at {self.address}: nothing answers at "
                               f"{host}:{port} ({exc.strerror or exc}); start the cluster "
                               "(`ray start --head`) or check the address") from None

    def worker_count(self) -> int:
        ray = self._ray()
        if self.workers:
            return self.workers
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return max(1, cpus // max(1, self.num_cpus_per_worker))

    def _payload(self, ray: Any, embedder: "Embedder") -> Any:
        """What the actors are given to make their embedder (see the module docstring)."""
        from .embedding import OnnxEmbedder

        if not isinstance(embedder, OnnxEmbedder):
            return ray.put(embedder)
        machines = {n.get("NodeManagerAddress") for n in ray.nodes() if n.get("Alive")}
        files = None
        if self.address != "local" and len(machines) > 1:
            folder = Path(embedder.folder)
            files = [ray.put({p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()})]
        return EncoderFolder(str(Path(embedder.folder).resolve()), embedder.info.fingerprint,
                             files)

    def __call__(self, embedder: "Embedder", texts: list[str], batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, embedder.info.dim), np.float32)
        parts = self._map(embedder, [(t, None) for t in self._slices(texts)],
                          lambda a, part: a.encode.remote(part[0], batch_size))
        return np.concatenate(parts).astype(np.float32, copy=False)

    def encode_spans(self, embedder: "Embedder", texts: list[str],
                     spans: list[list[tuple[int, int]]], batch_size: int
                     ) -> tuple[np.ndarray, "SpanVectors"]:
        """:meth:`Embedder.encode_spans` on the actors: the passages' vectors and their
        sentences' vectors pooled from the same pass, as a single-process build makes them."""
        if not texts:
            return np.zeros((0, embedder.info.dim), np.float32), []
        slices = self._slices(texts)
        cuts = np.cumsum([0] + [len(t) for t in slices]).tolist()
        parts = self._map(embedder, [(t, spans[a:b]) for t, a, b in zip(slices, cuts, cuts[1:])],
                          lambda a, part: a.encode_spans.remote(part[0], part[1], batch_size))
        return (np.concatenate([v for v, _ in parts]).astype(np.float32, copy=False),
                [row for _, pooled in parts for row in pooled])

    def _slices(self, texts: list[str]) -> list[list[str]]:
        size = max(1, min(self.slice_size, -(-len(texts) // self.worker_count())))
        return [texts[i:i + size] for i in range(0, len(texts), size)]  # every actor gets work

    def _map(self, embedder: "Embedder", slices: list[Any], call: Callable[[Any, Any], Any]
             ) -> list[Any]:
        """``call(actor, slice)`` for every slice on a pool of actors holding ``embedder``;
        the results in slice order."""
        import time

        started = time.perf_counter()
        ray = self._ray()
        from ray.util import ActorPool

        count = min(self.worker_count(), len(slices))
        payload = self._payload(ray, embedder)
        actor = ray.remote(num_cpus=self.num_cpus_per_worker)(_EmbedActor)
        actors = [actor.remote(payload, self.num_cpus_per_worker) for _ in range(count)]
        try:
            pool = ActorPool(actors)
            parts = list(pool.map(call, slices))
            self.nodes |= set(ray.get([a.node.remote() for a in actors]))
        except ray.exceptions.RayError as exc:  # an actor died, a node went away, ...
            raise NewsragError(f"embedding on Ray at {self.address} failed, nothing was "
                               f"written: {str(exc).strip().splitlines()[-1][:300]}") from None
        finally:
            for a in actors:
                ray.kill(a)
        self.seconds += time.perf_counter() - started
        return parts

    def shutdown(self) -> None:
        """Disconnect from (or stop the local) Ray, if this executor started it."""
        if self.started_ray:
            import ray

            ray.shutdown()
            self.started_ray = False
