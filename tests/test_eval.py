"""Quality floors on public data (a fast XQuAD subset) and the ``newsrag eval`` command."""

from __future__ import annotations

import json

import pytest

from newsrag import NewsragError
from newsrag.evaluation import evaluate, find_data_dir, load_dataset

from conftest import ROOT, run_cli

try:
    BENCH = find_data_dir()
except NewsragError:
    BENCH = None
needs_bench = pytest.mark.skipif(BENCH is None, reason="../shared/bench not beside the project")


@pytest.fixture(scope="module")
def xquad_work(tmp_path_factory):
    """One folder for the XQuAD index: every subset indexes all 240 paragraphs, so after the
    first test the build finds nothing to do."""
    return tmp_path_factory.mktemp("xquad")


@needs_bench
def test_xquad_subset_floors(settings, embedder, xquad_work):
    """100 questions spread over all 48 articles, all 240 paragraphs indexed."""
    result = evaluate(load_dataset("xquad", limit=100), "hybrid", 10, settings, embedder,
                      work_dir=xquad_work)
    print(f"\nxquad subset: {json.dumps(result)}")
    assert result["documents"] == 240 and result["questions"] == 100
    assert result["recall@5"] >= 0.95
    assert result["recall@1"] >= 0.85
    assert result["answer_containment"] >= 0.75
    assert result["refused"] <= 10


@needs_bench
def test_hybrid_beats_or_matches_each_method_on_xquad_subset(settings, embedder, xquad_work):
    ds = load_dataset("xquad", limit=60)
    scores = {m: evaluate(ds, m, 10, settings, embedder, answers=False, work_dir=xquad_work)["mrr@10"]
              for m in ("bm25", "dense", "hybrid")}
    print(f"\nxquad subset mrr@10: {scores}")
    assert scores["hybrid"] >= max(scores["bm25"], scores["dense"]) - 0.02


@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_own_set_through_the_cli(tmp_path):
    proc = run_cli("eval", "own", "--json", cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    print(f"\nown set: {result}")
    assert result["correct_rate"] >= 0.9 and result["refusal_recall"] >= 0.85
    assert result["recall@5"] >= 0.95


def test_own_set_outside_a_checkout_is_a_clear_error(tmp_path, monkeypatch):
    import newsrag.evaluation as evaluation

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(evaluation, "PROJECT_ROOT", tmp_path)  # as in an installed wheel
    with pytest.raises(NewsragError, match="needs a newsrag checkout"):
        load_dataset("own")


def test_unknown_dataset_is_a_clear_error(tmp_path):
    proc = run_cli("eval", "imagenet", cwd=tmp_path)
    assert proc.returncode == 1 and "unknown dataset 'imagenet'" in proc.stderr


def test_a_question_naming_a_json_list_file_matches_each_of_its_records(tmp_path):
    """Records of a .json list are "file.json#1", "#2"; a question names the file. Before, an
    answer citing the right record of a list file was scored as the wrong passage."""
    from newsrag.embedding import HashEmbedder

    records = [{"title": "Rockets hit Balad air base", "date": "2021-02-20",
                "text": "Rockets struck Balad air base north of Baghdad on Saturday, wounding a contractor."},
               {"title": "Iran rejects link to Erbil attack", "date": "2021-02-16",
                "text": "Iran rejected any suggestion that it was behind the Erbil rocket attack."}]
    (tmp_path / "roundup.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "questions.jsonl").write_text(json.dumps(
        {"id": "q1", "question": "Which air base was hit by rockets on February 20, 2021?",
         "must": [["Balad"]], "article": "roundup.json", "answerable": True}) + "\n", encoding="utf-8")
    ds = load_dataset("news", data_dir=tmp_path)
    result = evaluate(ds, embedder=HashEmbedder())
    assert result["recall@1"] == 1.0 and result["failures"]["wrong passage"] == 0
