"""The `entigraph` flow end to end on a miniature run: SmolLM2 on vLLM writes relations, a
micro family model is continued with transformers' Trainer, lm-eval scores it through our
engine, results land in a real MLflow store; a rerun resumes per document.

The real-part run takes ~3 min on two cores: it is in `make test-slow`. The default run has the
same flow on the registered dummy engine (generation and scoring), with the real Trainer, lm-eval,
spaCy and MLflow store."""

import json

import polars as pl
import pytest

from flows.entigraph import entigraph
from tasks import tracking
from tasks.engines import close_engines, open_engine
from tasks.entigraph import qa
from tasks.entigraph.cpt import as_model
from tasks.params import load_params

from ..conftest import ROOT
from .conftest import MICRO, fresh_workdir, with_family

MINI = [
    *MICRO,
    "entigraph.documents=2",
    "entigraph.entities.retries=1",
    "entigraph.entities.extractors=[llm, spacy, family]",  # params.full.yaml's: every extractor runs
    "entigraph.entities.family_model=world-s",
    "entigraph.entities.sampling.max_tokens=48",
    "entigraph.relations.max_pairs=3",
    "entigraph.relations.max_triples=1",
    "entigraph.relations.sampling.max_tokens=32",
    "entigraph.rephrase.styles=[briefly]",
    "entigraph.cpt.base=world-s",  # the micro family has no world-l
    "entigraph.cpt.budgets=[0.5, 1.0]",
    "entigraph.cpt.epochs=1",
    "entigraph.cpt.block_size=64",
]


SLOW = pytest.mark.slow  # the real-part run: make test-slow


@pytest.fixture(scope="module")
def run(tmp_path_factory, model_overrides, family):
    workdir = tmp_path_factory.mktemp("entigraph")
    with fresh_workdir(workdir):
        overrides = [*model_overrides, *MINI]
        params_file = str(ROOT / "params.yaml")
        with_family(family, workdir)
        metrics = entigraph(params_file=params_file, overrides=overrides)
        yield workdir, overrides, metrics, tracking.search("entigraph", max_results=20)


@SLOW
def test_corpus_rows_carry_provenance_and_every_document_its_entities(run):
    workdir, _, metrics, _ = run
    data = workdir / "data/entigraph"
    corpus = pl.read_parquet(data / "corpus.parquet")
    assert set(corpus["kind"]) <= {"summary", "pair", "triple"} and corpus.height > 0
    rows = pl.concat([pl.read_parquet(f) for f in (data / "documents").glob("*.parquet")])
    assert (rows["kind"] == "rephrase").sum() == 2  # one style, two documents
    assert set(corpus["model"]) <= {"smollm2-135m-instruct", "spacy", "family"}
    assert set(corpus["prompt_version"]) <= {
        "entigraph_pair-v1",
        "entigraph_triple-v1",
        "entigraph_entities-v1",
    }
    faithful = metrics["generator_faithfulness"]
    assert faithful["source_documents"]["faithful_share"] == 1.0 and set(faithful) == {
        "entigraph",
        "rephrase",
        "source_documents",
    }
    assert (corpus["new_tokens"] > 0).all() and corpus["seed"].drop_nulls().len() > 0
    extractions = pl.read_parquet(data / "extractions.parquet")
    assert set(extractions["extractor"]) == {"llm", "spacy", "family"}
    assert extractions.filter("chosen").height == 2  # one chosen extraction per document
    llm = extractions.filter(pl.col("extractor") == "llm")
    assert ((llm["error"].is_null()) | (llm["attempts"] == 2)).all()  # failures used every retry
    assert metrics["generation"]["planned_requests"] == metrics["generation"]["generated_requests"] > 0
    assert 0 < metrics["entity_recall"] <= 1 and metrics["synthetic_to_source_tokens"] > 1


@SLOW
def test_every_model_is_trained_scored_and_logged(run):
    workdir, _, metrics, runs = run
    full = metrics["synthetic_tokens"]["entigraph_" + str(max(metrics["synthetic_tokens"].values()))]
    names = {"base", "raw_cpt", "rephrase_cpt", f"entigraph_{full // 2}", f"entigraph_{full}", "in_context"}
    assert set(metrics["closed_book_accuracy"]) == names
    assert metrics["training_tokens"]["raw_cpt"] == metrics["training_tokens"][f"entigraph_{full}"]
    assert metrics["training_tokens"]["rephrase_cpt"] == metrics["training_tokens"]["raw_cpt"]
    assert set(metrics["accuracy_by_kind"]["raw_cpt"]) == {"forward", "reversed", "paraphrased"}
    low, high = metrics["entigraph_minus_raw_cpt_ci95"]
    assert low <= metrics["entigraph_minus_raw_cpt"] <= high
    for name in names - {"base", "in_context"}:
        assert (workdir / "data/entigraph/models" / name / "model.safetensors").is_file()
        assert metrics["cpt"][name]["steps"] >= 1
    saved = json.loads((workdir / "reports/entigraph/metrics.json").read_text())
    assert saved["closed_book_accuracy"] == metrics["closed_book_accuracy"]
    assert (workdir / "reports/entigraph/accuracy.png").is_file()
    assert "| raw_cpt |" in (workdir / "reports/entigraph/summary.md").read_text()
    children = [r for r in runs if "mlflow.parentRunId" in r["tags"]]
    assert {c["tags"]["mlflow.runName"] for c in children} == names
    raw = next(c for c in children if c["tags"]["mlflow.runName"] == "raw_cpt")
    assert raw["metrics"]["accuracy"] == pytest.approx(metrics["closed_book_accuracy"]["raw_cpt"])
    assert "train_loss" in raw["metrics"]


@SLOW
def test_our_lm_eval_adapter_scores_like_lm_eval_hf_model(run):
    """Reference check: lm-eval's own `hf` model on the same task and model gives the same answers."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    workdir, overrides, _, _ = run
    with fresh_workdir(workdir):
        params = as_model(
            load_params(ROOT / "params.yaml", overrides), "raw", workdir / "data/entigraph/models/raw_cpt"
        )
        ours = qa.accuracy(open_engine(params, "raw"), qa.CLOSED_BOOK)[1]
        close_engines()
        theirs = lm_eval.simple_evaluate(
            model="hf",
            model_args=f"pretrained={workdir / 'data/entigraph/models/raw_cpt'},dtype=float32",
            tasks=[qa.CLOSED_BOOK],
            task_manager=TaskManager(include_path=str(qa.FOLDER), include_defaults=False),
            num_fewshot=0,
            device="cpu",
            bootstrap_iters=0,
        )
    reference = theirs["samples"][qa.CLOSED_BOOK]
    assert [r["acc"] for r in ours] == [float(s["acc"]) for s in reference]
    assert len(ours) == 2 * 16  # 6 forward, 4 reversed, 6 paraphrased per document


@pytest.mark.slow  # minutes on two cores: make test-slow
def test_a_rerun_after_a_lost_document_regenerates_only_it_and_ends_with_the_same_corpus(run):
    workdir, overrides, metrics, _ = run
    with fresh_workdir(workdir):
        corpus = pl.read_parquet("data/entigraph/corpus.parquet")
        first = sorted((workdir / "data/entigraph/documents").glob("*.parquet"))
        first[0].unlink()  # as if killed before this document was written
        again = entigraph(params_file=str(ROOT / "params.yaml"), overrides=overrides)
        assert again["generation"]["resumed_documents"] == 1
        assert pl.read_parquet("data/entigraph/corpus.parquet").equals(corpus)
        assert again["closed_book_accuracy"] == metrics["closed_book_accuracy"]


@pytest.mark.slow  # minutes on two cores: make test-slow
def test_bench_entigraph_compares_one_batch_with_one_request_at_a_time(run):
    from tasks.bench import BENCHMARKS

    workdir, overrides, _, _ = run
    with fresh_workdir(workdir):
        figures = BENCHMARKS.get("entigraph")(load_params(ROOT / "params.yaml", overrides))
    speed = figures["tokens_per_second"]
    assert figures["batched_vs_sequential"] == pytest.approx(speed["batched"] / speed["sequential"])
    assert figures["batched_tokens"] == figures["batched_requests"] * figures["max_tokens"]
    assert figures["batched_requests"] > figures["sequential_requests"] > 0


@pytest.mark.slow  # minutes on two cores: make test-slow
def test_a_zero_token_budget_ends_cleanly_with_only_the_references_scored(run):
    workdir, overrides, _, _ = run
    with fresh_workdir(workdir):
        metrics = entigraph(
            params_file=str(ROOT / "params.yaml"),
            overrides=[
                *overrides,
                "entigraph.relations.budget_tokens=0",
                "entigraph.entities.extractors=[spacy]",
                "entigraph.rephrase.styles=[]",
            ],
        )
    assert metrics["generation"]["planned_requests"] == 0 and metrics["generation"]["left_out_by_budget"] > 0
    assert set(metrics["closed_book_accuracy"]) == {"base", "in_context"}
    assert metrics["headline"]["headline_met"] is False
    assert not list((workdir / "data/entigraph/models").glob("*"))


def test_the_flow_on_the_dummy_engine_trains_scores_and_logs_every_model(tmp_path, family):
    """Every step on the registered dummy engine: its JSON is malformed, so spaCy supplies the
    entities; its relations are stored, deduplicated and pretrained on with the real Trainer;
    lm-eval scores every model through it."""
    dummy = [*MINI, "engine.backend=dummy", "entigraph.entities.extractors=[llm, spacy]"]
    dummy += ["models.smollm2-135m-instruct.chat_template=false"]  # the dummy tokenizer has none
    dummy += ["entigraph.cpt.block_size=8"]  # the dummy writes short relations: blocks to train on
    with fresh_workdir(tmp_path):
        with_family(family, tmp_path)
        metrics = entigraph(params_file=str(ROOT / "params.yaml"), overrides=dummy)
        runs = tracking.search("entigraph", max_results=20)
    extractions = pl.read_parquet(tmp_path / "data/entigraph/extractions.parquet")
    llm = extractions.filter(pl.col("extractor") == "llm")
    assert llm["error"].is_not_null().all() and (llm["attempts"] == 2).all()  # every retry used
    assert set(extractions.filter("chosen")["extractor"]) == {"spacy"}
    assert pl.read_parquet(tmp_path / "data/entigraph/corpus.parquet").height > 0
    full = max(metrics["synthetic_tokens"].values())
    names = {"base", "raw_cpt", "rephrase_cpt", f"entigraph_{full // 2}", f"entigraph_{full}", "in_context"}
    assert set(metrics["closed_book_accuracy"]) == names and metrics["questions"] == 2 * 16
    assert set(metrics["accuracy_by_kind"]["base"]) == {"forward", "reversed", "paraphrased"}
    for name in names - {"base", "in_context"}:
        assert (tmp_path / "data/entigraph/models" / name / "model.safetensors").is_file()
    children = [r for r in runs if "mlflow.parentRunId" in r["tags"]]
    assert {c["tags"]["mlflow.runName"] for c in children} == names
    assert json.loads((tmp_path / "reports/entigraph/metrics.json").read_text()) == metrics


def test_bench_generators_scores_every_temperature_on_the_same_requests(tmp_path, family):
    from tasks.bench import BENCHMARKS
    from tasks.bench.generators import TEMPERATURES

    dummy = [*MINI, "engine.backend=dummy", "models.smollm2-135m-instruct.chat_template=false"]
    with fresh_workdir(tmp_path):
        with_family(family, tmp_path)
        figures = BENCHMARKS.get("generators")(load_params(ROOT / "params.yaml", dummy))
    assert set(figures["by_temperature"]) == {str(t) for t in TEMPERATURES} and figures["requests"] > 0
    for scores in figures["by_temperature"].values():
        assert {"faithful_share", "invented_facts_per_1k_tokens", "distinct_3gram_ratio"} <= set(scores)
        assert scores["tokens"] > 0
