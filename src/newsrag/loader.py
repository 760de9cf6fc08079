"""Getting an index ready in the background, with a status a page can show meanwhile.

A first start loads the model and may build the index (tens of seconds). The server starts at once
and the page shows what is happening instead of hanging; questions asked meanwhile wait for it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .build import index_is_stale
from .errors import NewsragError
from .index import Index
from .settings import Settings

__all__ = ["IndexLoader"]

log = logging.getLogger("newsrag")


class IndexLoader:
    """Loads (building first if missing or stale) one index, once, in a background thread."""

    def __init__(self, corpus_dir: Path, index_dir: Path, settings: Settings):
        self.corpus_dir, self.index_dir, self.settings = Path(corpus_dir), Path(index_dir), settings
        self.status = "Starting…"
        self.error: str | None = None
        self._index: Index | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newsrag-loader", daemon=True)

    def start(self) -> "IndexLoader":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            stale = (index_is_stale(self.corpus_dir, self.index_dir, self.settings)
                     if self.corpus_dir.is_dir() else None)
            if stale:
                self.status = f"Building the index ({stale}): loading the model and embedding passages…"
                log.info("building the index: %s", stale)
                index = Index.build(self.corpus_dir, self.index_dir, self.settings)
                log.info("%s", index.build_report.summary() if index.build_report else "built")
            else:
                self.status = "Loading the index and the embedding model…"
                index = Index.load(self.index_dir, self.settings)
            info = index.info()
            self.status = f"Ready: {info['articles']} articles, {info['passages']} passages."
            self._index = index
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

    @property
    def ready(self) -> bool:
        return self._index is not None

    def wait(self, timeout: float | None = None) -> Index:
        """The index, once ready; raises NewsragError if loading failed or timed out."""
        if not self._done.wait(timeout):
            raise NewsragError("the index is still loading; try again in a moment")
        if self._index is None:
            raise NewsragError(self.error or "the index could not be loaded")
        return self._index
