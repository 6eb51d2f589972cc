import json

import pytest

from tasks.params import load_params

from ..conftest import ROOT
from .conftest import MICRO
from .test_cli import infopipe


@pytest.mark.slow
def test_bench_engine_writes_figures(tmp_path, model_overrides):
    out = tmp_path / "engine.json"
    done = infopipe(
        "bench", "engine", "-S", model_overrides[0], "-S", "bench.engine.num_prompts=4",
        "-S", "bench.engine.max_tokens=8", "-S", "bench.engine.repeats=1", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["engine_vs_raw_vllm"] > 0 and figures["vllm_vs_hf"] > 0
    assert set(figures["tokens_per_second"]) >= {"vllm", "raw_vllm", "hf"}


@pytest.mark.slow
def test_bench_mi_scores_with_and_without_prefix_caching_alike(tmp_path, model_overrides):
    out, params = tmp_path / "mi.json", str(ROOT / "params.yaml")
    world = ["-S", "world.train.organisations=20", "-S", "world.heldout.organisations=4"]
    assert infopipe("run", "world", "--params", params, *world, cwd=tmp_path).returncode == 0
    done = infopipe(
        "bench", "mi", "--params", params, "-S", model_overrides[0],
        "-S", "bench.mi.model=smollm2-135m-instruct", "-S", "bench.mi.contexts=4",
        "-S", "mi_sweep.contexts=4", "-S", "mi_sweep.other_contexts=3",
        "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["requests"] == 16 and figures["max_abs_logprob_difference"] < 1e-4
    assert figures["prefix_cache_speedup"] > 0 and figures["prompt_tokens_served_from_cache"] > 0


@pytest.mark.slow
def test_bench_decoding_times_every_processor_against_builtin_top_p(tmp_path, model_overrides):
    out = tmp_path / "decoding.json"
    done = infopipe(
        "bench", "decoding", "--params", str(ROOT / "params.yaml"), "-S", model_overrides[0],
        "-S", "bench.decoding={model: smollm2-135m-instruct, prompts: 4, max_tokens: 8, repeats: 1}",
        "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    samplers = {s.split("(")[0] for s in figures["processor_vs_builtin_top_p"]}
    assert samplers == {"greedy", "temperature", "top_k", "top_p", "min_p", "typical", "mirostat_v1",
                        "mirostat_v2", "top_h"}  # fmt: skip
    assert all(r > 0 for r in figures["processor_vs_builtin_top_p"].values())
    assert figures["tokens_per_run"] == 32


def test_bench_models_times_each_phase_and_projects_every_members_budget(tmp_path):
    out, params = tmp_path / "models.json", str(ROOT / "params.yaml")
    micro = [arg for setting in MICRO for arg in ("-S", setting)]
    done = infopipe(
        "bench", "models", "--params", params, *micro, "-S", "bench.models.sample_steps=2", "--out", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert set(figures["models"]) == {"world-s", "world-m", "world-l"}
    steps = load_params(ROOT / "params.yaml", MICRO).models
    for name, member in figures["models"].items():
        assert member["steps"] == steps[name].train.steps == sum(p["steps"] for p in member["phases"])
        projected = sum(p["seconds_per_step"] * p["steps"] for p in member["phases"])
        assert member["seconds"] == pytest.approx(projected, rel=1e-12)  # the same sum, float order aside
        assert figures["seconds"][name] == member["seconds"]
    assert figures["train_seconds"] == pytest.approx(sum(figures["seconds"].values()), rel=1e-12)
    assert figures["method"] == "projected from 2 timed steps a phase"
    assert not (tmp_path / "data/models").exists()  # a scratch directory, not the stage's outputs
