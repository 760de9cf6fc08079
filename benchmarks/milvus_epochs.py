"""What a Milvus build and a filtered search cost, store against store, with the model out of the
way (the fake ``hash`` encoder): a synthetic corpus of N articles, a full build, an incremental
build that adds one article (on Milvus a new epoch: every kept row is copied with its vector),
then filtered searches with the filter sent as its expression and as an id list.

    python benchmarks/milvus_epochs.py 2000 /tmp/milvus-epochs

Figures recorded in docs/scaling.md ("What breaks first").
"""

from __future__ import annotations

import random
import shutil
import statistics
import sys
import time
from pathlib import Path

from newsrag import Index, Settings

WORDS = ("rockets base attack minister said forces iraq talks strike response defense officials "
         "reported statement embassy drone missile council vote ceasefire").split()


def corpus(folder: Path, n: int) -> None:
    rng = random.Random(1)
    folder.mkdir(parents=True)
    for i in range(n):
        paras = []
        for _ in range(4):
            words = " ".join(rng.choice(WORDS) for _ in range(60))
            paras.append(f'{words.capitalize()}. "We will respond," Minister Aram Vale{i % 50} '
                         f"said on March {rng.randint(1, 28)}, 2021.")
        (folder / f"a{i:05d}.txt").write_text(
            f"Report {i}\n\ndate: 2021-03-{rng.randint(1, 28):02d}\n\n" + "\n\n".join(paras) + "\n")


def timed(index: Index, **kw: str) -> float:
    index.search("attack", k=10, **kw)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        index.search("attack", k=10, **kw)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def main() -> None:
    n, work = int(sys.argv[1]), Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    corpus(work / "corpus", n)
    period = {"since": "2021-03-10", "until": "2021-03-20"}
    both = {"speaker": "Aram Vale7", **period}
    for store in ("faiss", "milvus"):
        s = Settings(embedder="hash", store=store, milvus_uri=str(work / "milvus.db"),
                     sentence_vectors=False)
        started = time.perf_counter()
        Index.build(work / "corpus", work / f"index-{store}", s)
        full = time.perf_counter() - started
        (work / "corpus" / "new.txt").write_text(
            "New report\n\ndate: 2021-04-01\n\nThe harbour reopened to cargo ships.\n")
        started = time.perf_counter()
        index = Index.build(work / "corpus", work / f"index-{store}", s)
        incremental = time.perf_counter() - started
        (work / "corpus" / "new.txt").unlink()
        line = (f"{store}: {index.info()['passages']} passages; full build {full:.1f} s; "
                f"incremental build (+1 article) {incremental:.1f} s; search median: no filter "
                f"{timed(index):.0f} ms")
        if store == "milvus":
            import newsrag.milvus_store as milvus_store

            for label, limit in (("expression", -1), ("id list", 10**9)):
                milvus_store.LITE_ID_LIST_MAX = limit
                line += (f"; {label}: period {timed(index, **period):.0f} ms, speaker+period "
                         f"{timed(index, **both):.0f} ms")
        else:
            line += (f"; period {timed(index, **period):.0f} ms, speaker+period "
                     f"{timed(index, **both):.0f} ms")
        print(line, flush=True)


if __name__ == "__main__":
    main()
