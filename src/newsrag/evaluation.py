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
  refusal precision/recall. ``extra_dir`` adds more articles to the corpus (the regression check:
  the seed questions must score the same with other articles beside them).
- ``news``: a folder of real-shaped articles with ``questions.jsonl`` (``bench/news_pd`` by
  default): each line ``{"id", "question" or "phrasings", "must", "article", "answerable"}``.
  Correct = answered, every ``must`` fact present (any one alternative of each), the article
  cited; unanswerable = refused. With several phrasings per question, also how often all the
  phrasings of one question get the same verdict.

XQuAD is split by article (``split="dev"``: the 24 articles at even positions, ``"test"``: odd):
constants are fitted on dev and reported on test, while every paragraph stays in the index.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .answering import Answer
from .embedding import Embedder
from .errors import NewsragError
from .index import Index
from .retrieval import Hit
from .settings import Settings

__all__ = ["DATASETS", "EvalDataset", "load_dataset", "evaluate", "find_data_dir",
           "judge_answer", "ranked_documents", "PUBLISHED"]

DATASETS = ("xquad", "scifact", "own", "news")
SPLITS = ("all", "dev", "test")
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
    corpus_files: list[Path] = field(default_factory=list)  # or copy these files into a corpus
    groups: dict[str, str] = field(default_factory=dict)  # phrasing -> question id (news)


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


def _xquad(data: Path, limit: int | None, split: str = "all") -> EvalDataset:
    path = data / "xquad_en" / "xquad.en.json"
    if not path.is_file():
        raise NewsragError(f"{path} not found: is --data the bench folder?")
    raw = json.loads(path.read_text(encoding="utf-8"))
    docs, queries = [], []
    for position, art in enumerate(raw["data"]):
        in_split = split == "all" or (position % 2 == 0) == (split == "dev")
        for i, para in enumerate(art["paragraphs"]):
            doc_id = f"{art['title']}#{i}"
            docs.append({"id": doc_id, "title": art["title"].replace("_", " "), "text": para["context"]})
            for qa in para["qas"] if in_split else []:
                queries.append({"id": qa["id"], "text": qa["question"], "relevant": {doc_id: 1},
                                "answers": [a["text"] for a in qa["answers"]]})
    if limit:  # questions spread evenly over all articles; every paragraph stays a candidate
        queries = queries[::max(1, len(queries) // limit)][:limit]
    return EvalDataset("xquad" if split == "all" else f"xquad-{split}", docs, queries)


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


def _article_files(folder: Path) -> list[Path]:
    """The article files of a question folder: ``articles/`` if there is one, else the folder's
    own article files (its README and question file are not articles)."""
    from .articles import supported_suffixes

    root = folder / "articles" if (folder / "articles").is_dir() else folder
    suffixes = supported_suffixes()
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in suffixes
                  and p.name.lower() not in ("readme.md", "questions.jsonl"))


def _own_root() -> Path:
    """The project checkout whose seed corpus and questions ``eval own`` uses: the current
    folder or the one this module sits in. An installed wheel has neither (they are the
    project's test data, not the package's), so say where to run it from."""
    for root in (Path.cwd(), PROJECT_ROOT):
        if (root / "tests" / "questions.json").is_file() and (root / "corpus").is_dir():
            return root
    raise NewsragError("eval own needs a newsrag checkout (its tests/questions.json and corpus/): "
                       "run it from the project folder, or use `eval news --data DIR` for a "
                       "question folder of your own")


def _own(limit: int | None, extra_dir: Path | None = None) -> EvalDataset:
    root = _own_root()
    qs = json.loads((root / "tests" / "questions.json").read_text(encoding="utf-8"))
    queries = [{"id": str(i), "text": item["q"], "relevant": {qs["articles"][item["article"]]: 1},
                "answers": item.get("any", []), "all": item.get("all", [])}
               for i, item in enumerate(qs["answerable"])]
    corpus = root / "corpus"
    if extra_dir is None:
        return EvalDataset("own", [], queries[:limit] if limit else queries,
                           unanswerable=qs["unanswerable"], corpus_dir=corpus)
    files = sorted(p for p in corpus.iterdir() if p.is_file()) + _article_files(extra_dir)
    return EvalDataset("own+extra", [], queries[:limit] if limit else queries,
                       unanswerable=qs["unanswerable"], corpus_files=files)


def _news(folder: Path, limit: int | None) -> EvalDataset:
    """Questions over real-shaped article files (``questions.jsonl`` beside them)."""
    qfile = folder / "questions.jsonl"
    if not qfile.is_file():
        raise NewsragError(f"{qfile} not found: --data must be a folder with questions.jsonl "
                           "and its articles")
    queries: list[dict[str, Any]] = []
    unanswerable: list[str] = []
    groups: dict[str, str] = {}
    for line in qfile.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        texts = item.get("phrasings") or [item["question"]]
        for j, text in enumerate(texts):
            qid = f"{item['id']}/{j}" if len(texts) > 1 else str(item["id"])
            groups[text] = str(item["id"])
            if item.get("answerable", True):
                queries.append({"id": qid, "group": str(item["id"]), "text": text,
                                "relevant": {item["article"]: 1}, "answers": [],
                                "must": item["must"]})
            else:
                unanswerable.append(text)
    if limit:
        queries = queries[:limit]
    return EvalDataset(folder.name, [], queries, unanswerable=unanswerable,
                       corpus_files=_article_files(folder), groups=groups)


def load_dataset(name: str, data_dir: Path | None = None, limit: int | None = None,
                 split: str = "all", extra_dir: Path | None = None) -> EvalDataset:
    """A dataset by name; ``data_dir`` is the bench folder (for ``news``: the question folder,
    default ``bench/news_pd``); ``split`` picks the XQuAD half."""
    if split not in SPLITS:
        raise NewsragError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if name == "own":
        return _own(limit, extra_dir)
    if name not in DATASETS:
        raise NewsragError(f"unknown dataset {name!r}; use one of {', '.join(DATASETS)}")
    if name == "news":
        if data_dir is not None and (data_dir / "questions.jsonl").is_file():
            return _news(data_dir, limit)
        return _news(find_data_dir(data_dir) / "news_pd", limit)
    data = find_data_dir(data_dir)
    return _xquad(data, limit, split) if name == "xquad" else _scifact(data, limit)


def ranked_documents(hits: Sequence[Hit], doc_of: Mapping[str, str]) -> list[str]:
    """The documents of ranked passage hits, best first, each once: a document ranks where its
    best passage does (how passage search is scored against document-level qrels)."""
    ranked: list[str] = []
    for h in hits:
        doc = doc_of[h.passage.article_id]
        if doc not in ranked:
            ranked.append(doc)
    return ranked


def judge_answer(answer: Answer, item: dict[str, Any], doc_of: Callable[[str], str]) -> bool:
    """An answer is right if answered, it contains every ``all`` fact, one ``answers`` fact and
    one alternative of each ``must`` group (case-insensitive), and it cites a relevant
    document."""
    text = answer.answer.lower().replace("’", "'")
    facts = (all(f.lower() in text for f in item.get("all", []))
             and (not item["answers"] or any(a.lower() in text for a in item["answers"]))
             and all(any(alt.lower() in text for alt in group) for group in item.get("must", [])))
    cited = {doc_of(c.article_id) for c in answer.citations if c.used}
    return answer.answered and facts and bool(cited & set(item["relevant"]))


def _index_for(ds: EvalDataset, work: Path, settings: Settings, embedder: Embedder | None,
               progress: bool) -> tuple[Index, dict[str, str]]:
    """Build the dataset's index with the product pipeline; returns it and article id -> doc id."""
    if ds.corpus_dir is not None:
        index = Index.build(ds.corpus_dir, work / "index", settings, embedder=embedder,
                            progress=progress)
        return index, {a.id: a.path for a in index.articles()}
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    if ds.corpus_files:
        for f in ds.corpus_files:
            shutil.copyfile(f, corpus / f.name)
        index = Index.build(corpus, work / "index", settings, embedder=embedder, progress=progress)
        # A question names the file; a record of a .json list is "file.json#2".
        return index, {a.id: a.path.split("#")[0] for a in index.articles()}
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
             embedder: Embedder | None = None, answers: bool = True, work_dir: Path | None = None,
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
            seen = ranked_documents(hits, doc_of_article)
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
        if answers and ds.name != "scifact":
            result.update(_answer_metrics(ds, index, mode, doc_of_article.__getitem__, progress))
    return result


def _answer_metrics(ds: EvalDataset, index: Index, mode: str, doc_of: Callable[[str], str],
                    progress: bool) -> dict[str, Any]:
    contained = refused = correct = 0
    generation: dict[str, float] = {"generated_answers": 0, "fallbacks": 0, "sentences": 0,
                                    "sentences_kept": 0}
    failures: dict[str, int] = {"refused": 0, "wrong passage": 0, "right passage, other sentence": 0}
    verdicts: dict[str, list[bool]] = {}  # question id -> verdict of each phrasing
    misses: list[dict[str, Any]] = []
    judged = ds.name not in ("xquad", "xquad-dev", "xquad-test")
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
        ok = judge_answer(answer, q, doc_of)
        hit = ok if judged else answer.answered and any(a.lower() in text for a in q["answers"])
        contained += hit
        correct += ok
        verdicts.setdefault(q.get("group", q["id"]), []).append(ok)
        if not hit:
            cited = {doc_of(c.article_id) for c in answer.citations if c.used}
            kind = ("refused" if not answer.answered else
                    "right passage, other sentence" if cited & set(q["relevant"]) else "wrong passage")
            failures[kind] += 1
            misses.append({"id": q["id"], "question": q["text"], "kind": kind,
                           "answer": answer.answer[:300], "reason": answer.reason})
    n = max(1, len(ds.queries))
    out: dict[str, Any] = {"answer_containment": round(contained / n, 4), "refused": refused,
                           "refused_share": round(refused / n, 4), "failures": failures}
    if index.settings.generator != "extractive":
        generation["kept_share"] = round(
            generation["sentences_kept"] / max(1, generation["sentences"]), 4)
        out["generation"] = generation
    if judged:
        out["correct_rate"] = round(correct / n, 4)
        answered_unanswerable = []
        for text in ds.unanswerable:
            answer = index.ask(text, mode=mode)
            verdicts.setdefault(ds.groups.get(text, text), []).append(not answer.answered)
            if answer.answered:
                answered_unanswerable.append({"question": text, "answer": answer.answer[:300],
                                              "support": round(answer.support, 3)})
        refused_unanswerable = len(ds.unanswerable) - len(answered_unanswerable)
        out["refusal_recall"] = round(refused_unanswerable / max(1, len(ds.unanswerable)), 4)
        total_refusals = refused_unanswerable + refused
        out["refusal_precision"] = (round(refused_unanswerable / total_refusals, 4)
                                    if total_refusals else 1.0)
        several = [v for v in verdicts.values() if len(v) > 1]
        if several:  # phrasings of one question that all get the same verdict
            out["phrasing_agreement"] = round(sum(len(set(v)) == 1 for v in several)
                                              / len(several), 4)
        out["answered_unanswerable"] = answered_unanswerable
    out["misses"] = misses
    return out
