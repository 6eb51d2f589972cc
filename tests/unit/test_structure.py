"""The structure DESIGN.md promises: each stage imports only its own job and the shared core (and
what it reads: world, corpus), and dvc.yaml's deps are exactly the files a stage imports."""

import json
import subprocess
import sys

import pytest

from tasks import deps
from tasks.config import EngineConfig
from tasks.engines import vllm_engine
from tasks.samplers import SAMPLERS, SamplerSetting, build

from ..conftest import ROOT

JOBS = {"compression", "entigraph", "mi", "decoding", "checkpoints", "rl_run", "generate", "report"}
STAGES = {"world", "corpus", "models", "bench", "params"}


def _imported(flow: str) -> tuple[set[str], bool]:
    """The job and stage packages of tasks/ a fresh interpreter holds after importing a flow, and
    whether torch came with it."""
    code = (
        f"import sys, json, flows.cli; flows.cli.flow_module({flow!r}); "
        "print(json.dumps([sorted(sys.modules), 'torch' in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules, torch = json.loads(done.stdout.splitlines()[-1])
    packages = {m.split(".")[1] for m in modules if m.startswith("tasks.") and m.count(".") >= 1}
    return packages & (JOBS | STAGES), torch


@pytest.mark.parametrize(
    ("flow", "allowed"),
    [("world", {"world"}), ("corpus", {"corpus"}), ("report", {"report"})],
)
def test_a_stage_imports_its_own_job_and_what_it_reads_only(flow, allowed):
    packages, torch = _imported(flow)
    assert packages == allowed
    assert not torch  # no sampler, engine or model code behind a stage that runs none


def test_dvc_deps_are_the_files_each_stage_imports():
    assert deps.check(ROOT) == {}


def test_samplers_say_what_they_need_beyond_warping_scores():
    ead = build(SamplerSetting(name="ead", args={"large": "world-l", "threshold": 2.0}))
    assert ead.models() == ["world-l"] and ead.backend == "hf"
    for name in SAMPLERS:
        if name != "ead":
            sampler = SAMPLERS.get(name)
            assert sampler.backend is None, name


def test_every_vllm_engine_runs_the_v1_model_runner_our_processor_needs(monkeypatch):
    monkeypatch.delenv("VLLM_USE_V2_MODEL_RUNNER", raising=False)
    vllm_engine._environment(EngineConfig())
    assert vllm_engine.os.environ["VLLM_USE_V2_MODEL_RUNNER"] == "0"


def test_vllm_leaves_logging_to_prefect(monkeypatch):
    """vLLM's dictConfig at engine start deadlocked a Prefect flow run (stage models, 17 min hung)."""
    monkeypatch.delenv("VLLM_CONFIGURE_LOGGING", raising=False)
    vllm_engine._environment(EngineConfig())
    assert vllm_engine.os.environ["VLLM_CONFIGURE_LOGGING"] == "0"
