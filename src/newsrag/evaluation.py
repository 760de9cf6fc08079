"""Measuring quality: public benchmarks and the project's own question set, same pipeline.

Each dataset's documents are written as ``.jsonl`` articles into a temporary corpus and indexed
with :meth:`Index.build`, exactly as a user's articles would be; questions then go through
:meth:`Index.search` and :meth:`Index.ask`. Passages are mapped back to their documents (a
document's rank is that of its best passage). Ranking metrics come from ``ir-measures``
(pytrec_eval underneath), not from hand-written formulas.

Datasets (found in ``../shared/bench`` beside the project unless ``data_dir`` says otherwise):

- ``xquad``: 240 Wikipedia paragraphs (one document each), 1,190 questions: passage recall@1/@5,
  MRR@10, answer containment (the ``ask`` answer contains a gold answer), refusals.
- ``scifact``: BEIR SciFact test split (5,183 abstracts, 300 queries): nDCG@10, recall@100.
- ``own``: ``tests/questions.json`` over the project's ``corpus/``: correct-answer rate and
  refusal precision/recall.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import NewsragError
from .index import Index
from .settings import Settings

__all__ = ["DATASETS", "EvalDataset", "load_dataset", "evaluate", "find_data_dir",
           "judge_answer", "PUBLISHED"]

DATASETS = ("xquad", "scifact", "own")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Published nDCG@10 on the SciFact test split (../shared/bench/README.md).
PUBLISHED = {"scifact": {"bm25 (BEIR paper)": 0.665, "bm25 (Pyserini flat)": 0.679,
                         "all-MiniLM-L6-v2 (MTEB)": 0.645}}


@dataclass
class EvalDataset:
    """Documents, questions with their relevant documents, and (optionally) gold answers."""

    name: str
    documents: list[dict[str, Any]]          # {"id", "title", "text"}
    queries: list[dict[str, Any]]            # {"id", "text", "relevant": {doc_id: grade}, "answers": [...]}
    unanswerable: list[str] = field(default_factory=list)
    corpus_dir: Path | None = None           # index this folder instead of ``documents``


def find_data_dir(data_dir: Path | None = None) -> Path:
    """``data_dir``, else ``../shared/bench`` beside the current folder or the project."""
    candidates = [data_dir] if data_dir else [Path.cwd().parent / "shared" / "bench",
                                               PROJECT_ROOT.parent / "shared" / "bench"]
    for c in candidates:
        if c and c.is_dir():
            return c
    raise NewsragError(
        "benchmark data not found (looked in "
        + ", ".join(str(c) for c in candidates if c) + "); point --data at the bench folder")


def _xquad(data: Path, limit: int | None) -> EvalDataset:
    path = data / "xquad_en" / "xquad.en.json"
    if not path.is_file():
        raise NewsragError(f"{path} not found: is --data the bench folder?")
    raw = json.loads(path.read_text(encoding="utf-8"))
    docs, queries = [], []
    for art in raw["data"]:
        for i, para in enumerate(art["paragraphs"]):
            doc_id = f"{art['title']}#{i}"
            docs.append({"id": doc_id, "title": art["title"].replace("_", " "), "text": para["context"]})
            for qa in para["qas"]:
                queries.append({"id": qa["id"], "text": qa["question"], "relevant": {doc_id: 1},
                                "answers": [a["text"] for a in qa["answers"]]})
    if limit:  # questions spread evenly over all articles; every paragraph stays a candidate
        queries = queries[::max(1, len(queries) // limit)][:limit]
    return EvalDataset("xquad", docs, queries)


def _scifact(data: Path, limit: int | None) -> EvalDataset:
    folder = data / "scifact"
    if not (folder / "corpus.jsonl").is_file():
        raise NewsragError(f"{folder / 'corpus.jsonl'} not found: is --data the bench folder?")
    docs = [{"id": r["_id"], "title": r.get("title") or "", "text": r["text"]}
            for r in map(json.loads, (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines())]
    relevant: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, score = line.split("\t")
        relevant.setdefault(qid, {})[did] = int(score)
    texts = {r["_id"]: r["text"] for r in
             map(json.loads, (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines())}
    queries = [{"id": q, "text": texts[q], "relevant": rel, "answers": []}
               for q, rel in relevant.items()]
    if limit:
        queries = queries[:limit]
    return EvalDataset("scifact", docs, queries)


def _own(limit: int | None) -> EvalDataset:
    qs = json.loads((PROJECT_ROOT / "tests" / "questions.json").read_text(encoding="utf-8"))
    queries = [{"id": str(i), "text": item["q"], "relevant": {qs["articles"][item["article"]]: 1},
                "answers": item.get("any", []), "all": item.get("all", [])}
               for i, item in enumerate(qs["answerable"])]
    return EvalDataset("own", [], queries[:limit] if limit else queries,
                       unanswerable=qs["unanswerable"], corpus_dir=PROJECT_ROOT / "corpus")


def load_dataset(name: str, data_dir: Path | None = None, limit: int | None = None) -> EvalDataset:
    if name == "own":
        return _own(limit)
    if name not in DATASETS:
        raise NewsragError(f"unknown dataset {name!r}; use one of {', '.join(DATASETS)}")
    data = find_data_dir(data_dir)
    return _xquad(data, limit) if name == "xquad" else _scifact(data, limit)


def judge_answer(answer, item: dict[str, Any], doc_of: Callable[[str], str]) -> bool:
    """An answer is right if answered, it contains every ``all`` fact and one ``answers`` fact
    (case-insensitive), and it cites a relevant document."""
    text = answer.answer.lower()
    facts = all(f.lower() in text for f in item.get("all", [])) and (
        not item["answers"] or any(a.lower() in text for a in item["answers"]))
    cited = {doc_of(c.article_id) for c in answer.citations if c.used}
    return answer.answered and facts and bool(cited & set(item["relevant"]))


def _index_for(ds: EvalDataset, work: Path, settings: Settings, embedder, progress: bool):
    """Build the dataset's index with the product pipeline; returns it and article id -> doc id."""
    if ds.corpus_dir is not None:
        index = Index.build(ds.corpus_dir, work / "index", settings, embedder=embedder,
                            progress=progress)
        return index, {a.id: a.path for a in index.articles()}
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    with (corpus / "docs.jsonl").open("w", encoding="utf-8") as fh:
        for d in ds.documents:
            fh.write(json.dumps({"title": d["title"], "text": d["text"]}, ensure_ascii=False) + "\n")
    # One generated file holds the whole benchmark: the per-file size limit is for user corpora.
    unlimited = settings.model_copy(update={"max_file_bytes": 0})
    index = Index.build(corpus, work / "index", unlimited, embedder=embedder, progress=progress)
    by_record = {f"docs.jsonl#{i + 1}": d["id"] for i, d in enumerate(ds.documents)}
    if len(ds.documents) == 1:
        by_record = {"docs.jsonl": ds.documents[0]["id"]}
    return index, {a.id: by_record[a.path] for a in index.articles()}


def evaluate(ds: EvalDataset, mode: str = "hybrid", k: int = 10, settings: Settings | None = None,
             embedder=None, answers: bool = True, work_dir: Path | None = None,
             progress: bool = False) -> dict[str, Any]:
    """Run a dataset through the pipeline; returns metric name -> value (plus counts)."""
    import ir_measures
    from ir_measures import RR, R, nDCG

    settings = settings or Settings()
    with tempfile.TemporaryDirectory(prefix=f"newsrag-eval-{ds.name}-") as tmp:
        work = Path(work_dir or tmp)
        started = time.perf_counter()
        index, doc_of_article = _index_for(ds, work, settings, embedder, progress)
        build_s = time.perf_counter() - started
        depth_docs = max(k, 100 if ds.name == "scifact" else k)
        run, qrels = [], []
        started = time.perf_counter()
        for q in ds.queries:
            hits = index.search(q["text"], k=min(depth_docs * 3, 1000), mode=mode)
            seen: list[str] = []
            for h in hits:
                doc = doc_of_article[h.passage.article_id]
                if doc not in seen:
                    seen.append(doc)
            run += [ir_measures.ScoredDoc(q["id"], d, float(len(seen) - r)) for r, d in
                    enumerate(seen[:depth_docs])]
            qrels += [ir_measures.Qrel(q["id"], d, g) for d, g in q["relevant"].items()]
        search_s = time.perf_counter() - started
        wanted = ([nDCG @ 10, R @ 100, R @ 10] if ds.name == "scifact"
                  else [R @ 1, R @ 5, RR @ 10, nDCG @ 10])
        agg = ir_measures.calc_aggregate(wanted, qrels, run)
        names = {str(m): str(m).replace("nDCG@", "ndcg@").replace("RR@", "mrr@").replace("R@", "recall@")
                 for m in wanted}
        result: dict[str, Any] = {"dataset": ds.name, "mode": mode, "questions": len(ds.queries),
                                  "documents": len(doc_of_article),
                                  "passages": index.info()["passages"]}
        result.update({names[str(m)]: round(v, 4) for m, v in agg.items()})
        result["build_seconds"] = round(build_s, 1)
        result["search_ms_per_query"] = round(1000 * search_s / max(1, len(ds.queries)), 1)
        if answers and ds.name in ("xquad", "own"):
            result.update(_answer_metrics(ds, index, mode, doc_of_article.__getitem__, progress))
    return result


def _answer_metrics(ds: EvalDataset, index: Index, mode: str, doc_of, progress: bool) -> dict[str, Any]:
    contained = refused = correct = 0
    generation = {"generated_answers": 0, "fallbacks": 0, "sentences": 0, "sentences_kept": 0}
    failures: dict[str, int] = {"refused": 0, "wrong passage": 0, "right passage, other sentence": 0}
    for i, q in enumerate(ds.queries):
        if progress and i % 100 == 0:
            print(f"  answering {i}/{len(ds.queries)}", file=sys.stderr)
        answer = index.ask(q["text"], mode=mode)
        if answer.generation is not None:
            g = answer.generation
            generation["generated_answers"] += answer.generated
            generation["fallbacks"] += g.fallback
            generation["sentences"] += len(g.sentences)
            generation["sentences_kept"] += len(g.kept)
        if not answer.answered:
            refused += 1
        text = answer.answer.lower()
        hit = answer.answered and any(a.lower() in text for a in q["answers"])
        contained += hit
        correct += judge_answer(answer, q, doc_of)
        if not hit:
            cited = {doc_of(c.article_id) for c in answer.citations if c.used}
            kind = ("refused" if not answer.answered else
                    "right passage, other sentence" if cited & set(q["relevant"]) else "wrong passage")
            failures[kind] += 1
    n = max(1, len(ds.queries))
    out: dict[str, Any] = {"answer_containment": round(contained / n, 4), "refused": refused,
                           "failures": failures}
    if index.settings.generator != "extractive":
        generation["kept_share"] = round(
            generation["sentences_kept"] / max(1, generation["sentences"]), 4)
        out["generation"] = generation
    if ds.name == "own":
        out["correct_rate"] = round(correct / n, 4)
        refused_unanswerable = sum(not index.ask(q, mode=mode).answered for q in ds.unanswerable)
        out["refusal_recall"] = round(refused_unanswerable / max(1, len(ds.unanswerable)), 4)
        total_refusals = refused_unanswerable + refused
        out["refusal_precision"] = round(refused_unanswerable / total_refusals, 4) if total_refusals else 1.0
    return out
