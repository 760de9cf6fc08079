"""The index on disk: generations, an atomic ``CURRENT`` pointer, a manifest, checksums, a lock.

Layout of an index folder::

    index/
      CURRENT              name of the live generation (replaced atomically)
      .build.lock          held by the one build allowed at a time
      gen-<time>-<rand>/   one complete index
        manifest.json      format version, model, chunking, dense index kind, articles, every
                           file's size and SHA-256, and the manifest's own checksum
        dense.faiss        FAISS index; row i is passage i
        passages.jsonl     passage i: article id, offsets, text
        passages.rows.npy  passage i: byte offset of its line in passages.jsonl, start, end
                           (int64; read memory-mapped, so passage texts stay on disk)
        passages.dates.npy, passages.dates.rows.npy
                           passage i's dates (its article's, those its text writes), YYYYMMDD,
                           and where each row's begin: a period filter reads no passage text
                           (absent from older generations: their passages are dated on use)
        bm25/              bm25s files
        names.json         spellings of one name
        statements.jsonl   who said what, when
      .staging-<rand>/     a build in progress (removed by the next build if it was killed)
      .CURRENT.<rand>      the next pointer, while it is being swapped in (removed likewise)

A build writes a whole new generation into a staging folder, fsyncs it, renames it to ``gen-*``
and only then swaps ``CURRENT`` with ``os.replace``. Killing a build at any moment therefore leaves
``CURRENT`` naming the previous, complete generation. The previous generation is kept after a
swap, so a reader that resolved ``CURRENT`` just before it changed can still finish loading.

The manifest is a typed :class:`Manifest`, validated when read, and carries a SHA-256 of its own
canonical JSON: a manifest edited by hand or damaged on disk is refused with one line that says
to rebuild, instead of being served (an edited title) or failing deep inside (a renamed key).
:func:`open_generation` is the one way to open a generation, for loading and for incremental
builds alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mmap
import os
import re
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Sequence, overload

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer

from .errors import (
    BuildLockedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    NewsragError,
)
from .dates import TimeRange, passage_dates
from .passages import Passage, PassageIds

if TYPE_CHECKING:
    from .lexical import LexicalIndex
    from .names import NameTable
    from .retrieval import Backend
    from .settings import Settings
    from .statements import Statement
    from .vectors import DenseIndex, SentenceVectors

__all__ = ["FORMAT_VERSION", "IndexStore", "Manifest", "ArticleMeta", "ArticleTable", "Generation",
           "open_generation", "load_passages", "write_passages", "PassageTable", "passage_span",
           "REBUILD_HINT"]

FORMAT_VERSION = 3  # 2: names.json and statements.jsonl; 3: typed manifest with its own checksum
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
LOCK = ".build.lock"
REBUILD_HINT = "run `newsrag build --full` to rebuild it"
GENERATION_NAME = re.compile(r"gen-[A-Za-z0-9-]+")
PASSAGES = "passages.jsonl"
PASSAGE_ROWS = "passages.rows.npy"
PASSAGE_DATES = "passages.dates.npy"  # per passage its dates as YYYYMMDD (int32), row after row
PASSAGE_DATE_ROWS = "passages.dates.rows.npy"  # where each row's dates begin (int64, n + 1)
NAMES = "names.json"
STATEMENTS = "statements.jsonl"
DENSE = "dense.faiss"
BM25 = "bm25"


# ---- the manifest ------------------------------------------------------------------------
class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelInfo(_Record):
    """The embedding model the vectors come from."""

    name: str
    dim: int = Field(gt=0)
    fingerprint: str


class DenseInfo(_Record):
    """The FAISS index's kind and parameters (``efSearch`` etc. for HNSW)."""

    type: Literal["flat", "hnsw", "hnsw_sq8", "ivf_sq8"]
    params: dict[str, int]
    metric: Literal["inner_product"] = "inner_product"


class Counts(_Record):
    articles: int = Field(ge=0)
    passages: int = Field(ge=0)


class FileInfo(_Record):
    bytes: int = Field(ge=0)
    sha256: str


class ArticleMeta(_Record):
    """An indexed article and its passage rows ``first`` .. ``first + count - 1``."""

    id: str
    path: str
    title: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    title_derived: bool = False
    content_hash: str
    first: int = Field(ge=0)
    count: int = Field(ge=0)


class Manifest(_Record):
    """What a generation holds and how it was made; ``files`` is filled in by the commit."""

    format_version: int = FORMAT_VERSION
    newsrag_version: str
    built_at: str
    model: ModelInfo
    model_path: str | None = None
    chunking: dict[str, str | int]
    dense: DenseInfo
    counts: Counts
    articles: Sequence[ArticleMeta]  # a list as built; an ArticleTable as read from disk
    corpus_files: dict[str, str]
    # The folder it was built from: the command line checks the index against it when no
    # --corpus is given, so an index built elsewhere is never rebuilt from ./corpus.
    corpus_dir: str | None = None
    skipped: list[tuple[str, str]] = []
    encoder: dict[str, Any] | None = None  # encoder/encoder.json of the stored ONNX export
    sentences: int | None = None  # sentence vectors stored (sentences.*.npy)
    files: dict[str, FileInfo] = {}

    @field_serializer("articles")
    def _articles(self, articles: Sequence[ArticleMeta]) -> list[ArticleMeta]:
        return list(articles)


class ArticleTable(Sequence[ArticleMeta]):
    """The articles of a manifest read from disk, held as columns instead of one validated
    model per article (the 200,000 articles of a million passages took 467 MB as models):
    each text field one UTF-8 blob with offsets, rows and flags in arrays, ids sorted for
    lookup. No Python object per article stays behind, so what the JSON parse allocated is
    given back whole. Each article is checked as it is read and made again
    (``model_construct``, equal to the one read) when asked for."""

    TEXT = ("id", "path", "title", "date", "source", "url", "author", "content_hash")

    def __init__(self) -> None:
        self._pending: dict[str, list[str | None]] = {f: [] for f in self.TEXT}
        self._pending_rows: list[tuple[int, int, bool]] = []
        self._blob: dict[str, bytes] = {}
        self._offsets: dict[str, np.ndarray] = {}
        self._none: dict[str, np.ndarray] = {}
        self._first = self._count = np.zeros(0, dtype=np.int64)
        self._derived = np.zeros(0, dtype=bool)
        self._sorted_ids = np.zeros(0, dtype="S1")
        self._id_order = np.zeros(0, dtype=np.int64)
        self._n = 0

    def append(self, a: ArticleMeta) -> None:
        """Add an article (before :meth:`seal`)."""
        for f in self.TEXT:
            self._pending[f].append(getattr(a, f))
        self._pending_rows.append((a.first, a.count, a.title_derived))

    def seal(self) -> "ArticleTable":
        """Pack what was appended into the columns."""
        for f in self.TEXT:
            values = self._pending[f]
            encoded = [(v or "").encode("utf-8") for v in values]
            self._none[f] = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
            lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
            self._offsets[f] = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(lengths)])
            self._blob[f] = b"".join(encoded)
        rows = np.asarray(self._pending_rows, dtype=np.int64).reshape(-1, 3)
        self._first, self._count = rows[:, 0].copy(), rows[:, 1].copy()
        self._derived = rows[:, 2].astype(bool)
        ids = np.asarray([v.encode("utf-8") for v in self._pending["id"]  # type: ignore[union-attr]
                          ] or [b""], dtype=np.bytes_)[:len(rows)]
        self._id_order = np.argsort(ids, kind="stable")
        self._sorted_ids = ids[self._id_order]
        self._n = len(rows)
        self._pending, self._pending_rows = {f: [] for f in self.TEXT}, []
        return self

    def __len__(self) -> int:
        return self._n

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Each article's first passage row and its count of rows."""
        return self._first, self._count

    def position(self, article_id: str) -> int | None:
        """The position of the article with this id, or None."""
        key = article_id.encode("utf-8")
        if self._n == 0 or len(key) > self._sorted_ids.itemsize or key.endswith(b"\0"):
            return None
        j = int(np.searchsorted(self._sorted_ids, key))
        if j < self._n and self._sorted_ids[j] == key:
            return int(self._id_order[j])
        return None

    def column(self, f: str) -> Iterator[str | None]:
        """One text field of every article, in order (no article made)."""
        blob, offsets, none = self._blob[f], self._offsets[f].tolist(), self._none[f].tolist()
        for i in range(self._n):
            yield None if none[i] else blob[offsets[i]:offsets[i + 1]].decode("utf-8")

    def _text(self, f: str, i: int) -> str | None:
        if self._none[f][i]:
            return None
        o = self._offsets[f]
        return self._blob[f][int(o[i]):int(o[i + 1])].decode("utf-8")

    def _article(self, i: int) -> ArticleMeta:
        t = self._text
        return ArticleMeta.model_construct(
            id=t("id", i), path=t("path", i), title=t("title", i), date=t("date", i),
            source=t("source", i), url=t("url", i), author=t("author", i),
            title_derived=bool(self._derived[i]), content_hash=t("content_hash", i),
            first=int(self._first[i]), count=int(self._count[i]))

    @overload
    def __getitem__(self, i: int) -> ArticleMeta: ...
    @overload
    def __getitem__(self, i: slice) -> list[ArticleMeta]: ...

    def __getitem__(self, i: int | slice) -> ArticleMeta | list[ArticleMeta]:
        if isinstance(i, slice):
            return [self._article(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise IndexError(f"article {i} out of range ({n} articles)")
        return self._article(j)

    def __iter__(self) -> Iterator[ArticleMeta]:
        for i in range(len(self)):
            yield self._article(i)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ArticleTable, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def article_position(articles: Sequence[ArticleMeta]) -> Callable[[str], int | None]:
    """A lookup of an article's position by its id (without making every article of an
    :class:`ArticleTable`)."""
    if isinstance(articles, ArticleTable):
        return articles.position
    return {a.id: i for i, a in enumerate(articles)}.get


def article_fields(articles: Sequence[ArticleMeta], *fields: str) -> Iterator[tuple[Any, ...]]:
    """Some text fields of every article, in order (no article of an :class:`ArticleTable` made:
    the acronyms of 200,000 articles' titles took 9 s of the first question made that way)."""
    if isinstance(articles, ArticleTable):
        return zip(*(articles.column(f) for f in fields))
    return (tuple(getattr(a, f) for f in fields) for a in articles)


def article_rows(articles: Sequence[ArticleMeta]) -> tuple[np.ndarray, np.ndarray]:
    """Each article's first passage row and count of rows, as arrays (without making every
    article of an :class:`ArticleTable`)."""
    if isinstance(articles, ArticleTable):
        return articles.rows()
    rows = np.asarray([(a.first, a.count) for a in articles], dtype=np.int64).reshape(-1, 2)
    return rows[:, 0], rows[:, 1]


def _canonical_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of a JSON object written canonically (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def without_hint(message: str) -> str:
    """A damage or mismatch message without the "run build --full" advice (for a build that is
    doing exactly that)."""
    return re.sub(r"[:;] " + re.escape(REBUILD_HINT) + r"$", "", message)


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
    def _check_folder(self) -> None:
        if self.folder.exists() and not self.folder.is_dir():
            raise NewsragError(f"the index path {self.folder} is a file, not a folder; "
                               "choose another --index")

    def exists(self) -> bool:
        return (self.folder / CURRENT).is_file()

    def current(self) -> Path:
        """The live generation's folder."""
        self._check_folder()
        pointer = self.folder / CURRENT
        if not pointer.is_file():
            raise IndexMissingError(
                f"no index in {self.folder}/ yet: run `newsrag build` to build one"
            )
        try:
            name = pointer.read_bytes().decode("ascii").strip()
        except (OSError, UnicodeDecodeError):
            name = None
        if name is None or not GENERATION_NAME.fullmatch(name):
            raise IndexCorruptError(f"{pointer} is damaged (it does not name a generation); "
                                    + REBUILD_HINT)
        gen = self.folder / name
        if not gen.is_dir():
            raise IndexCorruptError(
                f"{pointer} names {name!r}, which is not a generation in {self.folder}/; "
                + REBUILD_HINT
            )
        return gen

    def read_manifest(self, gen: Path | None = None) -> Manifest:
        """The generation's manifest, checked: format version, its own checksum, its types."""
        gen = gen or self.current()
        path = gen / MANIFEST
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}") from None
        except (OSError, ValueError, RecursionError):
            raise IndexCorruptError(f"{path} is truncated or not JSON; {REBUILD_HINT}") from None
        if not isinstance(data, dict):
            raise IndexCorruptError(f"{path} is not a JSON object; {REBUILD_HINT}")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"the index in {self.folder}/ has format version {version!r}; this newsrag reads "
                f"version {FORMAT_VERSION}: {REBUILD_HINT}"
            )
        checksum = data.pop("checksum", None)
        if checksum != _canonical_sha256(data):
            raise IndexCorruptError(
                f"{path} does not match its checksum (edited or damaged since it was written); "
                + REBUILD_HINT)
        records = data.get("articles")
        where_prefix: tuple[Any, ...] = ()
        try:
            if not isinstance(records, list):
                return Manifest.model_validate(data)
            manifest = Manifest.model_validate({**data, "articles": []})
            table = ArticleTable()
            for i, record in enumerate(records):
                where_prefix = ("articles", i)
                table.append(ArticleMeta.model_validate(record))
            return manifest.model_copy(update={"articles": table.seal()})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, (*where_prefix, *first["loc"]))) or "(top level)"
            raise IndexCorruptError(f"{path} is damaged ({where}: {first['msg']}); "
                                    + REBUILD_HINT) from None

    def verify(self, gen: Path, manifest: Manifest, checksums: bool) -> None:
        """Every file the manifest lists exists with its size (and, if asked, its SHA-256)."""
        for rel, expected in manifest.files.items():
            path = gen / rel
            if not path.is_file():
                raise IndexCorruptError(f"index file {path} is missing; {REBUILD_HINT}")
            size = path.stat().st_size
            if size != expected.bytes:
                raise IndexCorruptError(
                    f"index file {path} is {size} bytes, expected {expected.bytes} "
                    f"(truncated or altered); {REBUILD_HINT}"
                )
            if checksums and _sha256(path) != expected.sha256:
                raise IndexCorruptError(
                    f"index file {path} does not match its checksum (altered since it was "
                    f"written); {REBUILD_HINT}"
                )

    # ---- writing -------------------------------------------------------------------------
    @contextmanager
    def lock(self, timeout: float = 0) -> Iterator[None]:
        """The one-build-at-a-time lock; fails with a clear message if another build holds it."""
        from filelock import FileLock, Timeout

        self._check_folder()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NewsragError(f"cannot create the index folder {self.folder}/ "
                               f"({exc.strerror or exc})") from None
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

    def is_locked(self) -> bool:
        """Whether a build holds the lock right now (a snapshot: it may change at once)."""
        from filelock import FileLock, Timeout

        if not (self.folder / LOCK).is_file():
            return False
        lock = FileLock(str(self.folder / LOCK))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        except OSError:
            return False
        lock.release()
        return False

    def wait_for_lock(self, say: Any) -> None:
        """Block until no build holds the lock, telling ``say`` once if it has to wait."""
        from filelock import FileLock

        if self.is_locked():
            say(f"another build is running on {self.folder}/; waiting for it to finish "
                "(Ctrl-C to stop) ...")
            with FileLock(str(self.folder / LOCK)):
                pass

    def clean(self) -> None:
        """Remove what killed builds leave behind: staging folders, temporary pointers, and a
        ``CURRENT`` that is a folder. Call under :meth:`lock`."""
        for old in self.folder.glob(".staging-*"):
            shutil.rmtree(old, ignore_errors=True)
        for tmp in self.folder.glob(f".{CURRENT}.*"):
            tmp.unlink(missing_ok=True)
        if (self.folder / CURRENT).is_dir():
            shutil.rmtree(self.folder / CURRENT, ignore_errors=True)

    def stage(self) -> Path:
        """A fresh staging folder; call under :meth:`lock`. Removes leftovers of killed builds."""
        for old in self.folder.glob(".staging-*"):
            shutil.rmtree(old, ignore_errors=True)
        path = self.folder / f".staging-{secrets.token_hex(4)}"
        path.mkdir(parents=True)
        return path

    def commit(self, staging: Path, manifest: Manifest) -> Path:
        """Seal a staged generation and make it live, atomically. Call under :meth:`lock`."""
        files = {}
        for p in sorted(staging.rglob("*")):
            if p.is_file():
                files[p.relative_to(staging).as_posix()] = FileInfo(
                    bytes=p.stat().st_size, sha256=_sha256(p))
        data = manifest.model_copy(update={"format_version": FORMAT_VERSION, "files": files}
                                   ).model_dump(mode="json")
        data["checksum"] = _canonical_sha256(data)
        (staging / MANIFEST).write_text(json.dumps(data, indent=1, ensure_ascii=False),
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
        try:
            previous: str | None = self.current().name
        except NewsragError:  # no pointer, or a damaged one: nothing to keep but the new one
            previous = None
        os.replace(pointer_tmp, self.folder / CURRENT)
        _fsync_dir(self.folder)
        keep = {gen.name, previous}
        for old in self.folder.glob("gen-*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        return gen


# ---- opening a generation ----------------------------------------------------------------
def load_passages(path: Path, articles: dict[str, ArticleMeta]) -> list[Passage]:
    """The passages of ``passages.jsonl``, with their articles' titles and dates."""
    passages = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            art = articles[rec["article_id"]]
            passages.append(Passage(rec["article_id"], art.title, art.date,
                                    rec["start"], rec["end"], rec["text"]))
    return passages


def write_passages(folder: Path, passages: Iterable[Passage]) -> None:
    """``passages.jsonl`` (one JSON object per passage, as ever) and ``passages.rows.npy``: per
    passage the byte offset of its line, its start and its end (int64, shape (n, 3))."""
    rows: list[tuple[int, int, int]] = []
    dates = PassageDatesWriter()
    offset = 0
    with (folder / PASSAGES).open("wb") as fh:
        for p in passages:
            line = (json.dumps({"article_id": p.article_id, "start": p.start, "end": p.end,
                                "text": p.text}, ensure_ascii=False) + "\n").encode("utf-8")
            fh.write(line)
            rows.append((offset, p.start, p.end))
            offset += len(line)
            dates.add(p)
    np.save(folder / PASSAGE_ROWS, np.asarray(rows, dtype=np.int64).reshape(-1, 3))
    dates.save(folder)


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class PassageDatesWriter:
    """Collects the passages' dates (:func:`newsrag.dates.passage_dates`, an article at a time,
    passages arriving in row order) for ``passages.dates.npy``: worked out once at build time,
    so a period filter on a loaded index reads a column instead of dating every passage's text
    (minutes at a million passages)."""

    def __init__(self) -> None:
        self.days: list[int] = []
        self.starts: list[int] = [0]
        self._article: tuple[str, str | None] | None = None
        self._texts: list[str] = []
        self.valid = True  # a date not written YYYY-MM-DD: no file (a load dates the texts)

    def add(self, p: Passage) -> None:
        if self._article is not None and self._article != (p.article_id, p.date):
            self._flush()
        self._article = (p.article_id, p.date)
        self._texts.append(p.text)

    def _flush(self) -> None:
        if self._article is None:
            return
        for found in passage_dates(self._article[1], self._texts):
            for d in sorted(found):
                if ISO_DAY.fullmatch(d):
                    self.days.append(int(d.replace("-", "")))
                else:
                    self.valid = False
            self.starts.append(len(self.days))
        self._article, self._texts = None, []

    def save(self, folder: Path) -> None:
        self._flush()
        if self.valid:
            np.save(folder / PASSAGE_DATES, np.asarray(self.days, dtype=np.int32))
            np.save(folder / PASSAGE_DATE_ROWS, np.asarray(self.starts, dtype=np.int64))


class PassageDates:
    """The passages' dates as a build stored them (``passages.dates.npy``, YYYYMMDD as int32,
    and ``passages.dates.rows.npy``, where each row's begin), memory-mapped: a row's dates, and
    every row with a date in a period, without reading a passage."""

    def __init__(self, days: np.ndarray, starts: np.ndarray):
        if starts.ndim != 1 or days.ndim != 1 or len(starts) == 0 or int(starts[-1]) != len(days):
            raise ValueError(f"inconsistent {PASSAGE_DATES} and {PASSAGE_DATE_ROWS}")
        self.days, self.starts = days, starts

    @classmethod
    def open(cls, folder: Path) -> "PassageDates | None":
        """The generation's stored dates; None for one written before they were stored."""
        if not (folder / PASSAGE_DATES).is_file() or not (folder / PASSAGE_DATE_ROWS).is_file():
            return None
        return cls(np.load(folder / PASSAGE_DATES, mmap_mode="r"),
                   np.load(folder / PASSAGE_DATE_ROWS, mmap_mode="r"))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def of(self, row: int) -> frozenset[str]:
        """The dates of passage ``row`` (ISO)."""
        days = self.days[int(self.starts[row]):int(self.starts[row + 1])]
        return frozenset(f"{v // 10000:04d}-{v // 100 % 100:02d}-{v % 100:02d}"
                         for v in map(int, days))

    def rows_in(self, period: TimeRange) -> np.ndarray:
        """The rows (ascending) with a date in ``period``. Its bounds are ISO days, so ISO order
        is the order of the YYYYMMDD numbers; anything else is checked date by date."""
        days = np.asarray(self.days)
        bounds = [b for b in (period.since, period.until) if b is not None]
        if all(ISO_DAY.fullmatch(b) for b in bounds):
            hit = np.ones(len(days), dtype=bool)
            if period.since is not None:
                hit &= days >= int(period.since.replace("-", ""))
            if period.until is not None:
                hit &= days <= int(period.until.replace("-", ""))
        else:
            distinct, inverse = np.unique(days, return_inverse=True)
            ok = np.fromiter((period.contains(f"{v // 10000:04d}-{v // 100 % 100:02d}-"
                                              f"{v % 100:02d}") for v in distinct.tolist()),
                             dtype=bool, count=len(distinct))
            hit = ok[inverse]
        where = np.flatnonzero(hit)
        return np.unique(np.searchsorted(self.starts, where, side="right") - 1).astype(np.int64)


def _line_offsets(path: Path) -> np.ndarray:
    """Byte offset of each line of a JSONL file (for a generation written before
    ``passages.rows.npy``): one pass over the file, a block at a time, read rather than mapped
    so the pass leaves no page of it resident in this process."""
    starts = [np.zeros(1, dtype=np.int64)]
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 24):
            chunk = np.frombuffer(block, dtype=np.uint8)
            starts.append(np.flatnonzero(chunk == 10).astype(np.int64) + size + 1)
            size += len(block)
    offsets = np.concatenate(starts)
    return offsets[offsets < size]


class PassageTable(Sequence[Passage]):
    """The passages of a generation, read from disk as they are asked for.

    ``passages.jsonl`` is memory-mapped and ``passages.rows.npy`` (line offsets, starts, ends)
    loaded memory-mapped, so a loaded index holds no passage text and no per-passage Python
    object: row ``i`` is parsed from its line when a search returns it (a few microseconds).
    The title and date come from the article whose rows hold ``i`` (``ArticleMeta.first`` and
    ``count``). A generation written before ``passages.rows.npy`` existed is read the same way,
    its line offsets found by one pass over the file at load. Safe to share between threads.
    """

    def __init__(self, path: Path, articles: Sequence[ArticleMeta], rows: np.ndarray | None,
                 dates: PassageDates | None = None):
        self.path = path
        self.dates = dates  # the build's dates of every row (None: an older generation)
        self._fh = path.open("rb")
        self._size = os.fstat(self._fh.fileno()).st_size
        # Lines are read with positioned reads, so what a search read does not stay mapped into
        # the process (the file cache keeps it, shared); a memory map where pread is missing.
        self._map: mmap.mmap | bytes | None = None
        if not hasattr(os, "pread"):
            self._map = (mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
                         if self._size else b"")
        self._offsets = np.asarray(rows[:, 0]) if rows is not None else _line_offsets(path)
        self._spans = rows  # None: start and end are read from the lines
        self._articles = articles
        firsts, counts = article_rows(articles)
        # by first row, an empty article before a non-empty one at the same row
        self._order = np.lexsort((counts > 0, firsts)).astype(np.int64)
        self._firsts = firsts[self._order]
        self._by_id: dict[str, ArticleMeta] | None = None

    @classmethod
    def open(cls, folder: Path, articles: Sequence[ArticleMeta]) -> "PassageTable":
        rows_path = folder / PASSAGE_ROWS
        rows = np.load(rows_path, mmap_mode="r") if rows_path.is_file() else None
        if rows is not None and (rows.ndim != 2 or rows.shape[1] != 3):
            raise ValueError(f"{rows_path} has shape {rows.shape}, expected (passages, 3)")
        dates = PassageDates.open(folder)
        if dates is not None and rows is not None and len(dates) != len(rows):
            raise ValueError(f"{folder / PASSAGE_DATES} has {len(dates)} rows, expected "
                             f"{len(rows)}")
        return cls(folder / PASSAGES, articles, rows, dates)

    def __len__(self) -> int:
        return len(self._offsets)

    def _line(self, row: int) -> dict[str, Any]:
        start = int(self._offsets[row])
        end = int(self._offsets[row + 1]) if row + 1 < len(self._offsets) else self._size
        line = (self._map[start:end] if self._map is not None
                else os.pread(self._fh.fileno(), end - start, start))
        rec: dict[str, Any] = json.loads(line)
        return rec

    def article_of(self, row: int) -> ArticleMeta:
        """The article whose rows hold ``row``."""
        i = int(np.searchsorted(self._firsts, row, side="right")) - 1
        return self._articles[int(self._order[i])] if i >= 0 else self._articles[0]

    def _passage(self, row: int) -> Passage:
        rec = self._line(row)
        art = self.article_of(row)
        if art.id != rec["article_id"]:  # articles not in row order: find it by id
            if self._by_id is None:
                self._by_id = {a.id: a for a in self._articles}
            art = self._by_id[rec["article_id"]]
        return Passage(rec["article_id"], art.title, art.date, rec["start"], rec["end"],
                       rec["text"])

    def _row(self, row: int) -> int:
        n = len(self)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError(f"passage row {row} out of range ({n} passages)")
        return row

    @overload
    def __getitem__(self, row: int) -> Passage: ...
    @overload
    def __getitem__(self, row: slice) -> list[Passage]: ...

    def __getitem__(self, row: int | slice) -> Passage | list[Passage]:
        if isinstance(row, slice):
            return [self._passage(r) for r in range(*row.indices(len(self)))]
        return self._passage(self._row(int(row)))

    def __iter__(self) -> Iterator[Passage]:
        art: ArticleMeta | None = None
        for row, rec in enumerate(self._records()):
            if art is None or not art.first <= row < art.first + art.count \
                    or art.id != rec["article_id"]:
                art = self.article_of(row)
                if art.id != rec["article_id"]:
                    if self._by_id is None:
                        self._by_id = {a.id: a for a in self._articles}
                    art = self._by_id[rec["article_id"]]
            yield Passage(rec["article_id"], art.title, art.date, rec["start"], rec["end"],
                          rec["text"])

    def texts(self) -> Iterator[str]:
        """Every passage's text in row order, for a scan of the whole corpus."""
        for rec in self._records():
            yield rec["text"]

    def _records(self) -> Iterator[dict[str, Any]]:
        """The lines in row order, read from the file rather than through the map, so a pass
        over a million passages leaves none of them resident in this process."""
        with self.path.open("rb") as fh:
            for _, line in zip(range(len(self)), fh):
                yield json.loads(line)

    def span(self, row: int) -> tuple[int, int]:
        """``(start, end)`` of a passage in its article's text, without reading its text (for a
        generation written with ``passages.rows.npy``)."""
        row = self._row(row)
        if self._spans is None:
            rec = self._line(row)
            return int(rec["start"]), int(rec["end"])
        return int(self._spans[row, 1]), int(self._spans[row, 2])


def passage_span(passages: Sequence[Passage], row: int) -> tuple[int, int]:
    """``(start, end)`` of passage ``row``, without reading its text when it can."""
    if isinstance(passages, PassageTable):
        return passages.span(row)
    p = passages[row]
    return p.start, p.end


@dataclass
class Generation:
    """An opened, verified generation: its manifest, dense index and passages; the lexical
    index, name table and statements are read on demand (a build does not need them)."""

    folder: Path
    manifest: Manifest
    dense: "DenseIndex"
    passages: Sequence[Passage]

    @cached_property
    def ids(self) -> PassageIds:
        """Stable passage ids and rows, both ways. For FAISS files row ``i`` is line ``i`` of
        ``passages.jsonl`` (no id is stored: it is the passage's article id and start)."""
        return PassageIds(self.passages)

    def _read(self, what: Any) -> Any:
        try:
            return what()
        except (RuntimeError, ValueError, KeyError, TypeError, OSError) as exc:
            raise IndexCorruptError(f"cannot read the index in {self.folder}: "
                                    f"{str(exc)[:200]}; {REBUILD_HINT}") from None

    def lexical(self) -> "LexicalIndex":
        from .lexical import LexicalIndex

        lexical = self._read(lambda: LexicalIndex.load(self.folder / BM25, on_disk=True))
        if lexical.size != len(self.passages):
            raise IndexCorruptError(
                f"the index in {self.folder} is inconsistent ({lexical.size} BM25 rows, "
                f"{len(self.passages)} passages); {REBUILD_HINT}")
        return lexical

    def sentences(self) -> "SentenceVectors | None":
        """The stored sentence vectors (read as asked for), or None if built without them."""
        from .vectors import SentenceVectors

        return self._read(lambda: SentenceVectors.load(self.folder))

    def names(self) -> "NameTable":
        from .names import NameTable

        return self._read(lambda: NameTable.load(self.folder / NAMES))

    def statements(self) -> "list[Statement]":
        from .statements import StatementBook

        return self._read(lambda: StatementBook.read(self.folder / STATEMENTS))

    def backends(self, encode: Any, names: "NameTable | None", settings: "Settings"
                 ) -> "dict[str, Backend] | None":
        """Search backends of the store's own that replace the in-process ones (None: keep)."""
        return None


def open_generation(store: IndexStore, settings: "Settings",
                    fingerprint: "str | Callable[[str], bool]") -> Generation:
    """The live generation of ``store``, checked against this run's model ``fingerprint`` (or a
    test of the stored one: a quantised export of the same model folder also fits) and
    chunking, every file's size (and SHA-256 if ``settings.verify_checksums``), and the counts.

    Raises :class:`IndexMissingError`, :class:`IndexMismatchError` or
    :class:`IndexCorruptError`, each with one line that says what to do.
    """
    from .vectors import DenseIndex

    gen = store.current()
    manifest = store.read_manifest(gen)
    fits = (fingerprint(manifest.model.fingerprint) if callable(fingerprint)
            else manifest.model.fingerprint == fingerprint)
    if not fits:
        raise IndexMismatchError(
            f"the index in {store.folder}/ was built with model {manifest.model.name!r} "
            f"({manifest.model_path}), but this run uses {settings.model}: " + REBUILD_HINT)
    if manifest.chunking != settings.chunking():
        raise IndexMismatchError(
            f"the index in {store.folder}/ was built with chunking {manifest.chunking}, but this "
            f"run uses {settings.chunking()}: " + REBUILD_HINT)
    store.verify(gen, manifest, checksums=settings.verify_checksums)
    partial = Generation(gen, manifest, None, [])  # type: ignore[arg-type]
    dense = partial._read(lambda: DenseIndex.load(gen / DENSE, manifest.dense.type,
                                                  manifest.dense.params))
    passages = partial._read(lambda: PassageTable.open(gen, manifest.articles))
    expected = manifest.counts.passages
    if not (dense.size == len(passages) == expected):
        raise IndexCorruptError(
            f"the index in {gen} is inconsistent ({dense.size} vectors, {len(passages)} "
            f"passages, manifest says {expected}); {REBUILD_HINT}")
    if dense.dim != manifest.model.dim:
        raise IndexCorruptError(f"{gen / DENSE} has dimension {dense.dim}, manifest says "
                                f"{manifest.model.dim}; {REBUILD_HINT}")
    if any(a.first + a.count > len(passages) for a in manifest.articles):
        raise IndexCorruptError(f"{gen / MANIFEST} gives articles rows past the last passage; "
                                + REBUILD_HINT)
    return Generation(gen, manifest, dense, passages)
