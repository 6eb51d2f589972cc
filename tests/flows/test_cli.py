"""`infopipe` as a user runs it: a subprocess, one-line errors, exit code 2, nothing written."""

import os
import subprocess
import sys

import pytest

from ..conftest import ROOT


def infopipe(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PREFECT_API_URL", None)  # not the test harness's server: a user's own process
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=cwd or ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("infopipe: error: ")
    for fragment in fragments:
        assert fragment in errors[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["params", "-S", "generate.sampling.max_tokns=3"], ["generate.sampling.max_tokns: unknown key"]),
        (["params", "-S", "generate.model=nope"], ["generate.model: unknown model 'nope'"]),
        (["params", "--params", "missing.yaml"], ["missing.yaml: file not found"]),
        (["run", "nope"], ["unknown flow 'nope'"]),
        (["bench", "enigne"], ["unknown benchmark 'enigne'", "did you mean 'engine'"]),
        (["run", "generate", "-S", "generate.prompts=[]"], ["prompts is empty"]),
        (
            ["run", "models", "-S", "models.world-l.train.head_dim=16"],
            ["models.world-l.train", "head_dim 16"],
        ),
        (["run", "world", "-S", "world.heldout.organisations=0"], ["world.heldout.organisations"]),
        (["run", "world", "-S", "world.train.cities=-3"], ["world.train.cities"]),
        (["run", "compression", "-S", "compression.evaluation.rates=[0.5, 1.5]"], ["evaluation.rates.1"]),
        (["run", "compression", "-S", "compression.evaluation.rates=[0]"], ["evaluation.rates.0"]),
        (
            ["run", "compression", "-S", "compression.evaluation.methods=[llmlingua3]"],
            ["compression.evaluation", "unknown compressor 'llmlingua3'", "did you mean 'llmlingua2'"],
        ),
        (
            ["run", "compression", "-S", "compression.teachers=[{model: world-l, prompt: kep}]"],
            ["compression.teachers.0", "unknown prompt 'kep'"],
        ),
        (
            ["run", "compression", "-S", "compression.scorer=gpt2"],
            ["compression.scorer: unknown model 'gpt2'"],
        ),
        (
            ["run", "entigraph", "-S", "entigraph.entities.extractors=[ner]"],
            ["entigraph.entities", "unknown extractor 'ner'"],
        ),
        (["run", "entigraph", "-S", "entigraph.cpt.budgets=[0.5, 2]"], ["entigraph.cpt.budgets.1"]),
        (
            ["run", "entigraph", "-S", "entigraph.relations.budget_tokens=-1"],
            ["entigraph.relations.budget_tokens"],
        ),
        (["run", "entigraph", "-S", "entigraph.qa.kinds=[colour]"], ["unknown question kind 'colour'"]),
        (["run", "entigraph", "-S", "entigraph.cpt.base=gpt2"], ["entigraph.cpt.base: unknown model 'gpt2'"]),
        (["run", "rl_run", "-S", "rl_run.model=gpt2"], ["rl_run.model: unknown model 'gpt2'"]),
        (["run", "rl_run", "-S", "rl_run.trl={num_generatons: 2}"], ["rl_run.trl", "num_generatons"]),
        (["run", "checkpoints", "-S", "checkpoints.series=nowhere"], ["nowhere", "directory does not exist"]),
        (["run", "checkpoints", "-S", "checkpoints.pass_k=[1, 16]"], ["pass_k: 16 exceeds samples 8"]),
    ],
)
def test_bad_input_is_one_line(args, fragments, tmp_path):
    if "--params" not in args:
        args = [*args, "--params", str(ROOT / "params.yaml")]
    done = infopipe(*args, cwd=tmp_path)
    assert_one_line_error(done, *fragments)
    assert list(tmp_path.iterdir()) == []


def test_params_prints_resolved_config():
    done = infopipe("params", "-S", "engine.backend=hf")
    assert done.returncode == 0, done.stderr
    assert '"backend": "hf"' in done.stdout


def test_runtime_error_inside_the_flow_is_one_line(tmp_path, model_overrides):
    """Errors found only once the model is loaded (here: a prompt longer than the context)."""
    long = "word " * 2100
    done = infopipe(
        "run", "generate", "--params", str(ROOT / "params.yaml"), "-S", model_overrides[0],
        "-S", "engine.backend=hf", "-S", f"generate.prompts=['{long}']", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(done, "prompt 0:", "max_model_len 2048", "truncation: left")
    assert not (tmp_path / "data").exists() and not (tmp_path / "reports").exists()
