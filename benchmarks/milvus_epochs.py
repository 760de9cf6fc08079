"""What a Milvus build and a filtered search cost, store against store, with the model out of the
way (the fake ``hash`` encoder): a synthetic corpus of N articles, a full build, an incremental
build that adds one article and one that removes it again, then searches (filtered ones with the
filter sent as its expression and as an id list).

Three stores in one run, each on its own database: FAISS files; Milvus as it was before upserts
(``tests/data/epoch_milvus_store.py``, the store at 8910e5b: every build a new epoch, every kept
row copied with its vector); Milvus today (an incremental build upserts revision R+1 into the live
epoch: the added article's rows, the removed one's marked dead). The last line is the ratio of the
incremental builds, before / after.

    python benchmarks/milvus_epochs.py 2000 /tmp/milvus-epochs

Figures recorded in docs/scaling.md ("What breaks first").
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

from newsrag import Index, Settings

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("rockets base attack minister said forces iraq talks strike response defense officials "
         "reported statement embassy drone missile council vote ceasefire").split()
BEFORE = "newsrag._epoch_milvus_store:MilvusStore"


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


def load_store_before() -> None:
    """Register the store as it was before upserts under its dotted path (``milvus`` stays
    today's)."""
    from newsrag.milvus_store import MilvusStore
    from newsrag.stores import STORES

    name = BEFORE.partition(":")[0]
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "tests" / "data" / "epoch_milvus_store.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    STORES["milvus"] = MilvusStore


def timed(index: Index, **kw: str) -> float:
    index.search("attack", k=10, **kw)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        index.search("attack", k=10, **kw)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def build(work: Path, s: Settings, label: str) -> tuple[Index, float]:
    started = time.perf_counter()
    index = Index.build(work / "corpus", work / f"index-{label}", s)
    return index, time.perf_counter() - started


def main() -> None:
    n, work = int(sys.argv[1]), Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    corpus(work / "corpus", n)
    load_store_before()
    period = {"since": "2021-03-10", "until": "2021-03-20"}
    both = {"speaker": "Aram Vale7", **period}
    added: dict[str, float] = {}
    for label, store in (("faiss", "faiss"), ("milvus-before", BEFORE), ("milvus", "milvus")):
        s = Settings(embedder="hash", store=store, milvus_uri=str(work / f"{label}.db"),
                     sentence_vectors=False)
        _, full = build(work, s, label)
        (work / "corpus" / "new.txt").write_text(
            "New report\n\ndate: 2021-04-01\n\nThe harbour reopened to cargo ships.\n")
        index, added[label] = build(work, s, label)
        wrote = index.build_report.store_writes if index.build_report else {}
        if store == BEFORE:  # that store does not count: every row goes into the new epoch
            wrote = {"mode": "new epoch", "passages": index.info()["passages"]}
        (work / "corpus" / "new.txt").unlink()
        index, removed = build(work, s, label)
        line = (f"{label}: {index.info()['passages']} passages; full build {full:.1f} s; "
                f"incremental build +1 article {added[label]:.1f} s"
                + (f" ({wrote.get('mode')}: {wrote.get('passages')} passage rows written)"
                   if wrote else "")
                + f", -1 article {removed:.1f} s; search median: no filter {timed(index):.0f} ms")
        if store != "faiss":
            import newsrag.milvus_store as milvus_store

            for what, limit in (("expression", -1), ("id list", 10**9)):
                milvus_store.LITE_ID_LIST_MAX = limit
                sys.modules[BEFORE.partition(":")[0]].LITE_ID_LIST_MAX = limit
                line += (f"; {what}: period {timed(index, **period):.0f} ms, speaker+period "
                         f"{timed(index, **both):.0f} ms")
        else:
            line += (f"; period {timed(index, **period):.0f} ms, speaker+period "
                     f"{timed(index, **both):.0f} ms")
        print(line, flush=True)
    print(f"incremental build +1 article on Milvus Lite: {added['milvus-before']:.1f} s before "
          f"(new epoch, rows copied), {added['milvus']:.1f} s now (upsert): "
          f"{added['milvus-before'] / added['milvus']:.1f}x faster", flush=True)


if __name__ == "__main__":
    main()
