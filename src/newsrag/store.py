"""The index on disk: generations, an atomic ``CURRENT`` pointer, a manifest, checksums, a lock.

Layout of an index folder::

    index/
      CURRENT              name of the live generation (replaced atomically)
      .build.lock          held by the one build allowed at a time
      gen-<time>-<rand>/   one complete index
        manifest.json      format version, model, chunking, dense index kind, articles, checksums
        dense.faiss        FAISS index; row i is passage i
        passages.jsonl     passage i: article id, offsets, text
        bm25/              bm25s files
      .staging-<rand>/     a build in progress (removed by the next build if it was killed)

A build writes a whole new generation into a staging folder, fsyncs it, renames it to ``gen-*``
and only then swaps ``CURRENT`` with ``os.replace``. Killing a build at any moment therefore leaves
``CURRENT`` naming the previous, complete generation. The previous generation is kept after a
swap, so a reader that resolved ``CURRENT`` just before it changed can still finish loading.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .errors import BuildLockedError, IndexCorruptError, IndexMismatchError, IndexMissingError

__all__ = ["FORMAT_VERSION", "IndexStore"]

FORMAT_VERSION = 2  # 2: names.json and statements.jsonl
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
LOCK = ".build.lock"
REBUILD_HINT = "run `newsrag build --full` to rebuild it"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexStore:
    """Reads and writes generations of one index folder."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    # ---- reading -------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.folder / CURRENT).is_file()

    def current(self) -> Path:
        """The live generation's folder."""
        pointer = self.folder / CURRENT
        if not pointer.is_file():
            raise IndexMissingError(
                f"no index in {self.folder}/ yet: run `newsrag build` to build one"
            )
        name = pointer.read_text(encoding="utf-8").strip()
        gen = self.folder / name
        if not name.startswith("gen-") or not gen.is_dir():
            raise IndexCorruptError(
                f"{pointer} names {name!r}, which is not a generation in {self.folder}/; "
                + REBUILD_HINT
            )
        return gen

    def read_manifest(self, gen: Path | None = None) -> dict[str, Any]:
        gen = gen or self.current()
        path = gen / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexCorruptError(f"{path} is truncated or not JSON; {REBUILD_HINT}") from None
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"the index in {self.folder}/ has format version {version!r}; this newsrag reads "
                f"version {FORMAT_VERSION}: {REBUILD_HINT}"
            )
        return manifest

    def verify(self, gen: Path, manifest: dict[str, Any], checksums: bool) -> None:
        """Every file the manifest lists exists with its size (and, if asked, its SHA-256)."""
        for rel, expected in manifest.get("files", {}).items():
            path = gen / rel
            if not path.is_file():
                raise IndexCorruptError(f"index file {path} is missing; {REBUILD_HINT}")
            size = path.stat().st_size
            if size != expected["bytes"]:
                raise IndexCorruptError(
                    f"index file {path} is {size} bytes, expected {expected['bytes']} "
                    f"(truncated or altered); {REBUILD_HINT}"
                )
            if checksums and _sha256(path) != expected["sha256"]:
                raise IndexCorruptError(
                    f"index file {path} does not match its checksum (altered since it was "
                    f"written); {REBUILD_HINT}"
                )

    # ---- writing -------------------------------------------------------------------------
    @contextmanager
    def lock(self, timeout: float = 0) -> Iterator[None]:
        """The one-build-at-a-time lock; fails with a clear message if another build holds it."""
        from filelock import FileLock, Timeout

        self.folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.folder / LOCK))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise BuildLockedError(
                f"another build is running on {self.folder}/ (lock {self.folder / LOCK}); "
                "wait for it to finish and try again"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def stage(self) -> Path:
        """A fresh staging folder; call under :meth:`lock`. Removes leftovers of killed builds."""
        for old in self.folder.glob(".staging-*"):
            shutil.rmtree(old, ignore_errors=True)
        path = self.folder / f".staging-{secrets.token_hex(4)}"
        path.mkdir(parents=True)
        return path

    def commit(self, staging: Path, manifest: dict[str, Any]) -> Path:
        """Seal a staged generation and make it live, atomically. Call under :meth:`lock`."""
        files = {}
        for p in sorted(staging.rglob("*")):
            if p.is_file():
                files[p.relative_to(staging).as_posix()] = {
                    "bytes": p.stat().st_size, "sha256": _sha256(p)}
        manifest = {**manifest, "format_version": FORMAT_VERSION, "files": files}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False),
                                        encoding="utf-8")
        _fsync_tree(staging)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        gen = self.folder / f"gen-{stamp}-{secrets.token_hex(3)}"
        os.rename(staging, gen)
        pointer_tmp = self.folder / f".{CURRENT}.{secrets.token_hex(3)}"
        pointer_tmp.write_text(gen.name + "\n", encoding="utf-8")
        fd = os.open(pointer_tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        previous = (self.folder / CURRENT).read_text().strip() if self.exists() else None
        os.replace(pointer_tmp, self.folder / CURRENT)
        _fsync_dir(self.folder)
        keep = {gen.name, previous}
        for old in self.folder.glob("gen-*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        return gen
