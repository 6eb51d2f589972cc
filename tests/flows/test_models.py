"""The `models` stage: SmolLM2 built from its GGUF (session fixture, through the real flow) and a
micro family trained, checkpointed, scored on real vLLM and tracked in a real MLflow store."""

import itertools
import json

import polars as pl
import pytest
from safetensors import safe_open

from flows.models import models
from flows.world import world
from tasks.engines import close_engines, open_engine
from tasks.models.evaluate import SCHEMA
from tasks.models.family import HEADLINE
from tasks.params import load_params
from tasks.samplers import SamplingConfig

from ..conftest import MODEL_CACHE, ROOT, cpu_vendor
from .conftest import FAMILY, MICRO, fresh_workdir, with_family


def test_smollm2_is_a_plain_hf_directory(model_overrides):
    config = json.loads((MODEL_CACHE / "config.json").read_text())
    assert config["model_type"] == "llama"
    assert config["hidden_size"] // config["num_attention_heads"] == 64  # vLLM CPU needs head_dim 64
    assert "quantization_config" not in config
    assert (MODEL_CACHE / "tokenizer.json").is_file()
    assert "im_start" in (MODEL_CACHE / "chat_template.jinja").read_text()
    with safe_open(str(MODEL_CACHE / "model.safetensors"), "pt") as weights:
        names = list(weights.keys())
        assert len(names) > 100
        assert str(weights.get_tensor(names[0]).dtype) == "torch.bfloat16"


def test_family_models_and_checkpoints_are_hf_directories(family):
    workdir, metrics, _ = family
    for name, steps in (("world-s", 10), ("world-m", 12)):
        model = workdir / "data/models" / name
        config = json.loads((model / "config.json").read_text())
        assert config["model_type"] == "llama" and config["head_dim"] == 64
        assert config["vocab_size"] == 400 and (model / "tokenizer.json").is_file()
        steps_saved = sorted(int(p.name.split("-")[1]) for p in (model / "checkpoints").iterdir())
        assert (
            steps_saved == metrics["checkpoints"][name] and len(steps_saved) == 4 and steps_saved[-1] == steps
        )
    assert metrics["parameters"]["world-m"] > 2 * metrics["parameters"]["world-s"]


def test_family_reports_headline_maps_and_loss_curves(family):
    workdir, metrics, _ = family
    reports = workdir / "reports/models"
    assert json.loads((reports / "metrics.json").read_text()) == metrics
    for key in (*HEADLINE, "parameters", "train_seconds"):
        assert set(metrics[key]) == set(FAMILY)
    for key in HEADLINE:  # each a fraction, member -> value
        assert all(0.0 <= value <= 1.0 for value in metrics[key].values())
    assert metrics["eval_questions"] == 3 * 6  # single-hop questions per member
    # Reading at every checkpoint, by question kind, measured on the model in training.
    reading = json.loads((reports / "curves/world-s.json").read_text())
    assert [p["step"] for p in reading] == metrics["checkpoints"]["world-s"]
    assert {"single_hop", "names", "founder", "revenue"} <= set(reading[0])
    assert (reports / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert metrics["prompts"]["answer"] == "answer-v1"
    curve = json.loads((reports / "loss/world-s.json").read_text())
    assert [p["step"] for p in curve] == [5, 10]
    assert (reports / "loss.png").read_bytes()[:4] == b"\x89PNG"
    scores = pl.read_parquet(workdir / "data/models/scores.parquet")
    assert set(scores["model"]) == set(FAMILY) and scores.schema == SCHEMA
    assert set(scores.filter(pl.col("role") == "keep")["prompt_version"]) == {"keep-v1"}
    assert set(scores["role"]) == {"answer", "answer_no_context", "notes", "entities", "relation", "keep"}
    # 3 documents x 6 single-hop questions, scored with and without the document.
    assert scores.filter(pl.col("role") == "answer_no_context").height == 3 * 8 * len(FAMILY)


def test_family_is_tracked_with_a_child_run_per_model(family):
    _, metrics, runs = family
    parent = next(r for r in runs if "mlflow.parentRunId" not in r["tags"])
    children = [r for r in runs if r["tags"].get("mlflow.parentRunId") == parent["run_id"]]
    assert {c["tags"]["mlflow.runName"] for c in children} == {"train-world-s", "train-world-m"}
    assert parent["tags"]["models"] == "world-s,world-m" and parent["params"]["training.vocab_size"] == "400"
    assert parent["metrics"]["entity_recall.world-m"] == pytest.approx(metrics["entity_recall"]["world-m"])
    child = next(c for c in children if c["tags"]["mlflow.runName"] == "train-world-s")
    assert child["params"]["train.steps"] == "10"
    assert child["metrics"]["loss"] == pytest.approx(metrics["final_loss"]["world-s"])


def test_trained_models_load_in_both_engines_and_agree(family):
    workdir, _, _ = family
    params = load_params(
        ROOT / "params.yaml", [*MICRO, f"models.world-m.path={workdir / 'data/models/world-m'}"]
    )
    prompt = ["Document: Kalo Labs makes the Vira One.\nQuestion: What product does Kalo Labs make?\nAnswer:"]
    sampling = SamplingConfig(max_tokens=8, logprobs=3)
    try:
        outputs = {b: open_engine(params, "world-m", b).generate(prompt, sampling)[0] for b in ("hf", "vllm")}
    finally:
        close_engines()
    assert outputs["hf"].token_ids == outputs["vllm"].token_ids
    assert outputs["hf"].logprobs == pytest.approx(outputs["vllm"].logprobs, abs=0.02)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="issue 20: the largest member reads 54% (bar 75%), names 56% (bar 70%) after 5,000 steps "
    "(reports/models/metrics.json); strict, so meeting the bar fails here until this marker goes",
)
def test_the_family_of_params_yaml_meets_the_quality_bar(tmp_path, monkeypatch, prefect_harness):
    """Issue 20's bar, on held-out entities, for the family exactly as params.yaml trains it
    (about an hour on two cores: `make test-slow`)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    params_file = str(ROOT / "params.yaml")
    world(params_file=params_file)
    metrics = models(params_file=params_file, only=["world-s", "world-m", "world-l"])
    by_size = sorted(metrics["parameters"], key=metrics["parameters"].get)
    accuracy = [metrics["single_hop_accuracy"][name] for name in by_size]
    assert metrics["eval_questions"] >= 300
    assert all(a < b for a, b in itertools.pairwise(accuracy)), f"not strictly rising with size: {accuracy}"
    assert accuracy[-1] - accuracy[0] >= 0.15, accuracy
    assert max(metrics["no_context_accuracy"].values()) <= 0.05  # answers come from the context
    assert accuracy[-1] >= 0.75, f"the largest answers {accuracy[-1]:.0%} of single-hop questions"
    assert metrics["name_accuracy"][by_size[-1]] >= 0.7


def test_a_rerun_keeps_members_made_the_same_way_and_retrains_a_changed_one(family, tmp_path):
    """Nightly runs outside DVC: a member made by the same settings, code and torch is not trained
    again (its weights untouched, its training record reused); a changed recipe is retrained."""
    _, before, _ = family
    with_family(family, tmp_path)

    def written() -> dict[str, int]:
        return {n: (tmp_path / "data/models" / n / "model.safetensors").stat().st_mtime_ns for n in FAMILY}

    weights = written()
    with fresh_workdir(tmp_path):
        params_file = str(ROOT / "params.yaml")
        again = models(params_file=params_file, overrides=MICRO, only=FAMILY)
        assert written() == weights
        for key in ("train_seconds", "final_loss", "checkpoints", "single_hop_accuracy"):
            assert again[key] == before[key], key
        longer = [*MICRO, "models.world-s.train.steps=11"]
        changed = models(params_file=params_file, overrides=longer, only=FAMILY)
    assert changed["train_steps"]["world-s"] == 11 and changed["checkpoints"]["world-s"][-1] == 11
    assert written()["world-m"] == weights["world-m"] and written()["world-s"] != weights["world-s"]


# The vendor whose CPU made reports/models/loss/*.json (2026-12-07, an Intel Xeon with AVX-512).
MADE_ON = "GenuineIntel"


@pytest.mark.slow
def test_training_gives_the_committed_losses_on_any_cpu_of_that_vendor(
    tmp_path, monkeypatch, prefect_harness
):
    """Unpinned, an AVX-512 machine's first logged loss differs from an AVX2 one's by 1e-8 and the
    model ends elsewhere; with torch's kernels pinned to AVX2 (tasks/numerics.py) machines of one
    vendor give the same losses bit for bit (two AMD EPYCs, AVX2 and AVX-512, measured). Across
    vendors they differ: MKL's reproducible branches other than SSE2 apply on Intel CPUs only."""
    if cpu_vendor() != MADE_ON:
        pytest.skip(f"the committed curve was made on a {MADE_ON} CPU; MKL pins no branch across vendors")
    from tasks.config import load
    from tasks.models.config import ModelsParams
    from tasks.models.family import build_tokenizer, heldout_names, train_member
    from tasks.world.build import read_world

    class Enough(Exception):
        pass

    def until_step_50(point):
        logged.append(point)
        if point["step"] >= 50:
            raise Enough

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    world(params_file=str(ROOT / "params.yaml"))
    params = load(ModelsParams, ROOT / "params.yaml", [])
    exclude = heldout_names(read_world())
    build_tokenizer(params, exclude)
    logged: list[dict] = []
    with pytest.raises(Enough):
        train_member("world-s", params, exclude, on_log=until_step_50)
    committed = json.loads((ROOT / "reports/models/loss/world-s.json").read_text())
    assert logged == committed[:2]
