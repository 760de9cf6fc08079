"""Where the chat server's CPU goes per question: cProfile over ``Index.ask`` on the seed corpus.

Builds an index of corpus/ (once, in a temporary folder unless ``--index`` names one), asks every
question of tests/questions.json once to warm it up (the load check repeats them), then asks them
``--rounds`` more times under cProfile and prints the CPU time per question and the top entries.

    python benchmarks/profile_ask.py [--rounds 3] [--top 35] [--index DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--index", default=None, help="index folder to build into / reuse")
    args = parser.parse_args()
    from newsrag import Index, Settings

    qs = json.loads((ROOT / "tests" / "questions.json").read_text(encoding="utf-8"))
    texts = [q["q"] for q in qs["answerable"]] + list(qs["unanswerable"])
    with tempfile.TemporaryDirectory(prefix="newsrag-profile-") as tmp:
        folder = Path(args.index or tmp)
        index = (Index.load(folder) if (folder / "CURRENT").is_file()
                 else Index.build(ROOT / "corpus", folder, Settings()))
        for text in texts:
            index.ask(text)
        started = time.process_time()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.rounds):
            for text in texts:
                index.ask(text)
        profile.disable()
        cpu = time.process_time() - started
        print(f"{len(texts)} questions x {args.rounds}: {1000 * cpu / (args.rounds * len(texts)):.1f} "
              "ms CPU a question (under cProfile, which adds to it)")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
