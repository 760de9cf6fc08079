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
``RRFRanker(rrf_k)``. Filters (speaker, period) run in Milvus as ``id in [...]`` expressions over
the passage ids the statement book and the date sets select.

Incremental builds delete the rows of removed or changed articles (``article_id in [...]``) and
insert the new articles' rows; unchanged articles are not rewritten. The manifest is written
last, so a build killed half way leaves an index whose manifest disagrees with its rows; the next
build (any build) sees the count mismatch and rebuilds in full.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from ._version import __version__
from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError, NewsragError
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
MAX_FILTER_IDS = 16_384  # past this many allowed ids, filter after the search instead


def bm25_terms(text: str) -> str:
    """newsrag's BM25 tokens, each hex-encoded into one word Milvus' standard analyzer keeps."""
    return " ".join("x" + t.encode("utf-8").hex() for t in tokenize(text))


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _id_filter(field: str, values: Sequence[str]) -> str:
    return f"{field} in [{', '.join(_quote(v) for v in values)}]"


@lru_cache(maxsize=8)
def _client(uri: str) -> "MilvusClient":
    """One client per URI per process (Milvus Lite opens its file once)."""
    import logging

    from pymilvus import MilvusClient

    # query_iterator warns on every call that Milvus Lite gives no MVCC timestamp
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    return MilvusClient(uri)


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
        self.name = settings.milvus_collection
        self.meta_name = f"{self.name}_meta"
        self.sent_name = f"{self.name}_sentences"

    @property
    def client(self) -> "MilvusClient":
        try:
            return _client(self.uri)
        except Exception as exc:  # pymilvus raises its own MilvusException, or OSError
            raise NewsragError(f"cannot connect to Milvus at {self.uri}: {str(exc)[:200]}"
                               ) from None

    # ---- the seam ------------------------------------------------------------------------
    def describe(self) -> str:
        return f"Milvus {self.uri} (collection {self.name})"

    def exists(self) -> bool:
        c = self.client
        return c.has_collection(self.meta_name) and c.has_collection(self.name) and bool(
            self._blob_parts("manifest", limit=1))

    def local_folder(self) -> Path | None:
        """Beside a Milvus Lite file (``x.db`` -> ``x.db.local/``), else under the index folder:
        where the exported ONNX encoder is kept. Only a cache: without it, questions are
        encoded by sentence-transformers from the model setting."""
        base = (Path(self.uri + ".local") if not self.remote
                else self.index_dir / f".milvus-{hashlib.sha1(self.uri.encode()).hexdigest()[:8]}")
        return base / self.name

    def lock(self) -> AbstractContextManager[None]:
        if self.remote:  # one builder per collection is the operator's job on a server
            return nullcontext()
        from .store import IndexStore

        return IndexStore(Path(self.uri + ".lock")).lock()

    def read_manifest(self) -> Manifest:
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
        c = self.client
        if output.full or not c.has_collection(self.name):
            for name in (self.name, self.meta_name, self.sent_name):
                if c.has_collection(name):
                    c.drop_collection(name)
            self._create(output.model.dim, len(output.passages))
        c.load_collection(self.name)
        if output.removed:
            for i in range(0, len(output.removed), 1000):
                c.delete(self.name, filter=_id_filter("article_id", output.removed[i:i + 1000]))
        by_id = {a.id: a for a in output.articles}
        rows: list[dict[str, Any]] = []
        from .build import embedding_text

        for art in output.articles:
            vecs = output.fresh.get(art.id)
            if vecs is None:
                continue
            for p, v in zip(output.passages[art.first:art.first + art.count], vecs):
                rows.append({
                    "id": passage_id(art.id, p.start), "article_id": art.id,
                    "title": art.title[:4000], "date": art.date or "",
                    "source": (art.source or "")[:4000], "url": (art.url or "")[:4000],
                    "start": p.start, "end": p.end, "text": p.text,
                    "terms": bm25_terms(embedding_text(by_id[art.id], p.text))[:TEXT_MAX],
                    "dense": np.asarray(v, dtype=np.float32).tolist(),
                })
                if len(rows) >= INSERT_BATCH:
                    c.upsert(self.name, rows)
                    rows = []
        if rows:
            c.upsert(self.name, rows)
        self._write_sentences(output.sentences, output.model.dim)
        if output.encoder_dir is not None:
            self._keep_encoder(output.encoder_dir)
        vocab = sorted({t for a in output.articles
                        for p in output.passages[a.first:a.first + a.count]
                        for t in tokenize(embedding_text(a, p.text))})
        self._write_blob("vocab", json.dumps(vocab, ensure_ascii=False))
        with tempfile.TemporaryDirectory() as tmp:
            from .statements import StatementBook

            output.names.save(Path(tmp) / "names.json")
            StatementBook.save(output.statements, Path(tmp) / "statements.jsonl")
            self._write_blob("names", (Path(tmp) / "names.json").read_text(encoding="utf-8"))
            self._write_blob("statements",
                             (Path(tmp) / "statements.jsonl").read_text(encoding="utf-8"))
        self._write_manifest(output)
        # Seal what was written: rows left in growing segments are searched without their index
        # (BM25 took ~2 s a query on 6k passages in the writing process, 20 ms once sealed).
        for name in (self.name, self.sent_name, self.meta_name):
            c.flush(name)

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
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["terms"], output_field_names=["sparse"]))
        index_type, params, _ = self.dense_index(count)
        index_params = c.prepare_index_params()
        index_params.add_index("dense", index_type=index_type, metric_type="IP", params=params)
        index_params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                               params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        index_params.add_index("article_id", index_type="INVERTED")
        c.create_collection(self.name, schema=schema, index_params=index_params,
                            consistency_level="Strong")

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


class MilvusGeneration(Generation):
    """A :class:`Generation` whose parts are read from Milvus instead of files."""

    def __init__(self, folder: Path, manifest: Manifest, dense: "MilvusDense",
                 passages: list[Passage], store: MilvusStore):
        super().__init__(folder, manifest, dense, passages)  # type: ignore[arg-type]
        self.store = store
        self.ids = dense.ids  # one id <-> row mapping, the one the searches use
        self._lexical: MilvusLexical | None = None

    def lexical(self) -> "MilvusLexical":
        if self._lexical is None:
            vocab = json.loads(self._read(lambda: self.store._read_text("vocab")))
            self._lexical = MilvusLexical(self.store, self.dense, vocab)  # type: ignore[arg-type]
        return self._lexical

    def sentences(self) -> "SentenceVectors | None":
        return self._read(self.store.read_sentences)

    def names(self) -> "NameTable":
        from .names import NameTable

        return self._read(lambda: _via_file(self.store._read_text("names"), NameTable.load))

    def statements(self) -> "list[Statement]":
        from .statements import StatementBook

        return self._read(lambda: _via_file(self.store._read_text("statements"),
                                            StatementBook.read))

    def backends(self, encode: Any, names: "NameTable | None", settings: "Settings"
                 ) -> dict[str, Backend]:
        return {"hybrid": MilvusHybrid(self.store, self.dense, self.lexical(),  # type: ignore
                                       encode, names, settings.rrf_k, settings.candidates)}


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

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return self._dim

    def filter(self, allowed: np.ndarray | None) -> str:
        if allowed is None:
            return ""
        return _id_filter("id", [self.ids[int(r)] for r in allowed])

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
