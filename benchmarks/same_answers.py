"""Dump everything a question gets from an index, to compare two newsrag versions byte for byte.

For each question of tests/questions.json, news_pd's questions and every phrasing of
tests/data/newset (plus three period questions): the ``ask`` JSON, the ``search`` hits (row, id,
score, similarity) in hybrid, BM25 and dense mode, the hits and the ``ask`` under a
``since``/``until`` filter; then the statements. One JSON value a line.

    PYTHONHASHSEED=0 PYTHONPATH=<src of version A> python benchmarks/same_answers.py a.jsonl INDEX
    PYTHONHASHSEED=0 PYTHONPATH=<src of version B> python benchmarks/same_answers.py b.jsonl INDEX
    cmp a.jsonl b.jsonl

Fix PYTHONHASHSEED: an answer may depend on the iteration order of a set of strings (one of 317
differed between two processes of the same version with random seeds).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def questions(bench: Path) -> list[str]:
    own = json.loads((ROOT / "tests" / "questions.json").read_text(encoding="utf-8"))
    out = [x["q"] if isinstance(x, dict) else x for key in ("answerable", "unanswerable")
           for x in own[key]]
    with (bench / "news_pd" / "questions.jsonl").open(encoding="utf-8") as fh:
        out += [json.loads(line)["question"] for line in fh]
    with (ROOT / "tests" / "data" / "newset" / "questions.jsonl").open(encoding="utf-8") as fh:
        out += [p for line in fh for p in json.loads(line)["phrasings"]]
    return out + ["What did Esper say between January 5 and January 9, 2020?",
                  "What did the VOA report?", "What happened at Al-Asad after January 7, 2020?"]


def main() -> int:
    from newsrag import Index, Settings
    from newsrag.evaluation import find_data_dir

    out_path, folder = sys.argv[1], sys.argv[2]
    index = Index.load(folder, Settings())
    qs = questions(find_data_dir())
    with open(out_path, "w", encoding="utf-8") as out:
        def put(value: object) -> None:
            out.write(json.dumps(value, sort_keys=True) + "\n")

        for q in qs:
            put(index.ask(q).to_dict())
            for mode in ("hybrid", "bm25", "dense"):
                put([(h.row, h.id, h.score, h.similarity) for h in index.search(q, k=8, mode=mode)])
            put([(h.row, h.id, h.score)
                 for h in index.search(q, k=5, since="2020-01-05", until="2020-01-10")])
            put(index.ask(q, since="2020-01-01", until="2020-01-09").to_dict())
        put([str(s.label()) for s in index.statements(since="2020-01")])
        put([str(s.label()) for s in index.statements()])
    print(f"{len(qs)} questions", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
