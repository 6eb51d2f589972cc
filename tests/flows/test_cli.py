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


# Bad inputs (params, files, models) are one table, tasks/bench/reliability.py, run by
# tests/flows/test_bad_inputs.py and by `infopipe bench reliability`.


def test_params_prints_resolved_config():
    done = infopipe("params", "-S", "engine.backend=hf")
    assert done.returncode == 0, done.stderr
    assert '"backend": "hf"' in done.stdout


# ~45 s (a user's process: imports, its own Prefect server, SmolLM2); the default run checks errors
# raised inside flows in-process (tests/flows/test_bad_inputs.py, kind "model").
@pytest.mark.slow
def test_runtime_error_inside_the_flow_is_one_line(tmp_path, model_overrides):
    """Errors found only once the model is loaded (here: a prompt longer than the context)."""
    long = "word " * 2100
    done = infopipe(
        "run", "generate", "--params", str(ROOT / "params.yaml"), "-S", model_overrides[0],
        "-S", "engine.backend=hf", "-S", f"generate.prompts=['{long}']", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(done, "prompt 0:", "max_model_len 2048", "truncation: left")
    assert not (tmp_path / "data").exists() and not (tmp_path / "reports").exists()
