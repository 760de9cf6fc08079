"""Milvus Lite vs the FAISS store after incremental builds, with the real model on the seed corpus.

Usage: python benchmarks/milvus_upsert_answers.py [always|auto|never]   (about 1 minute)

After each of an add, another add, a change and a removal, counts the questions (the 42 of
tests/questions.json and two about the added article) whose hybrid top 10, BM25 top hit, or
answer and citations differ from a FAISS index of the same corpus. ``always``: upserts into the
live epoch (Milvus Lite's BM25 statistics are then per segment: see milvus_store's docstring);
``auto`` (Milvus Lite's default): a new epoch per build.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    os.environ["NEWSRAG_MILVUS_UPSERT"] = mode = sys.argv[1] if len(sys.argv) > 1 else "always"
    from conftest import CORPUS, SEED_B
    from test_stores import answer_key, search_key

    from newsrag import Index, Settings
    from newsrag.embedding import load_embedder

    harbour = ROOT / "tests" / "data" / "harbour_article.txt"
    no_quotes = ROOT / "tests" / "data" / "no_quotes_article.txt"
    tmp = Path(tempfile.mkdtemp())
    corpus = tmp / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings()
    embedder = load_embedder(settings.model)
    s = settings.model_copy(update={"store": "milvus", "milvus_uri": str(tmp / "m.db")})
    Index.build(corpus, tmp / "index", s, embedder=embedder)
    qs = json.loads((ROOT / "tests" / "questions.json").read_text())
    asked = [q["q"] for q in qs["answerable"]] + qs["unanswerable"] + [
        "When did the harbour of Port Verano reopen?", "What did Elena Marchetti say?"]

    def change_harbour() -> None:
        text = (corpus / "harbour.txt").read_text()
        (corpus / "harbour.txt").write_text(text.replace("nine days", "eleven days"))

    steps = [("add harbour", lambda: shutil.copy(harbour, corpus / "harbour.txt")),
             ("add another", lambda: shutil.copy(no_quotes, corpus / "no_quotes.txt")),
             ("change harbour", change_harbour),
             ("remove one", lambda: (corpus / SEED_B).unlink())]
    for n, (step, change) in enumerate(steps, 2):
        change()
        index = Index.build(corpus, tmp / "index", s, embedder=embedder)
        faiss = Index.build(corpus, tmp / f"faiss{n}", settings, embedder=embedder)
        hybrid = sum(search_key(index, q, "hybrid") != search_key(faiss, q, "hybrid")
                     for q in asked)
        bm25 = sum(search_key(index, q, "bm25")[:1] != search_key(faiss, q, "bm25")[:1]
                   for q in asked)
        answers = sum(answer_key(index, q) != answer_key(faiss, q) for q in asked)
        print(f"{mode:6s} {step:15s} {index.build_report.store_writes['mode']:6s} "
              f"of {len(asked)} questions: hybrid top 10 differ {hybrid}, BM25 top hit "
              f"{bm25}, answer or citations {answers}", flush=True)


if __name__ == "__main__":
    main()
