"""The Milvus store: an index as Milvus collections, through pymilvus (the ``scale`` extra).

``milvus_uri`` is a file path for Milvus Lite (embedded, no server) or ``http(s)://host:19530``
for a Milvus server or cluster; the client code is the same. Three collections per *epoch*,
named after ``milvus_collection`` (default ``newsrag``) and the epoch, ``<name>__<epoch>``:

``<name>__<epoch>`` (the passages)
    primary key ``pk`` = ``"<passage id>@<born>"``; ``id``, the passage's stable id
    ``"<article id>:<start offset>"``; the article's id, title, date, source and url, the
    passage's offsets and text, its dense vector (FLAT/IP below ``approximate_threshold``
    passages, HNSW above; IVF_FLAT on Milvus Lite, which has no HNSW), ``terms`` and
    ``sparse`` (BM25, below), the filter arrays ``dates`` and ``said``, and the row's versions
    ``born`` and ``died``.
``..._sentences``
    the passages' sentence vectors, keyed by their 64-bit text key, with ``born`` and ``died``.
``..._meta``
    JSON blobs in 60 KB parts, one set per revision (``rev``): the manifest (articles, model
    fingerprint, chunking, counts), the name table, the statements, the BM25 vocabulary (per
    token, how many rows hold it) and each article's row signature. :meth:`MilvusStore.open`
    needs nothing else, so :meth:`newsrag.Index.load` works from the URI alone.

BM25 is Milvus' own: its BM25 function makes ``sparse`` from ``terms`` (``SPARSE_INVERTED_INDEX``,
metric BM25, k1 1.5 and b 0.75 as bm25s), over newsrag's tokens (stemmed, compounds kept whole
and split), each hex-encoded into one word Milvus' standard analyzer keeps. Hybrid search is one
``hybrid_search`` (dense and BM25 requests) with ``RRFRanker(rrf_k)``.

Versions: a one-row collection ``<name>_current`` names the live epoch and its revision,
``"<epoch>@<R>"``. A reader pins both when it opens the index and adds ``born <= R and died > R``
to every search and query, so the rows it gets are exactly revision R's however the rows change
under it (BM25's statistics are Milvus', over the rows it holds: see below).

- An incremental build (``add``, ``build`` with the corpus changed) *upserts* (see "when" below):
  it writes revision R+1 into the live epoch: it inserts the rows of new and changed articles
  with ``born = R+1``, sets ``died = R+1`` on the rows of removed and changed articles (an upsert
  of that one field, or of the whole rows where the server has no partial upsert), does the same
  to the sentence vectors, writes revision R+1's blobs, and only then moves the pointer to
  ``<epoch>@<R+1>`` in one upsert. So it writes what changed, not the corpus. An article kept as
  it was is left alone unless a row of it changes without its text (a speaker renamed by another
  article changes its ``said`` keys): its row signature says so, and its rows are written again
  with their stored vectors.
- Readers never see a half-written build: until the pointer moves, the new rows are born after
  every reader's revision and the removed ones die after it. A build killed before the pointer
  moves leaves revision R answering; the next build (under the build lock) first deletes rows
  born after R, and gives the rows it marked dead their life back.
- Once R+1 is live, the build physically deletes the rows dead at R already (``died <= R``) and
  the blobs of the revisions before R: as with epochs, the live version and the one before it
  are kept, so a reader still on R keeps its rows until the build after.
- Otherwise a build writes a new *epoch*: new collections with every row (vectors not embedded
  again are copied from the live epoch), then the pointer; the epoch before the live one is
  dropped when a new one goes live. That is a full build (``build --full``, another model or
  chunking, a manifest that does not open), a dense index that changes type
  (``approximate_threshold`` crossed), collections written before revisions, and, by default,
  every build on Milvus Lite.

When to upsert (``NEWSRAG_MILVUS_UPSERT``, :func:`upsert_mode`): Milvus' BM25 function scores
with statistics (row count, average length, document frequencies) over the rows Milvus holds,
not over the rows a filter leaves: rows of a revision not yet live and rows dead but not yet
deleted count until deleted (and, on a server, compacted). On a Milvus server these statistics
are the collection's; Milvus Lite keeps them per segment (each flush is a segment; deleted
rows still count in theirs; ``compact()`` does nothing there): rows upserted into the live
epoch land in a segment of their own and rank against it alone. Measured
(benchmarks/milvus_bm25_segments.py, 2,000 passages): after deleting 20 rows and inserting 20,
BM25's top 10 equalled a fresh collection's in 20 of 40 queries; with the real model on the
seed corpus, 2 to 5 of 42 answers differed from the FAISS store's after each upsert, none after
a new epoch (benchmarks/milvus_upsert_answers.py). So ``auto`` (the default) upserts on a Milvus
server and writes a new epoch on Milvus Lite (embedded, or its server, which says
``milvus_lite`` in its version): one segment of live rows, BM25 as the FAISS store's.
``always`` upserts on Milvus Lite too; ``never`` writes an epoch per build everywhere.

Filters (speaker, period) run in Milvus as boolean expressions over two ARRAY fields of each
passage, ``dates`` and ``said`` (see "filters as Milvus expressions" below): their size depends
on the filter, not on how many passages it leaves.

Older layouts still load and answer: collections built before epochs (``newsrag``,
``newsrag_meta``, ``newsrag_sentences``, no pointer, no filter arrays: filters go as ``id in
[...]``) and epochs written before revisions (pointer ``"<epoch>"``, no ``pk``/``born``/
``died``). The next build moves either to a new epoch with revisions, copying their vectors.
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
    from .store import ArticleMeta
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
# ``died`` of a row no build has removed (any revision number is smaller).
ALIVE = 1 << 62
ID_BATCH = 100  # article ids per ``article_id in [...]`` query
DIED_BATCH = 1024  # rows per upsert of ``died``


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




def _hit_id(hit: Any) -> str:
    """A search hit's passage id (the primary key of collections without versions, else the
    ``id`` field asked for in ``output_fields``)."""
    entity = hit.get("entity") or {}
    return str(entity["id"] if "id" in entity else hit["id"])


def _and(*parts: str) -> str:
    """Milvus expressions joined by ``and`` (empty ones left out)."""
    return " and ".join(p for p in parts if p)


def _tokens_of_terms(terms: str) -> set[str]:
    """The distinct newsrag tokens of a row's ``terms`` field (see :func:`bm25_terms`)."""
    return {bytes.fromhex(w[1:]).decode("utf-8") for w in terms.split() if w.startswith("x")}


def upsert_mode() -> str:
    """``NEWSRAG_MILVUS_UPSERT``: ``auto`` (default: incremental builds upsert on a Milvus
    server, and write a new epoch on Milvus Lite, whose BM25 statistics are per segment),
    ``always`` (upsert on Milvus Lite too: BM25 then ranks as a collection of several segments
    does, not as the FAISS store) or ``never`` (a new epoch per build, as before upserts)."""
    import os

    mode = os.environ.get("NEWSRAG_MILVUS_UPSERT", "auto").strip().lower() or "auto"
    if mode not in ("auto", "always", "never"):
        raise NewsragError("NEWSRAG_MILVUS_UPSERT must be auto, always or never")
    return mode


def _row_signature(rows: Sequence[dict[str, Any]]) -> str:
    """What an article's rows hold apart from their vectors, as 16 hex digits: a kept article
    whose signature changed (its ``said`` keys, say) has its rows written again."""
    text = json.dumps(rows, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def _passage_row(article: "ArticleMeta", passage: Passage, fields: dict[str, Any]
                 ) -> dict[str, Any]:
    """A passage row's fields apart from its vectors and versions."""
    return {**fields, "id": passage_id(article.id, passage.start), "article_id": article.id,
            "title": article.title[:4000], "date": article.date or "",
            "source": (article.source or "")[:4000], "url": (article.url or "")[:4000],
            "start": passage.start, "end": passage.end, "text": passage.text}



def _create_collection(c: "MilvusClient", name: str, schema: Any, index_params: Any) -> None:
    """Create a collection with its indexes and load it. The indexes are asked for without
    waiting (``sync=False``): on an empty collection there is nothing to build, and pymilvus'
    wait polls every 0.5 s (5 s of every epoch's 10 indexes, measured on Milvus Lite)."""
    c.create_collection(name, schema=schema, consistency_level="Strong")
    c.create_index(name, index_params, sync=False)
    c.load_collection(name)


@register_store("milvus")
class MilvusStore(PassageStore):
    """An index kept in Milvus (Lite or server); see the module docstring."""

    # Whether the server takes an upsert of some of a row's fields (Milvus 2.6, Milvus Lite);
    # None: not tried yet. Without it, ``died`` is set by upserting whole rows read back.
    partial_update: bool | None = None

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
        # The epoch (set of collections) and revision this object reads and writes; epoch
        # None: the ones the pointer names, looked up on each use (see pinned()). rev None: an
        # epoch written before revisions (its rows carry no versions).
        self.epoch: str | None = None
        self.rev: int | None = None
        self._lite: bool | None = None

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

    # ---- epochs and revisions: where the live rows are, named by one pointer row ---------
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

    def current(self) -> tuple[str, int | None]:
        """The live epoch and revision, as the pointer names them (``("", None)`` when there is
        no pointer; revision None for an epoch written before revisions)."""
        c = self.client
        if not c.has_collection(self.pointer_name):
            return "", None
        c.load_collection(self.pointer_name)
        rows = c.query(self.pointer_name, filter='key == "current"', output_fields=["epoch"],
                       limit=1)
        epoch, _, rev = (str(rows[0]["epoch"]) if rows else "").partition("@")
        return epoch, int(rev) if rev else None

    def current_epoch(self) -> str:
        """The live epoch ("" when there is none)."""
        return self.current()[0]

    def pinned(self, epoch: str | None = None, rev: int | None = None) -> "MilvusStore":
        """This store fixed on ``epoch`` and revision ``rev`` (default: the live ones, read
        together from the pointer), so that what one reader or writer sees cannot change under
        it when a build moves the pointer."""
        other = copy.copy(self)
        other.epoch, other.rev = self.current() if epoch is None else (epoch, rev)
        return other

    def visible(self) -> str:
        """The expression every search and query of this revision adds: the rows born by it
        and not dead at it ("" for collections without versions)."""
        return "" if self.rev is None else f"born <= {self.rev} and died > {self.rev}"

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

    def _point_to(self, epoch: str, rev: int) -> None:
        """Make revision ``rev`` of ``epoch`` live: one upsert of one row, atomic for readers."""
        from pymilvus import DataType

        c = self.client
        if not c.has_collection(self.pointer_name):
            schema = c.create_schema(auto_id=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
            schema.add_field("epoch", DataType.VARCHAR, max_length=64)
            schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # every collection needs one
            params = c.prepare_index_params()
            params.add_index("v", index_type="FLAT", metric_type="L2")
            _create_collection(c, self.pointer_name, schema, params)
        c.load_collection(self.pointer_name)
        c.upsert(self.pointer_name, [{"key": "current", "epoch": f"{epoch}@{rev}",
                                      "v": [0.0, 0.0]}])
        c.flush(self.pointer_name)

    def _fields(self, collection: str) -> set[str]:
        return {f["name"] for f in self.client.describe_collection(collection)["fields"]}

    def has_filter_fields(self) -> bool:
        """Whether the passage collection has the ``dates`` and ``said`` fields (collections
        built before them filter by id lists instead)."""
        return set(FILTER_FIELDS) <= self._fields(self.name)

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
        """The live epoch, its revision and its manifest's build time (live reload polls it)."""
        try:
            store = self.pinned()
            at = store.epoch if store.rev is None else f"{store.epoch}@{store.rev}"
            return f"{at}/{store.read_manifest().built_at}" if store.exists() else None
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
        """Undo what killed builds left (call under lock): epochs newer than the live one, and
        in the live epoch the rows of revisions after the live one (deleted) and the deaths
        they recorded (undone); then finish a purge a killed build may have left half done."""
        live = self.pinned()
        self._drop_epochs({e for e in self.epochs() if e <= (live.epoch or "")})
        if live.rev is not None and self.client.has_collection(live.name):
            live._undo_after(live.rev)
            live._purge(live.rev - 1)

    def _undo_after(self, rev: int) -> None:
        c = self.client
        for name in (self.name, self.sent_name):
            c.load_collection(name)
            c.delete(name, filter=f"born > {rev}")
            dead = [r["pk"] for r in self._iterate(name, ["pk"], f"died > {rev} and died < {ALIVE}")]
            self._set_died(name, dead, ALIVE)
        c.load_collection(self.meta_name)
        c.delete(self.meta_name, filter=f"rev > {rev}")

    def _purge(self, rev: int) -> int:
        """Delete what no reader of revision ``rev`` or later sees: rows dead at ``rev``, blobs
        of revisions before it. Returns how many passage rows went."""
        if rev < 1:
            return 0
        c = self.client
        gone = 0
        for name in (self.name, self.sent_name):
            c.load_collection(name)
            done = c.delete(name, filter=f"died <= {rev}")
            if name == self.name:  # Milvus says how many, Milvus Lite which
                gone = len(done) if isinstance(done, list) else int(done.get("delete_count", 0))
        c.load_collection(self.meta_name)
        c.delete(self.meta_name, filter=f"rev < {rev}")
        return gone

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
        passages, born = self._read_passages(manifest)
        if len(passages) != manifest.counts.passages:
            raise IndexCorruptError(
                f"the index in {self.describe()} is inconsistent ({len(passages)} passages, "
                f"manifest says {manifest.counts.passages}); " + REBUILD_HINT)
        dense = MilvusDense(self, PassageIds(passages), manifest.model.dim,
                            manifest.dense.type, dict(manifest.dense.params), born)
        folder = self.local_folder()
        assert folder is not None
        return MilvusGeneration(folder, manifest, dense, passages, store=self)

    # ---- writing -------------------------------------------------------------------------
    def write(self, output: BuildOutput) -> None:
        """Make ``output`` live: as revision R+1 of the live epoch where the live epoch can take
        it (an upsert of what changed), else as a new epoch; see the module docstring.
        :attr:`written` says which, and how many rows were written."""
        live = self.pinned()
        why = live._why_new_epoch(output)
        if why is None:
            self.written = live._upsert(output)
        else:
            self.written = {**self._write_epoch(output, live), "reason": why}

    def _why_new_epoch(self, output: BuildOutput) -> str | None:
        """Why ``output`` cannot be an upsert into this (live) epoch, or None if it can."""
        if output.full:
            return "a full build"
        if self.rev is None:
            return "the live collections have no row versions"
        if not self.exists():
            return "no live revision"
        manifest = self.read_manifest()
        if manifest.model.dim != output.model.dim:
            return "another vector size"
        kind = self.dense_index(len(output.passages))[2]
        if kind != manifest.dense.type:
            return f"the dense index changes from {manifest.dense.type} to {kind}"
        mode = upsert_mode()
        if mode == "never":
            return "NEWSRAG_MILVUS_UPSERT=never"
        if mode == "auto" and self.is_lite():
            # Milvus Lite scores BM25 per segment, counting deleted rows: rows upserted into
            # the live collection would rank unlike a fresh build (benchmarks/
            # milvus_bm25_segments.py); a new epoch is one segment of live rows.
            return "Milvus Lite keeps BM25 statistics per segment"
        return None

    def is_lite(self) -> bool:
        """Whether the store is Milvus Lite (embedded, or its server behind a URI)."""
        if not self.remote:
            return True
        if self._lite is None:
            try:
                version = str(self.client.get_server_version())
            except Exception:  # an old server without GetVersion is no Milvus Lite
                version = ""
            self._lite = version.lower().startswith(("milvus_lite", "milvus-lite"))
        return self._lite

    def _document_frequencies(self) -> dict[str, int]:
        """Per BM25 token, how many rows of this revision hold it (the ``vocab`` blob)."""
        data = json.loads(self._read_text("vocab"))
        return data if isinstance(data, dict) else {t: 1 for t in data}

    def _vector_of(self, row: dict[str, Any], n: int, vecs: Any,
                   old: dict[str, list[float]]) -> list[float]:
        """A passage row's vector: embedded by this build, else kept from the live index."""
        if vecs is not None:
            return np.asarray(vecs[n], dtype=np.float32).tolist()
        if row["id"] in old:
            return old[row["id"]]
        raise IndexCorruptError(f"the index in {self.describe()} lacks passage {row['id']} of "
                                "an unchanged article; " + REBUILD_HINT)

    def _write_epoch(self, output: BuildOutput, live: "MilvusStore") -> dict[str, Any]:
        """Write the build into a new epoch's collections (revision 1), then move the pointer
        to it: readers see the previous epoch until that one upsert, and a build killed before
        it leaves the previous epoch live (the next build drops what it left). Articles this
        build did not embed are copied from the live epoch with their vectors; the epoch before
        the live one is dropped once the new one is live (the live one stays for readers still
        on it)."""
        import datetime as dt
        import secrets

        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        new = self.pinned(f"e{stamp}{secrets.token_hex(2)}", 1)
        new._create(output.model.dim, len(output.passages))
        old = live._kept_vectors(output)
        fields = filter_fields(output.articles, output.passages, output.statements,
                               output.names)
        df: dict[str, int] = {}
        signatures: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        for art in output.articles:
            base = [_passage_row(art, p, fields[art.first + n]) for n, p in
                    enumerate(output.passages[art.first:art.first + art.count])]
            signatures[art.id] = _row_signature(base)
            vecs = output.fresh.get(art.id)
            for n, row in enumerate(base):
                vector = self._vector_of(row, n, vecs, old)
                rows.append(_versioned(row, art, vector, 1))
                for token in _tokens_of_terms(rows[-1]["terms"]):
                    df[token] = df.get(token, 0) + 1
                if len(rows) >= INSERT_BATCH:
                    self.client.insert(new.name, rows)
                    rows = []
        if rows:
            self.client.insert(new.name, rows)
        sentences = new._write_sentences(output.sentences, 1)
        if output.encoder_dir is not None:
            new._keep_encoder(output.encoder_dir)
        new._write_blobs(output, df, signatures)
        # Seal what was written: rows left in growing segments are searched without their index
        # (BM25 took ~2 s a query on 6k passages in the writing process, 20 ms once sealed).
        for name in (new.name, new.sent_name, new.meta_name):
            self.client.flush(name)
        assert new.epoch is not None and live.epoch is not None
        self._point_to(new.epoch, 1)
        self._drop_epochs({new.epoch, live.epoch})
        return {"mode": "epoch", "revision": 1, "passages": len(output.passages),
                "removed": 0, "sentences": sentences[0], "sentences_removed": 0}

    def _kept_vectors(self, output: BuildOutput) -> dict[str, list[float]]:
        """The vectors of the articles ``output`` did not embed, from this (live) epoch, by
        passage id: same id, same article text. Reads any layout (with or without revisions)."""
        c = self.client
        kept = [a.id for a in output.articles if a.id not in output.fresh]
        old: dict[str, list[float]] = {}
        if not kept or not c.has_collection(self.name):
            return old
        c.load_collection(self.name)
        if len(kept) > ID_BATCH:  # most of the corpus: one pass over the revision's rows
            wanted = set(kept)
            for r in self._iterate(self.name, ["id", "article_id", "dense"], self.visible()):
                if r["article_id"] in wanted:
                    old[r["id"]] = r["dense"]
            return old
        for i in range(0, len(kept), ID_BATCH):
            expr = _and(_id_filter("article_id", kept[i:i + ID_BATCH]), self.visible())
            for r in self._iterate(self.name, ["id", "dense"], expr):
                old[r["id"]] = r["dense"]
        return old

    def _upsert(self, output: BuildOutput) -> dict[str, Any]:
        """Write ``output`` as revision R+1 of this (live, pinned) epoch: the rows of new and
        changed articles born at R+1, those of removed and changed ones dead at R+1, then the
        revision's blobs, the pointer, and the purge of what died at R or before."""
        assert self.rev is not None and self.epoch is not None
        c = self.client
        rev, new = self.rev, self.rev + 1
        c.load_collection(self.name)
        df = self._document_frequencies()
        signatures_before = json.loads(self._read_text("rows"))
        fields = filter_fields(output.articles, output.passages, output.statements,
                               output.names)
        by_id = {a.id: a for a in output.articles}
        signatures: dict[str, str] = {}
        pending: dict[str, list[dict[str, Any]]] = {}  # article id -> its rows to write
        for art in output.articles:
            base = [_passage_row(art, p, fields[art.first + n]) for n, p in
                    enumerate(output.passages[art.first:art.first + art.count])]
            signatures[art.id] = _row_signature(base)
            if art.id in output.fresh or signatures_before.get(art.id) != signatures[art.id]:
                pending[art.id] = base
        # Rows that die: those of removed articles and of every article written again.
        dying = sorted(set(output.removed) | set(pending))
        rewritten = {a for a in pending if a not in output.fresh}  # same text, other fields
        dead: list[str] = []
        old: dict[str, list[float]] = {}
        for i in range(0, len(dying), ID_BATCH):
            ids = dying[i:i + ID_BATCH]
            wanted = ["pk", "id", "article_id", "terms"]
            if rewritten & set(ids):
                wanted.append("dense")
            for r in self._iterate(self.name, wanted,
                                   _and(_id_filter("article_id", ids), self.visible())):
                dead.append(r["pk"])
                for token in _tokens_of_terms(r["terms"]):
                    df[token] -= 1
                    if df[token] <= 0:
                        del df[token]
                if r["article_id"] in rewritten:
                    old[r["id"]] = r["dense"]
        rows: list[dict[str, Any]] = []
        inserted = 0
        for article_id, base in pending.items():
            art = by_id[article_id]
            vecs = output.fresh.get(article_id)
            for n, row in enumerate(base):
                vector = self._vector_of(row, n, vecs, old)
                rows.append(_versioned(row, art, vector, new))
                for token in _tokens_of_terms(rows[-1]["terms"]):
                    df[token] = df.get(token, 0) + 1
                inserted += 1
                if len(rows) >= INSERT_BATCH:
                    c.insert(self.name, rows)
                    rows = []
        if rows:
            c.insert(self.name, rows)
        self._set_died(self.name, dead, new)
        sentences = self._write_sentences(output.sentences, new)
        if output.encoder_dir is not None:
            self._keep_encoder(output.encoder_dir)
        following = self.pinned(self.epoch, new)
        following._write_blobs(output, df, signatures)
        for name in (self.name, self.sent_name, self.meta_name):
            c.flush(name)
        self._point_to(self.epoch, new)
        purged = self._purge(rev)
        self._drop_epochs({self.epoch})
        return {"mode": "upsert", "revision": new, "passages": inserted, "removed": len(dead),
                "sentences": sentences[0], "sentences_removed": sentences[1],
                "purged": purged}

    def _set_died(self, collection: str, pks: Sequence[str], died: int) -> None:
        """Set ``died`` on these rows: an upsert of that field alone where the server takes one
        (Milvus 2.6, Milvus Lite), else of the whole rows read back."""
        c = self.client
        for i in range(0, len(pks), DIED_BATCH):
            batch = list(pks[i:i + DIED_BATCH])
            if self.partial_update is not False:
                try:
                    c.upsert(collection, [{"pk": pk, "died": died} for pk in batch],
                             partial_update=True)
                    self.partial_update = True
                    continue
                except Exception:  # an older server: no partial upsert
                    if self.partial_update:
                        raise
                    self.partial_update = False
            # every field but the BM25 function's output, which Milvus makes from ``terms``
            fields = sorted(self._fields(collection) - {"sparse"})
            rows = c.query(collection, filter=_id_filter("pk", batch), output_fields=fields,
                           limit=len(batch))
            for r in rows:
                r.pop("sparse", None)
                r["died"] = died
            c.upsert(collection, rows)

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
        schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=1100)
        schema.add_field("id", DataType.VARCHAR, max_length=1024)
        schema.add_field("article_id", DataType.VARCHAR, max_length=1000)
        for name in ("title", "source", "url"):
            schema.add_field(name, DataType.VARCHAR, max_length=4096)
        schema.add_field("date", DataType.VARCHAR, max_length=32)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX)
        schema.add_field("terms", DataType.VARCHAR, max_length=TEXT_MAX, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("born", DataType.INT64)
        schema.add_field("died", DataType.INT64)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
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
            for name in ("id", "article_id", "born", "died"):
                index_params.add_index(name, index_type="INVERTED")
            for name in FILTER_FIELDS if arrays else ():
                index_params.add_index(name, index_type="INVERTED")
            return index_params

        import logging

        quiet = logging.getLogger("pymilvus")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # pymilvus logs a refused request with its traceback
        try:  # an inverted index on the filter arrays where the server has one (Milvus does)
            _create_collection(c, self.name, schema, indexes(self.remote))
        except Exception as exc:
            if not self.remote or "index" not in str(exc):
                raise
            # milvus-lite's server: no index on arrays; the filters scan them instead
            if c.has_collection(self.name):
                c.drop_collection(self.name)
            _create_collection(c, self.name, schema, indexes(False))
        finally:
            quiet.setLevel(level)

        meta = c.create_schema(auto_id=False)
        meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=160)
        meta.add_field("rev", DataType.INT64)
        meta.add_field("blob", DataType.VARCHAR, max_length=128)
        meta.add_field("part", DataType.INT64)
        meta.add_field("data", DataType.VARCHAR, max_length=TEXT_MAX)
        meta.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # every collection needs a vector
        mp = c.prepare_index_params()
        mp.add_index("v", index_type="FLAT", metric_type="L2")
        _create_collection(c, self.meta_name, meta, mp)

        sent = c.create_schema(auto_id=False)
        sent.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
        sent.add_field("key", DataType.INT64)
        sent.add_field("born", DataType.INT64)
        sent.add_field("died", DataType.INT64)
        sent.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        sp = c.prepare_index_params()
        sp.add_index("vector", index_type="FLAT", metric_type="IP")
        for name in ("born", "died"):
            sp.add_index(name, index_type="INVERTED")
        _create_collection(c, self.sent_name, sent, sp)

    # ---- blobs ---------------------------------------------------------------------------
    def _blob_parts(self, name: str, limit: int = 16_384) -> list[dict[str, Any]]:
        c = self.client
        c.load_collection(self.meta_name)
        expr = _and(f"blob == {_quote(name)}",
                    f"rev == {self.rev}" if self.rev is not None else "")
        return c.query(self.meta_name, filter=expr, output_fields=["part", "data"], limit=limit)

    def _read_blob(self, name: str) -> str:
        parts = sorted(self._blob_parts(name), key=lambda r: r["part"])
        return "".join(r["data"] for r in parts)

    def _write_blob(self, name: str, text: str) -> None:
        """One blob of this store's revision (written only into epochs with revisions)."""
        assert self.rev is not None
        c = self.client
        c.load_collection(self.meta_name)
        # base64 keeps any character (and the 65,535-byte limit) out of the way
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        parts = [data[i:i + PART_CHARS] for i in range(0, len(data), PART_CHARS)] or [""]
        c.delete(self.meta_name, filter=f"blob == {_quote(name)} and rev == {self.rev}")
        rows = [{"key": f"{self.rev}/{name}/{i:06d}", "rev": self.rev, "blob": name, "part": i,
                 "data": part, "v": [0.0, 0.0]} for i, part in enumerate(parts)]
        for i in range(0, len(rows), 64):
            c.insert(self.meta_name, rows[i:i + 64])

    def _read_text(self, name: str) -> str:
        return base64.b64decode(self._read_blob(name)).decode("utf-8")

    def _write_blobs(self, output: BuildOutput, df: dict[str, int],
                     signatures: dict[str, str]) -> None:
        """This revision's blobs: names, statements, the BM25 vocabulary (per token, how many
        rows hold it), the articles' row signatures, and the manifest last."""
        with tempfile.TemporaryDirectory() as tmp:
            from .statements import StatementBook

            output.names.save(Path(tmp) / "names.json")
            StatementBook.save(output.statements, Path(tmp) / "statements.jsonl")
            self._write_blob("names", (Path(tmp) / "names.json").read_text(encoding="utf-8"))
            self._write_blob("statements",
                             (Path(tmp) / "statements.jsonl").read_text(encoding="utf-8"))
        self._write_blob("vocab", json.dumps(dict(sorted(df.items())), ensure_ascii=False))
        self._write_blob("rows", json.dumps(signatures, ensure_ascii=False))
        self._write_manifest(output)

    def _write_manifest(self, output: BuildOutput) -> None:
        import datetime as dt

        _, _, kind = self.dense_index(len(output.passages))  # an upsert keeps it (see write)
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
            "corpus_dir": output.corpus_dir,
            "skipped": output.skipped,
        })
        data = manifest.model_dump(mode="json")
        data["checksum"] = _canonical_sha256(data)
        self._write_blob("manifest", json.dumps(data, ensure_ascii=False))

    # ---- sentence vectors ----------------------------------------------------------------
    def _write_sentences(self, sentences: "SentenceVectors | None", rev: int
                         ) -> tuple[int, int]:
        """Make the sentence vectors of revision ``rev`` those of ``sentences``: keys new to it
        are inserted, born at ``rev``; keys it drops die at ``rev``. Returns (inserted, died)."""
        c = self.client
        c.load_collection(self.sent_name)
        have: dict[int, str] = {}
        if rev > 1:  # the previous revision's vectors (a new epoch has none)
            before = self.pinned(self.epoch, rev - 1)
            have = {int(r["key"]): r["pk"]
                    for r in self._iterate(self.sent_name, ["pk", "key"], before.visible())}
        if sentences is None:
            wanted = np.zeros(0, dtype=np.int64)
        else:
            wanted = np.asarray(sentences.keys, dtype=np.uint64).view(np.int64)
        keep = set(wanted.tolist())
        dying = [pk for key, pk in have.items() if key not in keep]
        new = [i for i, key in enumerate(wanted.tolist()) if key not in have]
        if sentences is not None:
            vectors = np.asarray(sentences.vectors, dtype=np.float32)
            for i in range(0, len(new), 2048):
                c.insert(self.sent_name, [
                    {"pk": f"{int(wanted[r])}@{rev}", "key": int(wanted[r]), "born": rev,
                     "died": ALIVE, "vector": vectors[r].tolist()} for r in new[i:i + 2048]])
        self._set_died(self.sent_name, dying, rev)
        return len(new), len(dying)

    def read_sentences(self) -> "SentenceVectors | None":
        from .vectors import SentenceVectors

        self.client.load_collection(self.sent_name)
        keys, vectors = [], []
        for r in self._iterate(self.sent_name, ["key", "vector"], self.visible()):
            keys.append(r["key"])
            vectors.append(r["vector"])
        if not keys:
            return None
        return SentenceVectors.build(np.asarray(keys, dtype=np.int64).view(np.uint64),
                                     np.asarray(vectors, dtype=np.float32))

    def _iterate(self, collection: str, fields: list[str], expr: str = ""
                 ) -> Iterator[dict[str, Any]]:
        it = self.client.query_iterator(collection, batch_size=4000, filter=expr,
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
    def _read_passages(self, manifest: Manifest) -> tuple[list[Passage], np.ndarray | None]:
        """The passages of this revision in row order (the manifest's), and each one's
        ``born`` (None for collections without versions): with the stable id, a row's primary
        key."""
        versioned = self.rev is not None
        fields = ["article_id", "start", "end", "text"] + (["born"] if versioned else [])
        by_article: dict[str, list[tuple[int, int, str, int]]] = {}
        for r in self._iterate(self.name, fields, self.visible()):
            by_article.setdefault(r["article_id"], []).append(
                (r["start"], r["end"], r["text"], r.get("born", 0)))
        passages: list[Passage] = []
        born: list[int] = []
        for a in manifest.articles:
            rows = sorted(by_article.get(a.id, []))
            if len(rows) != a.count:
                raise IndexCorruptError(
                    f"the index in {self.describe()} has {len(rows)} passages of article "
                    f"{a.id}, its manifest says {a.count}; " + REBUILD_HINT)
            passages += [Passage(a.id, a.title, a.date, s, e, t) for s, e, t, _ in rows]
            born += [b for *_, b in rows]
        return passages, np.asarray(born, dtype=np.int64) if versioned else None


def _versioned(row: dict[str, Any], article: "ArticleMeta", vector: Any, born: int
               ) -> dict[str, Any]:
    """A passage row as written: its fields, vector, BM25 input (``terms``: Milvus' BM25
    function makes ``sparse`` from it) and versions."""
    from .build import embedding_text

    return {**row, "pk": f"{row['id']}@{born}", "born": born, "died": ALIVE,
            "terms": bm25_terms(embedding_text(article, row["text"]))[:TEXT_MAX],
            "dense": vector}

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
            _create_collection(c, name, schema, params)
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
    """A :class:`Generation` whose parts are read from Milvus instead of files, all of one
    revision (the store it is given is pinned)."""

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
            # a list in collections before revisions, per token its row count since
            vocab = json.loads(self._read(lambda: self.store._read_text("vocab")))
            self._lexical = MilvusLexical(self.store, self.dense,  # type: ignore[arg-type]
                                          list(vocab))
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
    rows are positions in the loaded passage list, mapped to and from the stable ids. Every
    search carries the store's revision (:meth:`MilvusStore.visible`); ``born`` (each row's,
    None for collections without versions) makes a row's primary key, for reading vectors."""

    def __init__(self, store: MilvusStore, ids: PassageIds, dim: int, kind: str,
                 params: dict[str, Any], born: np.ndarray | None = None):
        self.store, self.ids, self._dim = store, ids, dim
        self.kind, self.params = kind, params
        self.born = born
        # set by the generation when the collection has the filter fields
        self.speaker_keys: Callable[[str], list[str]] | None = None
        self.last_filter = ""  # the expression of the last filtered search (tests read it)

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return self._dim

    def key(self, row: int) -> str:
        """A row's primary key: its id, and in collections with versions the revision it was
        born in."""
        return self.ids[row] if self.born is None else f"{self.ids[row]}@{int(self.born[row])}"

    def filter(self, allowed: np.ndarray | None) -> str:
        """The Milvus expression for the rows of the store's revision a filter leaves: the
        filter itself (speaker, period) on collections with the filter fields (on Milvus Lite
        only past :data:`LITE_ID_LIST_MAX` rows), else the rows' ids; and the revision."""
        if allowed is None:
            return self.store.visible()
        keys = self.speaker_keys
        expr = (filter_expression(allowed, keys) if keys is not None
                and (self.store.remote or len(allowed) > LITE_ID_LIST_MAX) else None)
        self.last_filter = expr or _id_filter("id", [self.ids[int(r)] for r in allowed])
        return _and(self.last_filter, self.store.visible())

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
        return [(self.ids.row_of(_hit_id(h)), float(h["distance"])) for h in res[0]]

    def _vectors_of(self, rows: Sequence[int]) -> list[list[float]]:
        keys = [self.key(r) for r in rows]
        got = self.store.client.get(self.store.name, ids=keys, output_fields=["dense"])
        field = "pk" if self.born is not None else "id"
        by_key = {r[field]: r["dense"] for r in got}
        return [by_key[k] for k in keys]

    def vectors(self, first: int, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._vectors_of(range(first, first + count)), dtype=np.float32)

    def similarity(self, query: np.ndarray, rows: list[int]) -> list[float]:
        if not rows:
            return []
        q = np.asarray(query, dtype=np.float32).ravel()
        return [float(np.asarray(v, dtype=np.float32) @ q) for v in self._vectors_of(rows)]


class MilvusLexical(LexicalIndex):
    """BM25 by Milvus (its BM25 function over ``terms``); the vocabulary (for typo-tolerant "is
    this name in the corpus") local. Searches see the store's revision only."""

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
        return [(self.dense.ids.row_of(_hit_id(h)), abs(float(h["distance"]))) for h in res[0]]


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
        fused = [(self.dense.ids.row_of(_hit_id(h)), float(h["distance"])) for h in res[0]]
        # the same order as the in-process fusion: score, then row for ties
        fused.sort(key=lambda item: (-round(item[1], 7), item[0]))
        return fused[:k]
