# A copy of src/newsrag/milvus_store.py at 8910e5b: the Milvus store with one epoch of
# collections per build and no row versions (no `born`/`died`), as newsrag wrote it before
# incremental builds upserted. Tests load it to write an index in that format, and
# benchmarks/milvus_epochs.py times its incremental build (every kept row copied) beside
# today's. Not linted (tests/data is excluded).
"""The Milvus store: an index as Milvus collections, through pymilvus (the ``scale`` extra).

``milvus_uri`` is a file path for Milvus Lite (embedded, no server) or ``http(s)://host:19530``
for a Milvus server or cluster; the client code is the same. Three collections per index, named
after ``milvus_collection`` (default ``newsrag``):

``<name>`` (the passages)
    primary key ``id`` = ``"<article id>:<start offset>"`` (stable across builds), the article's
    id, title, date, source and url, the passage's offsets and text, its dense vector (FLAT/IP
    below ``approximate_threshold`` passages, HNSW above; IVF_FLAT on Milvus Lite, which has no
    HNSW), and ``sparse``: the BM25 vector Milvus' built-in BM25 function makes from ``terms``.
``<name>_sentences``
    the passages' sentence vectors, keyed by their 64-bit text key.
``<name>_meta``
    JSON blobs in 60 KB parts: the manifest (articles, model fingerprint, chunking, counts), the
    name table, the statements and the BM25 vocabulary. :meth:`MilvusStore.open` needs nothing
    else, so :meth:`newsrag.Index.load` works from the URI alone.

BM25 is Milvus' own (``SPARSE_INVERTED_INDEX``, metric BM25, k1 1.5 and b 0.75 as bm25s), over
newsrag's tokens (stemmed, compounds kept whole and split): ``terms`` holds them hex-encoded, so
Milvus' standard analyzer sees each as one word. Hybrid search is ``hybrid_search`` with
``RRFRanker(rrf_k)``. Filters (speaker, period) run in Milvus as boolean expressions over two
ARRAY fields of each passage, ``dates`` and ``said`` (see "filters as Milvus expressions" below):
their size depends on the filter, not on how many passages it leaves. A collection built before
those fields (no ``dates``/``said``) still filters, by ``id in [...]`` over the rows the
statement book and the date sets select; a full build moves it to the new layout.

Incremental builds delete the rows of removed or changed articles (``article_id in [...]``) and
insert the new articles' rows; unchanged articles are not rewritten. The manifest is written
last, so a build killed half way leaves an index whose manifest disagrees with its rows; the next
build (any build) sees the count mismatch and rebuilds in full.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import tempfile
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from ._version import __version__
from .errors import (BuildLockedError, IndexCorruptError, IndexMismatchError, IndexMissingError,
                     NewsragError)
from .lexical import LexicalIndex, _fold, tokenize
from .passages import Passage, PassageIds, passage_id
from .retrieval import Backend, reciprocal_rank_fusion
from .store import FORMAT_VERSION, REBUILD_HINT, Generation, Manifest, _canonical_sha256
from .stores import BuildOutput, PassageStore, register_store

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from .embedding import CachedEncoder
    from .names import NameTable
    from .settings import Settings
    from .statements import Statement
    from .vectors import SentenceVectors

__all__ = ["MilvusStore", "MilvusDense", "MilvusLexical", "MilvusHybrid", "bm25_terms"]

PART_CHARS = 60_000  # a VARCHAR holds at most 65,535 bytes
TEXT_MAX = 65_535
INSERT_BATCH = 512
BM25_K1, BM25_B = 1.5, 0.75  # bm25s' defaults, so both stores score alike
# Milvus Lite scans rows in Python and has no index on arrays: there an id list is the faster
# filter (4,001 passages: 160 ms vs 1,360 ms for a speaker and period, 81 vs 214 ms for a
# period; docs/scaling.md) until it grows long. Past this many ids, or on a Milvus server (an
# INVERTED index on the arrays), the filter goes as its expression.
LITE_ID_LIST_MAX = 16_384


def bm25_terms(text: str) -> str:
    """newsrag's BM25 tokens, each hex-encoded into one word Milvus' standard analyzer keeps."""
    return " ".join("x" + t.encode("utf-8").hex() for t in tokenize(text))


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _id_filter(field: str, values: Sequence[str]) -> str:
    return f"{field} in [{', '.join(_quote(v) for v in values)}]"


# ---- filters as Milvus expressions ---------------------------------------------------------
# A passage row carries two ARRAY fields, so that a speaker or period filter is one boolean
# expression whose size does not grow with the corpus:
#   ``dates``: the dyadic blocks (below) of every date the row can be placed at (its article's
#   date, dates it writes, dates of the statements it carries: PassageFilters.row_dates);
#   ``said``: per statement it carries, the statement's speaker key, and key@block for each
#   block of the statement's date.
# A day is its proleptic ordinal d (1 = 0001-01-01); its blocks are (level, d >> level) for
# levels 0..21, packed as level << 22 | d >> level. Any inclusive range of days is the union of
# at most 2 x 22 blocks, so "a date of the row lies in the period" is
# ARRAY_CONTAINS_ANY(dates, [<= 44 ints]), and a speaker within a period is
# ARRAY_CONTAINS_ANY(said, [key@block, ...]) over the few keys the speaker's spellings match.
DATE_LEVELS = 22
LAST_DAY = 3_652_059  # 9999-12-31
ARRAY_CAPACITY = 4096  # Milvus' largest max_capacity
FILTER_FIELDS = ("dates", "said")


def _ordinal(iso: str) -> int | None:
    import datetime as dt

    try:
        return dt.date.fromisoformat(iso[:10]).toordinal()
    except ValueError:
        return None


def date_blocks(iso: str) -> list[int]:
    """The dyadic blocks holding one ISO day (none for a date that is not one)."""
    day = _ordinal(iso)
    if day is None:
        return []
    return [level << 22 | day >> level for level in range(DATE_LEVELS)]


def range_blocks(since: str | None, until: str | None) -> list[int]:
    """The fewest dyadic blocks covering exactly the days from ``since`` to ``until`` (ISO,
    inclusive; None: open)."""
    lo = (_ordinal(since) if since else 1) or 1
    hi = (_ordinal(until) if until else LAST_DAY) or LAST_DAY
    blocks: list[int] = []
    level = 0
    while lo <= hi and level < DATE_LEVELS:
        if lo & 1:
            blocks.append(level << 22 | lo)
            lo += 1
        if not hi & 1:
            blocks.append(level << 22 | hi)
            hi -= 1
        if lo > hi:
            break
        lo, hi, level = lo >> 1, hi >> 1, level + 1
    return sorted(blocks)


def statement_key(st: "Statement") -> str:
    """Who said it, as a short key: the speaker's shown name and the spelling the article wrote
    (a speaker filter matches either, see StatementBook.matches_speaker)."""
    both = f"{st.speaker or ''}\x00{st.speaker_as_written or ''}".casefold()
    return hashlib.blake2b(both.encode("utf-8"), digest_size=8).hexdigest()


def _capped(values: Sequence[Any]) -> list[Any]:
    return list(values)[:ARRAY_CAPACITY]


def filter_fields(articles: Sequence[Any], passages: Sequence[Passage],
                  statements: Sequence["Statement"], names: "NameTable") -> list[dict[str, Any]]:
    """Per passage row, its ``dates`` and ``said`` arrays (see above)."""
    from .filters import PassageFilters
    from .statements import StatementBook

    article_rows = {a.id: [(p.start, p.end, row) for row, p in
                           enumerate(passages[a.first:a.first + a.count], a.first)]
                    for a in articles}
    book = StatementBook(statements, names, article_rows)
    row_dates = PassageFilters(articles, passages, book).row_dates()
    said: list[set[str]] = [set() for _ in passages]
    for i, st in enumerate(book.statements):
        if not st.speaker:
            continue
        key = statement_key(st)
        tokens = {key} | {f"{key}@{b}" for b in (date_blocks(st.date) if st.date else [])}
        for row in book.rows_of([i]):
            said[row] |= tokens
    return [{"dates": _capped(sorted({b for d in ds for b in date_blocks(d)})),
             "said": _capped(sorted(s))} for ds, s in zip(row_dates, said)]


def filter_expression(allowed: Any, speaker_keys: "Callable[[str], list[str]]") -> str | None:
    """The Milvus expression for a tagged filter (filters.AllowedRows), or None when ``allowed``
    carries no filter to translate."""
    speaker, period = getattr(allowed, "speaker", None), getattr(allowed, "period", None)
    if speaker is None and period is None:
        return None
    blocks = range_blocks(period.since, period.until) if period is not None else []
    # Cheapest test first: an engine that scans rows (Milvus Lite) stops at the first False.
    parts = []
    if period is not None:
        parts.append(f"ARRAY_CONTAINS_ANY(dates, {json.dumps(blocks)})")
    if speaker is not None:
        keys = speaker_keys(speaker)
        parts.append(f"ARRAY_CONTAINS_ANY(said, {json.dumps(keys)})")
        if period is not None:  # the speaker's statements dated in the period
            tokens = [f"{k}@{b}" for k in keys for b in blocks]
            parts.append(f"ARRAY_CONTAINS_ANY(said, {json.dumps(tokens)})")
    return " and ".join(parts)




def lease_seconds() -> float:
    """How long a build's lease row lives without a heartbeat, so how long a killed build blocks
    the next one: ``NEWSRAG_MILVUS_LEASE_SECONDS``, default 60."""
    import os

    try:
        return max(1.0, float(os.environ.get("NEWSRAG_MILVUS_LEASE_SECONDS", "60")))
    except ValueError:
        raise NewsragError("NEWSRAG_MILVUS_LEASE_SECONDS must be a number of seconds") from None


@lru_cache(maxsize=8)
def _client(uri: str) -> "MilvusClient":
    """One client per URI per process (Milvus Lite opens its file once)."""
    import logging

    from pymilvus import MilvusClient

    # query_iterator warns on every call that Milvus Lite gives no MVCC timestamp
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    # milvus-lite logs a database another process holds with a traceback; newsrag says it once
    logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
    return MilvusClient(uri)


def _held_by_another_process(path: str) -> bool:
    """Whether another process has the Milvus Lite database ``path`` open (its LOCK file)."""
    import fcntl
    import os

    lock = Path(path) / "LOCK"
    if not lock.is_file():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops a lock this probe took
    return False


@register_store("milvus")
class MilvusStore(PassageStore):
    """An index kept in Milvus (Lite or server); see the module docstring."""

    def __init__(self, index_dir: Path | str, settings: "Settings"):
        super().__init__(index_dir, settings)
        uri = settings.milvus_uri or str(self.index_dir / "milvus.db")
        self.remote = uri.startswith(("http://", "https://", "tcp://", "grpc://"))
        if not self.remote:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            uri = str(Path(uri).resolve())
        self.uri = uri
        self.base = settings.milvus_collection
        self.pointer_name = f"{self.base}_current"
        self.lock_name = f"{self.base}_lock"
        # The epoch (set of collections) this object reads and writes; None: the one the
        # pointer names, looked up on each use (see pinned()).
        self.epoch: str | None = None

    @property
    def client(self) -> "MilvusClient":
        try:
            return _client(self.uri)
        except Exception as exc:  # pymilvus raises its own MilvusException, or OSError
            if not self.remote and _held_by_another_process(self.uri):
                raise NewsragError(
                    f"the Milvus Lite database {self.uri} is open in another process (a build, "
                    "serve or ask): Milvus Lite serves one process at a time. To share it, run "
                    f"`milvus-lite server --data-dir {self.uri} --host 127.0.0.1 --port 19530` "
                    "and use --milvus-uri http://127.0.0.1:19530 everywhere") from None
            raise NewsragError(f"cannot connect to Milvus at {self.uri}: {str(exc)[:200]}"
                               ) from None

    # ---- epochs: every build writes new collections, then moves one pointer ---------------
    def collections(self, epoch: str) -> tuple[str, str, str]:
        """(passages, meta, sentences) collection names of an epoch; "" is the layout of
        collections built before epochs (``newsrag``, ``newsrag_meta``, ``newsrag_sentences``)."""
        name = f"{self.base}__{epoch}" if epoch else self.base
        return name, f"{name}_meta", f"{name}_sentences"

    @property
    def name(self) -> str:
        return self.collections(self._epoch())[0]

    @property
    def meta_name(self) -> str:
        return self.collections(self._epoch())[1]

    @property
    def sent_name(self) -> str:
        return self.collections(self._epoch())[2]

    def _epoch(self) -> str:
        return self.epoch if self.epoch is not None else self.current_epoch()

    def current_epoch(self) -> str:
        """The live epoch: what the pointer collection names ("" when there is none)."""
        c = self.client
        if not c.has_collection(self.pointer_name):
            return ""
        c.load_collection(self.pointer_name)
        rows = c.query(self.pointer_name, filter='key == "current"', output_fields=["epoch"],
                       limit=1)
        return str(rows[0]["epoch"]) if rows else ""

    def pinned(self, epoch: str | None = None) -> "MilvusStore":
        """This store fixed on ``epoch`` (default: the live one), so that what one reader or
        writer sees cannot change under it when a build moves the pointer."""
        other = copy.copy(self)
        other.epoch = self.current_epoch() if epoch is None else epoch
        return other

    def epochs(self) -> set[str]:
        """Every epoch with a collection in Milvus (finished, live, or left by a killed build)."""
        found = set()
        for name in self.client.list_collections():
            if name in self.collections(""):
                found.add("")
            elif name.startswith(f"{self.base}__e"):
                found.add(name[len(self.base) + 2:].split("_")[0])
        return found

    def _drop_epochs(self, keep: set[str]) -> None:
        c = self.client
        for epoch in self.epochs() - keep:
            for name in self.collections(epoch):
                if c.has_collection(name):
                    c.drop_collection(name)

    def _point_to(self, epoch: str) -> None:
        """Make ``epoch`` live: one upsert of one row, atomic for readers."""
        from pymilvus import DataType

        c = self.client
        if not c.has_collection(self.pointer_name):
            schema = c.create_schema(auto_id=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
            schema.add_field("epoch", DataType.VARCHAR, max_length=64)
            schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # every collection needs one
            params = c.prepare_index_params()
            params.add_index("v", index_type="FLAT", metric_type="L2")
            c.create_collection(self.pointer_name, schema=schema, index_params=params,
                                consistency_level="Strong")
        c.load_collection(self.pointer_name)
        c.upsert(self.pointer_name, [{"key": "current", "epoch": epoch, "v": [0.0, 0.0]}])
        c.flush(self.pointer_name)

    def has_filter_fields(self) -> bool:
        """Whether the passage collection has the ``dates`` and ``said`` fields (collections
        built before them filter by id lists instead)."""
        fields = {f["name"] for f in self.client.describe_collection(self.name)["fields"]}
        return set(FILTER_FIELDS) <= fields

    # ---- the seam ------------------------------------------------------------------------
    def describe(self) -> str:
        return f"Milvus {self.uri} (collection {self.base})"

    def exists(self) -> bool:
        if self.epoch is None:
            return self.pinned().exists()
        c = self.client
        return c.has_collection(self.meta_name) and c.has_collection(self.name) and bool(
            self._blob_parts("manifest", limit=1))

    def version(self) -> str | None:
        """The live epoch and its manifest's build time (live reload polls it)."""
        try:
            store = self.pinned()
            return f"{store.epoch}/{store.read_manifest().built_at}" if store.exists() else None
        except NewsragError:
            return None

    def local_folder(self) -> Path | None:
        """Beside a Milvus Lite file (``x.db`` -> ``x.db.local/``), else under the index folder:
        where the exported ONNX encoder is kept. Only a cache: without it, questions are
        encoded by sentence-transformers from the model setting."""
        base = (Path(self.uri + ".local") if not self.remote
                else self.index_dir / f".milvus-{hashlib.sha1(self.uri.encode()).hexdigest()[:8]}")
        return base / self.base

    def lock(self) -> AbstractContextManager[None]:
        if self.remote:  # a lease row in Milvus: builders on other machines see it too
            return MilvusBuildLock(self)
        from .store import IndexStore

        return IndexStore(Path(self.uri + ".lock")).lock()

    def is_locked(self) -> bool:
        if self.remote:
            return bool(MilvusBuildLock(self).holders())
        from .store import IndexStore

        return IndexStore(Path(self.uri + ".lock")).is_locked()

    def wait_for_lock(self, say: Callable[[str], None]) -> None:
        if not self.remote:
            from .store import IndexStore

            IndexStore(Path(self.uri + ".lock")).wait_for_lock(say)
            return
        import time

        if self.is_locked():
            say(f"another build is running on {self.describe()}; waiting for it to finish "
                "(Ctrl-C to stop) ...")
            while self.is_locked():
                time.sleep(1.0)

    def clean(self) -> None:
        """Drop what killed builds left: epochs newer than the live one (call under lock)."""
        live = self.current_epoch()
        self._drop_epochs({e for e in self.epochs() if e <= live})

    def read_manifest(self) -> Manifest:
        if self.epoch is None:
            return self.pinned().read_manifest()
        if not self.exists():
            raise IndexMissingError(f"no index in {self.describe()} yet: run `newsrag build "
                                    "--store milvus` to build one")
        data = json.loads(self._read_text("manifest"))
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatchError(f"the index in {self.describe()} has format version "
                                     f"{version!r}; this newsrag reads {FORMAT_VERSION}: "
                                     + REBUILD_HINT)
        checksum = data.pop("checksum", None)
        if checksum != _canonical_sha256(data):
            raise IndexCorruptError(f"the manifest in {self.describe()} does not match its "
                                    "checksum; " + REBUILD_HINT)
        return Manifest.model_validate(data)

    def open(self, fingerprint: "str | Callable[[str], bool]") -> Generation:
        if self.epoch is None:
            return self.pinned().open(fingerprint)
        manifest = self.read_manifest()
        fits = (fingerprint(manifest.model.fingerprint) if callable(fingerprint)
                else manifest.model.fingerprint == fingerprint)
        if not fits:
            raise IndexMismatchError(
                f"the index in {self.describe()} was built with model {manifest.model.name!r} "
                f"({manifest.model_path}), but this run uses {self.settings.model}: "
                + REBUILD_HINT)
        if manifest.chunking != self.settings.chunking():
            raise IndexMismatchError(
                f"the index in {self.describe()} was built with chunking {manifest.chunking}, "
                f"but this run uses {self.settings.chunking()}: " + REBUILD_HINT)
        self.client.load_collection(self.name)
        passages = self._read_passages(manifest)
        if len(passages) != manifest.counts.passages:
            raise IndexCorruptError(
                f"the index in {self.describe()} is inconsistent ({len(passages)} passages, "
                f"manifest says {manifest.counts.passages}); " + REBUILD_HINT)
        dense = MilvusDense(self, PassageIds(passages), manifest.model.dim,
                            manifest.dense.type, dict(manifest.dense.params))
        folder = self.local_folder()
        assert folder is not None
        return MilvusGeneration(folder, manifest, dense, passages, store=self)

    def write(self, output: BuildOutput) -> None:
        """Write the build into a new epoch's collections, then move the pointer to it: readers
        see the previous epoch until that one upsert, and a build killed before it leaves the
        previous epoch live (the next build drops what it left). Articles this build did not
        embed are copied from the live epoch with their vectors; the epoch before the live one
        is dropped once the new one is live (the live one stays for readers still on it)."""
        import datetime as dt
        import secrets

        live = self.pinned()
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        new = self.pinned(f"e{stamp}{secrets.token_hex(2)}")
        new._create(output.model.dim, len(output.passages))
        new._write_rows(output, live)
        new._write_sentences(output.sentences, output.model.dim)
        if output.encoder_dir is not None:
            new._keep_encoder(output.encoder_dir)
        from .build import embedding_text

        vocab = sorted({t for a in output.articles
                        for p in output.passages[a.first:a.first + a.count]
                        for t in tokenize(embedding_text(a, p.text))})
        new._write_blob("vocab", json.dumps(vocab, ensure_ascii=False))
        with tempfile.TemporaryDirectory() as tmp:
            from .statements import StatementBook

            output.names.save(Path(tmp) / "names.json")
            StatementBook.save(output.statements, Path(tmp) / "statements.jsonl")
            new._write_blob("names", (Path(tmp) / "names.json").read_text(encoding="utf-8"))
            new._write_blob("statements",
                            (Path(tmp) / "statements.jsonl").read_text(encoding="utf-8"))
        new._write_manifest(output)
        # Seal what was written: rows left in growing segments are searched without their index
        # (BM25 took ~2 s a query on 6k passages in the writing process, 20 ms once sealed).
        for name in (new.name, new.sent_name, new.meta_name):
            self.client.flush(name)
        assert new.epoch is not None and live.epoch is not None
        self._point_to(new.epoch)
        self._drop_epochs({new.epoch, live.epoch})

    def _write_rows(self, output: BuildOutput, live: "MilvusStore") -> None:
        """Every passage row of ``output``: vectors embedded by this build, else the live
        epoch's (same id: same article text)."""
        from .build import embedding_text

        c = self.client
        by_id = {a.id: a for a in output.articles}
        fields = filter_fields(output.articles, output.passages, output.statements,
                               output.names)
        kept = [a for a in output.articles if a.id not in output.fresh]
        old: dict[str, list[float]] = {}
        if kept and c.has_collection(live.name):
            c.load_collection(live.name)
            for i in range(0, len(kept), 100):
                ids = [a.id for a in kept[i:i + 100]]
                for r in c.query(live.name, filter=_id_filter("article_id", ids),
                                 output_fields=["id", "dense"], limit=16_384):
                    old[r["id"]] = r["dense"]
        rows: list[dict[str, Any]] = []
        for art in output.articles:
            vecs = output.fresh.get(art.id)
            for n, p in enumerate(output.passages[art.first:art.first + art.count]):
                pid = passage_id(art.id, p.start)
                if vecs is not None:
                    vector = np.asarray(vecs[n], dtype=np.float32).tolist()
                elif pid in old:
                    vector = old[pid]
                else:
                    raise IndexCorruptError(f"the index in {self.describe()} lacks passage "
                                            f"{pid} of an unchanged article; " + REBUILD_HINT)
                rows.append({
                    **fields[art.first + n],
                    "id": pid, "article_id": art.id,
                    "title": art.title[:4000], "date": art.date or "",
                    "source": (art.source or "")[:4000], "url": (art.url or "")[:4000],
                    "start": p.start, "end": p.end, "text": p.text,
                    "terms": bm25_terms(embedding_text(by_id[art.id], p.text))[:TEXT_MAX],
                    "dense": vector,
                })
                if len(rows) >= INSERT_BATCH:
                    c.insert(self.name, rows)
                    rows = []
        if rows:
            c.insert(self.name, rows)

    # ---- collections ---------------------------------------------------------------------
    def dense_index(self, count: int) -> tuple[str, dict[str, Any], str]:
        """(Milvus index type, its build params, newsrag's name for it) for ``count`` passages."""
        s = self.settings
        if count < s.approximate_threshold:
            return "FLAT", {}, "flat"
        if self.remote:
            return "HNSW", {"M": s.hnsw_m, "efConstruction": s.hnsw_ef_construction}, "hnsw"
        return "IVF_FLAT", {"nlist": max(1, int(4 * count ** 0.5))}, "ivf_sq8"

    def _create(self, dim: int, count: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        schema = c.create_schema(auto_id=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
        schema.add_field("article_id", DataType.VARCHAR, max_length=1000)
        for name in ("title", "source", "url"):
            schema.add_field(name, DataType.VARCHAR, max_length=4096)
        schema.add_field("date", DataType.VARCHAR, max_length=32)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX)
        schema.add_field("terms", DataType.VARCHAR, max_length=TEXT_MAX, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        # the filter fields (collections built before them lack them)
        schema.add_field("dates", DataType.ARRAY, element_type=DataType.INT64,
                         max_capacity=ARRAY_CAPACITY)
        schema.add_field("said", DataType.ARRAY, element_type=DataType.VARCHAR,
                         max_capacity=ARRAY_CAPACITY, max_length=32)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["terms"], output_field_names=["sparse"]))
        index_type, params, _ = self.dense_index(count)

        def indexes(arrays: bool) -> Any:
            index_params = c.prepare_index_params()
            index_params.add_index("dense", index_type=index_type, metric_type="IP",
                                   params=params)
            index_params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX",
                                   metric_type="BM25",
                                   params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
            index_params.add_index("article_id", index_type="INVERTED")
            for name in FILTER_FIELDS if arrays else ():
                index_params.add_index(name, index_type="INVERTED")
            return index_params

        import logging

        quiet = logging.getLogger("pymilvus")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # pymilvus logs a refused request with its traceback
        try:  # an inverted index on the filter arrays where the server has one (Milvus does)
            c.create_collection(self.name, schema=schema, index_params=indexes(self.remote),
                                consistency_level="Strong")
        except Exception as exc:
            if not self.remote or "index" not in str(exc):
                raise
            # milvus-lite's server: no index on arrays; the filters scan them instead
            if c.has_collection(self.name):
                c.drop_collection(self.name)
            c.create_collection(self.name, schema=schema, index_params=indexes(False),
                                consistency_level="Strong")
        finally:
            quiet.setLevel(level)

        meta = c.create_schema(auto_id=False)
        meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=128)
        meta.add_field("blob", DataType.VARCHAR, max_length=128)
        meta.add_field("part", DataType.INT64)
        meta.add_field("data", DataType.VARCHAR, max_length=TEXT_MAX)
        meta.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # every collection needs a vector
        mp = c.prepare_index_params()
        mp.add_index("v", index_type="FLAT", metric_type="L2")
        c.create_collection(self.meta_name, schema=meta, index_params=mp,
                            consistency_level="Strong")

        sent = c.create_schema(auto_id=False)
        sent.add_field("key", DataType.INT64, is_primary=True)
        sent.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        sp = c.prepare_index_params()
        sp.add_index("vector", index_type="FLAT", metric_type="IP")
        c.create_collection(self.sent_name, schema=sent, index_params=sp,
                            consistency_level="Strong")

    # ---- blobs ---------------------------------------------------------------------------
    def _blob_parts(self, name: str, limit: int = 16_384) -> list[dict[str, Any]]:
        c = self.client
        c.load_collection(self.meta_name)
        return c.query(self.meta_name, filter=f"blob == {_quote(name)}",
                       output_fields=["part", "data"], limit=limit)

    def _read_blob(self, name: str) -> str:
        parts = sorted(self._blob_parts(name), key=lambda r: r["part"])
        return "".join(r["data"] for r in parts)

    def _write_blob(self, name: str, text: str) -> None:
        c = self.client
        c.load_collection(self.meta_name)
        # base64 keeps any character (and the 65,535-byte limit) out of the way
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        parts = [data[i:i + PART_CHARS] for i in range(0, len(data), PART_CHARS)] or [""]
        c.delete(self.meta_name, filter=f"blob == {_quote(name)}")
        rows = [{"key": f"{name}/{i:06d}", "blob": name, "part": i, "data": part, "v": [0.0, 0.0]}
                for i, part in enumerate(parts)]
        for i in range(0, len(rows), 64):
            c.insert(self.meta_name, rows[i:i + 64])

    def _read_text(self, name: str) -> str:
        return base64.b64decode(self._read_blob(name)).decode("utf-8")

    def _write_manifest(self, output: BuildOutput) -> None:
        import datetime as dt

        _, _, kind = self.dense_index(len(output.passages))
        manifest = Manifest.model_validate({
            "newsrag_version": __version__,
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
            "model": output.model,
            "model_path": self.settings.model,
            "chunking": self.settings.chunking(),
            "dense": {"type": kind, "params": {}, "metric": "inner_product"},
            "encoder": None,
            "sentences": output.sentences.size if output.sentences is not None else None,
            "counts": {"articles": len(output.articles), "passages": len(output.passages)},
            "articles": list(output.articles),
            "corpus_files": output.corpus_files,
            "skipped": output.skipped,
        })
        data = manifest.model_dump(mode="json")
        data["checksum"] = _canonical_sha256(data)
        self._write_blob("manifest", json.dumps(data, ensure_ascii=False))

    # ---- sentence vectors ----------------------------------------------------------------
    def _write_sentences(self, sentences: "SentenceVectors | None", dim: int) -> None:
        c = self.client
        c.load_collection(self.sent_name)
        have = self._sentence_keys()
        if sentences is None:
            wanted = np.zeros(0, dtype=np.int64)
        else:
            wanted = np.asarray(sentences.keys, dtype=np.uint64).view(np.int64)
        stale = np.setdiff1d(have, wanted)
        for i in range(0, len(stale), 4096):
            c.delete(self.sent_name, ids=stale[i:i + 4096].tolist())
        if sentences is None:
            return
        new = np.flatnonzero(~np.isin(wanted, have))
        vectors = np.asarray(sentences.vectors, dtype=np.float32)
        for i in range(0, len(new), 2048):
            rows = new[i:i + 2048]
            c.insert(self.sent_name, [{"key": int(wanted[r]), "vector": vectors[r].tolist()}
                                      for r in rows])

    def _sentence_keys(self) -> np.ndarray:
        keys = [r["key"] for r in self._iterate(self.sent_name, ["key"])]
        return np.asarray(keys, dtype=np.int64)

    def read_sentences(self) -> "SentenceVectors | None":
        from .vectors import SentenceVectors

        self.client.load_collection(self.sent_name)
        keys, vectors = [], []
        for r in self._iterate(self.sent_name, ["key", "vector"]):
            keys.append(r["key"])
            vectors.append(r["vector"])
        if not keys:
            return None
        return SentenceVectors.build(np.asarray(keys, dtype=np.int64).view(np.uint64),
                                     np.asarray(vectors, dtype=np.float32))

    def _iterate(self, collection: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        it = self.client.query_iterator(collection, batch_size=4000, filter="",
                                        output_fields=fields)
        try:
            while True:
                batch = it.next()
                if not batch:
                    return
                yield from batch
        finally:
            it.close()

    def _keep_encoder(self, encoder_dir: Path) -> None:
        import shutil

        folder = self.local_folder()
        assert folder is not None
        target = folder / "encoder"
        if target.resolve() == Path(encoder_dir).resolve():
            return
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True, exist_ok=True)
        for p in Path(encoder_dir).iterdir():
            if p.is_file():
                shutil.copyfile(p, target / p.name)

    # ---- reading passages ----------------------------------------------------------------
    def _read_passages(self, manifest: Manifest) -> list[Passage]:
        by_article: dict[str, list[tuple[int, int, str]]] = {}
        for r in self._iterate(self.name, ["article_id", "start", "end", "text"]):
            by_article.setdefault(r["article_id"], []).append((r["start"], r["end"], r["text"]))
        passages: list[Passage] = []
        for a in manifest.articles:
            rows = sorted(by_article.get(a.id, []))
            if len(rows) != a.count:
                raise IndexCorruptError(
                    f"the index in {self.describe()} has {len(rows)} passages of article "
                    f"{a.id}, its manifest says {a.count}; " + REBUILD_HINT)
            passages += [Passage(a.id, a.title, a.date, s, e, t) for s, e, t in rows]
        return passages


class MilvusBuildLock:
    """One build at a time on a Milvus server, across processes and machines: a lease row in
    ``<collection>_lock``. A builder inserts its row, then reads every row: if another live
    lease is there it removes its own and refuses (two builders that start together may both
    refuse; neither writes). A heartbeat renews the lease every quarter of
    :func:`lease_seconds`; the lease of a killed build expires after it."""

    def __init__(self, store: MilvusStore):
        import os
        import secrets
        import socket

        self.store = store
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.ttl = lease_seconds()
        self._stop: Any = None
        self._thread: Any = None

    def _collection(self) -> str:
        from pymilvus import DataType

        c, name = self.store.client, self.store.lock_name
        if not c.has_collection(name):
            schema = c.create_schema(auto_id=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
            schema.add_field("expires", DataType.DOUBLE)
            schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
            params = c.prepare_index_params()
            params.add_index("v", index_type="FLAT", metric_type="L2")
            c.create_collection(name, schema=schema, index_params=params,
                                consistency_level="Strong")
        c.load_collection(name)
        return name

    def holders(self) -> list[str]:
        """The builders whose lease is live, other than this one."""
        import time

        c = self.store.client
        if not c.has_collection(self.store.lock_name):
            return []
        c.load_collection(self.store.lock_name)
        now = time.time()
        return [r["key"] for r in c.query(self.store.lock_name, filter='key != ""',
                                          output_fields=["key", "expires"], limit=1000)
                if r["key"] != self.token and r["expires"] > now]

    def _renew(self) -> None:
        import time

        self.store.client.upsert(self._collection(), [
            {"key": self.token, "expires": time.time() + self.ttl, "v": [0.0, 0.0]}])

    def __enter__(self) -> None:
        import threading

        name = self._collection()
        self._renew()
        others = self.holders()
        if others:
            self.store.client.delete(name, ids=[self.token])
            raise BuildLockedError(f"another build is running on {self.store.describe()} "
                                   f"(lease {others[0]}); wait for it to finish and try again")
        self._stop = threading.Event()

        def beat() -> None:
            while not self._stop.wait(self.ttl / 4):
                try:
                    self._renew()
                except Exception:  # a heartbeat lost now and then is harmless
                    pass

        self._thread = threading.Thread(target=beat, name="newsrag-milvus-lease", daemon=True)
        self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.store.client.delete(self.store.lock_name, ids=[self.token])
        except Exception:  # the lease expires by itself
            pass


class MilvusGeneration(Generation):
    """A :class:`Generation` whose parts are read from Milvus instead of files."""

    def __init__(self, folder: Path, manifest: Manifest, dense: "MilvusDense",
                 passages: list[Passage], store: MilvusStore):
        super().__init__(folder, manifest, dense, passages)  # type: ignore[arg-type]
        self.store = store
        self.ids = dense.ids  # one id <-> row mapping, the one the searches use
        self._lexical: MilvusLexical | None = None
        self._names: NameTable | None = None
        self._statements: list[Statement] | None = None
        self._keys: dict[str, list[str]] = {}
        if store.has_filter_fields():
            dense.speaker_keys = self.speaker_keys

    def speaker_keys(self, speaker: str) -> list[str]:
        """The statement keys a speaker filter matches (any spelling, as StatementBook's)."""
        if speaker not in self._keys:
            from .statements import StatementBook

            book = StatementBook(self.statements(), self.names(), {})
            self._keys[speaker] = sorted({statement_key(st) for st in book.statements
                                          if book.matches_speaker(st, speaker)})
        return self._keys[speaker]

    def lexical(self) -> "MilvusLexical":
        if self._lexical is None:
            vocab = json.loads(self._read(lambda: self.store._read_text("vocab")))
            self._lexical = MilvusLexical(self.store, self.dense, vocab)  # type: ignore[arg-type]
        return self._lexical

    def sentences(self) -> "SentenceVectors | None":
        return self._read(self.store.read_sentences)

    def names(self) -> "NameTable":
        from .names import NameTable

        if self._names is None:
            self._names = self._read(lambda: _via_file(self.store._read_text("names"),
                                                       NameTable.load))
        return self._names

    def statements(self) -> "list[Statement]":
        if self._statements is None:
            self._statements = self._read(lambda: _via_file(self.store._read_text("statements"),
                                                            _read_statements))
        return self._statements

    def backends(self, encode: Any, names: "NameTable | None", settings: "Settings"
                 ) -> dict[str, Backend]:
        return {"hybrid": MilvusHybrid(self.store, self.dense, self.lexical(),  # type: ignore
                                       encode, names, settings.rrf_k, settings.candidates)}


def _read_statements(path: Path) -> "list[Statement]":
    from .statements import StatementBook

    return StatementBook.read(path)


def _via_file(text: str, read: Callable[[Path], Any]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "blob"
        path.write_text(text, encoding="utf-8")
        return read(path)


class MilvusDense:
    """The dense side of a Milvus index, with :class:`~newsrag.vectors.DenseIndex`'s interface:
    rows are positions in the loaded passage list, mapped to and from the stable ids."""

    def __init__(self, store: MilvusStore, ids: PassageIds, dim: int, kind: str,
                 params: dict[str, Any]):
        self.store, self.ids, self._dim = store, ids, dim
        self.kind, self.params = kind, params
        # set by the generation when the collection has the filter fields
        self.speaker_keys: Callable[[str], list[str]] | None = None
        self.last_filter = ""  # the expression of the last filtered search (tests read it)

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return self._dim

    def filter(self, allowed: np.ndarray | None) -> str:
        """The Milvus expression for the rows a filter leaves: the filter itself (speaker,
        period) on collections with the filter fields (on Milvus Lite only past
        :data:`LITE_ID_LIST_MAX` rows), else the rows' ids."""
        if allowed is None:
            return ""
        keys = self.speaker_keys
        expr = (filter_expression(allowed, keys) if keys is not None
                and (self.store.remote or len(allowed) > LITE_ID_LIST_MAX) else None)
        self.last_filter = expr or _id_filter("id", [self.ids[int(r)] for r in allowed])
        return self.last_filter

    def search_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.kind == "hnsw":
            params["params"] = {"ef": self.store.settings.hnsw_ef_search}
        elif self.kind == "ivf_sq8":
            params["params"] = {"nprobe": self.store.settings.ivf_nprobe}
        return params

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if self.size == 0 or (allowed is not None and len(allowed) == 0):
            return []
        res = self.store.client.search(
            self.store.name, data=[np.asarray(query, dtype=np.float32).ravel().tolist()],
            anns_field="dense", limit=min(k, self.size), filter=self.filter(allowed),
            search_params=self.search_params(), output_fields=["id"])
        return [(self.ids.row_of(h["id"]), float(h["distance"])) for h in res[0]]

    def vectors(self, first: int, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros((0, self.dim), np.float32)
        ids = self.ids[first:first + count]
        got = self.store.client.get(self.store.name, ids=ids, output_fields=["dense"])
        by_id = {r["id"]: r["dense"] for r in got}
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)

    def similarity(self, query: np.ndarray, rows: list[int]) -> list[float]:
        if not rows:
            return []
        ids = [self.ids[r] for r in rows]
        got = self.store.client.get(self.store.name, ids=ids, output_fields=["dense"])
        by_id = {r["id"]: np.asarray(r["dense"], dtype=np.float32) for r in got}
        q = np.asarray(query, dtype=np.float32).ravel()
        return [float(by_id[i] @ q) for i in ids]


class MilvusLexical(LexicalIndex):
    """BM25 by Milvus; the vocabulary (for typo-tolerant "is this name in the corpus") local."""

    def __init__(self, store: MilvusStore, dense: MilvusDense, vocab: list[str]):
        self.store, self.dense = store, dense
        self.bm25 = None
        self.size = dense.size
        self._vocab = set(vocab)
        self._vocab_list = sorted(self._vocab)
        self._folded = {_fold(t) for t in self._vocab}

    def save(self, folder: Path) -> None:  # pragma: no cover - the Milvus store writes itself
        raise NewsragError("a Milvus lexical index is saved by its store")

    def query_terms(self, query: str) -> str:
        return " ".join("x" + t.encode("utf-8").hex() for t in tokenize(query) if t in self._vocab)

    def search(self, query: str, k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        terms = self.query_terms(query)
        if not terms or self.size == 0 or (allowed is not None and len(allowed) == 0):
            return []
        res = self.store.client.search(
            self.store.name, data=[terms], anns_field="sparse", limit=min(k, self.size),
            filter=self.dense.filter(allowed), search_params={"metric_type": "BM25"},
            output_fields=["id"])
        return [(self.dense.ids.row_of(h["id"]), abs(float(h["distance"]))) for h in res[0]]


class MilvusHybrid(Backend):
    """Hybrid search in one Milvus call: dense and BM25 requests fused by ``RRFRanker``."""

    name = "hybrid"

    def __init__(self, store: MilvusStore, dense: MilvusDense, lexical: MilvusLexical,
                 encode: "CachedEncoder", names: "NameTable | None", rrf_k: int,
                 candidates: int):
        self.store, self.dense, self.lexical = store, dense, lexical
        self.encode, self.names = encode, names
        self.rrf_k, self.candidates = rrf_k, candidates

    def rank(self, query: str, k: int, allowed: np.ndarray | None = None
             ) -> list[tuple[int, float]]:
        from pymilvus import AnnSearchRequest, RRFRanker

        if self.dense.size == 0 or (allowed is not None and len(allowed) == 0):
            return []
        depth = max(k, self.candidates)
        expr = self.dense.filter(allowed)
        vector = np.asarray(self.encode(query), dtype=np.float32).ravel().tolist()
        expanded = self.names.expand(query) if self.names is not None else query
        terms = self.lexical.query_terms(expanded)
        if not terms:  # nothing for BM25 to match: the dense ranking alone, fused as usual
            return reciprocal_rank_fusion([self.dense.search(np.asarray(vector), depth, allowed)],
                                          self.rrf_k)[:k]
        requests = [
            AnnSearchRequest([vector], "dense", self.dense.search_params(),
                             limit=min(depth, self.dense.size), expr=expr or None),
            AnnSearchRequest([terms], "sparse", {"metric_type": "BM25"},
                             limit=min(depth, self.dense.size), expr=expr or None),
        ]
        res = self.store.client.hybrid_search(self.store.name, requests, RRFRanker(self.rrf_k),
                                              limit=min(depth, self.dense.size),
                                              output_fields=["id"])
        fused = [(self.dense.ids.row_of(h["id"]), float(h["distance"])) for h in res[0]]
        # the same order as the in-process fusion: score, then row for ties
        fused.sort(key=lambda item: (-round(item[1], 7), item[0]))
        return fused[:k]
