"""Getting an index ready in the background, and keeping a running server on the live generation.

A first start loads the model and may build the index (tens of seconds). The server starts at once
and the page shows what is happening instead of hanging; questions asked meanwhile wait for it.

A server started while another process builds the index (the build lock is held) waits for that
build and then loads its result, instead of failing every question until restarted. Once ready,
a watcher notices when ``index/CURRENT`` names a new generation (``newsrag add`` or ``build`` in
another process), loads it beside the old one (reusing the loaded model) and swaps it in with one
reference assignment: a question in flight finishes on the index it started with, the next one
gets the new index, and none fails.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .build import index_is_stale
from .errors import BuildLockedError, NewsragError
from .index import Index
from .settings import Settings

__all__ = ["IndexLoader", "IndexNotReadyError"]

log = logging.getLogger("newsrag")


class IndexNotReadyError(NewsragError):
    """The server has no index to answer from yet (still loading, or loading failed)."""


class IndexLoader:
    """Loads (building first if missing or stale) one index in a background thread, then follows
    the index folder's ``CURRENT`` pointer so new generations are served without a restart."""

    def __init__(self, corpus_dir: Path, index_dir: Path, settings: Settings,
                 poll_seconds: float = 1.0, progress: bool = False):
        self.corpus_dir, self.index_dir, self.settings = Path(corpus_dir), Path(index_dir), settings
        self.poll_seconds = poll_seconds
        self.progress = progress
        self.status = "Starting…"
        self.error: str | None = None
        self.generation = 0  # bumped on every index swapped in; views cache per generation
        self._index: Index | None = None
        self._pointer: str | None = None
        self._articles: dict[str, Any] | None = None
        self._done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newsrag-loader", daemon=True)

    def start(self) -> "IndexLoader":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following the index folder (tests; the server just exits)."""
        self._stop.set()

    # ---- loading ---------------------------------------------------------------------------
    def _read_pointer(self) -> str | None:
        """What changes when a build makes new data live: ``CURRENT`` for the FAISS store, the
        manifest's build time for Milvus (see :meth:`PassageStore.version`)."""
        from .stores import make_store

        try:
            return make_store(self.settings, self.index_dir).version()
        except NewsragError:
            return None

    def _first_load(self) -> Index:
        """Build if missing or stale, else load; while another process holds the build lock, wait
        for it (its result is what this server should serve)."""
        waited = False
        while True:
            try:
                stale = (index_is_stale(self.corpus_dir, self.index_dir, self.settings)
                         if self.corpus_dir.is_dir() else None)
                pointer = self._read_pointer()
                if stale:
                    self.status = (f"Building the index ({stale}): loading the model and embedding "
                                   "passages…")
                    log.info("building the index: %s", stale)
                    index = Index.build(self.corpus_dir, self.index_dir, self.settings,
                                        progress=self.progress)
                    log.info("%s", index.build_report.summary() if index.build_report else "built")
                else:
                    self.status = "Loading the index and the embedding model…"
                    index = Index.load(self.index_dir, self.settings)
                self._pointer = self._read_pointer() if stale else pointer
                return index
            except BuildLockedError:
                if not waited:
                    log.info("another build is running on %s/; waiting for it", self.index_dir)
                    waited = True
                self.status = "Waiting for a build in another process to finish…"
                if self._stop.wait(self.poll_seconds):
                    raise

    def _swap_in(self, index: Index) -> None:
        """Make ``index`` the one answers come from (one assignment: atomic for readers)."""
        info = index.info()
        self._articles = {
            "articles": [asdict(a) for a in index.articles()],
            "count": info["articles"], "passages": info["passages"], "built_at": info["built_at"],
        }
        self._index = index
        self.generation += 1
        self.status = f"Ready: {info['articles']} articles, {info['passages']} passages."

    def _run(self) -> None:
        try:
            self._swap_in(self._first_load())
            log.info("%s", self.status)
            _one_thread_per_request()
        except NewsragError as exc:
            self.error = str(exc)
            self.status = f"The index could not be loaded: {exc}"
            log.error("index not loaded: %s", exc)
        except Exception as exc:  # keep serving a page that says so, rather than dying silently
            self.error = f"unexpected error: {exc}"
            self.status = "The index could not be loaded (see the server log)."
            log.exception("index not loaded")
        finally:
            self._done.set()
        if self._index is not None:
            self._follow()

    def _follow(self) -> None:
        """Poll ``CURRENT``; load and swap in each new generation. A generation that fails to
        load (damaged, another model) is logged once and the current one keeps serving."""
        failed: str | None = None
        while not self._stop.wait(self.poll_seconds):
            pointer = self._read_pointer()
            if pointer is None or pointer == self._pointer or pointer == failed:
                continue
            started = time.perf_counter()
            try:
                current = self._index
                index = Index.load(self.index_dir, self.settings,
                                   embedder=current.embedder if current else None)
            except NewsragError as exc:
                log.error("new index generation %s not loaded, still serving the previous one: %s",
                          pointer, exc)
                failed = pointer
                continue
            except Exception:
                log.exception("new index generation %s not loaded", pointer)
                failed = pointer
                continue
            self._pointer = pointer
            self._swap_in(index)
            assert self._articles is not None
            log.info("now serving index generation %s (%d articles, %d passages; loaded in %.1f s)",
                     pointer, self._articles["count"], self._articles["passages"],
                     time.perf_counter() - started)

    # ---- reading ---------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._index is not None

    def wait(self, timeout: float | None = None) -> Index:
        """The live index, once ready; raises IndexNotReadyError if loading failed or timed out."""
        if not self._done.wait(timeout):
            status = self.status.rstrip(".…")
            status = status[:1].lower() + status[1:]
            raise IndexNotReadyError(f"the index is not ready yet ({status}); "
                                     "try again in a moment")
        index = self._index
        if index is None:
            raise IndexNotReadyError(self.error or "the index could not be loaded")
        return index

    def articles(self) -> dict[str, Any]:
        """What ``GET /api/articles`` returns, computed once per generation."""
        self.wait(0)
        assert self._articles is not None
        return self._articles


def _one_thread_per_request() -> None:
    """Answering runs on several request threads at once; torch's and FAISS's own thread pools
    on top of that oversubscribe the cores (every request then waits on every other). One
    intra-op thread each lets the request threads use the cores instead. Only libraries already
    imported are touched: the server never imports torch just for this."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    faiss = sys.modules.get("faiss")
    if faiss is not None and hasattr(faiss, "omp_set_num_threads"):
        faiss.omp_set_num_threads(1)
