"""Shared fixtures: offline Hugging Face, one Prefect test harness per run, the SmolLM2 model."""

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest

import flows  # noqa: F401 - Prefect defaults before Prefect is imported
from tasks.params import Params, load_params

ROOT = Path(__file__).resolve().parents[1]
MODEL = "smollm2-135m-instruct"
# Built once by the real `models` flow and kept between local runs (CI starts without it).
MODEL_CACHE = ROOT / ".cache" / "test-models" / MODEL


def cpu_vendor() -> str:
    """`GenuineIntel` or `AuthenticAMD`: a few figures hold on one vendor's CPUs only (tasks/numerics.py)."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("vendor_id"):
            return line.split(":", 1)[1].strip()
    return "unknown"


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def model_overrides(prefect_harness) -> list[str]:
    """params.yaml overrides that point SmolLM2 at a model built by the `models` flow."""
    overrides = [f"models.{MODEL}.path={MODEL_CACHE}"]
    if not (MODEL_CACHE / "model.safetensors").is_file():
        from flows.models import models

        models(params_file=str(ROOT / "params.yaml"), overrides=overrides, only=[MODEL])
    return overrides


@pytest.fixture(scope="session")
def params(model_overrides) -> Params:
    return load_params(ROOT / "params.yaml", model_overrides)


# A test that loads or builds a model, directly or through a fixture, is heavy (not in
# `make test-fast`); so is one marked heavy for its measured seconds.
MODEL_FIXTURES = {"model_overrides", "params", "family", "vllm_engine", "hf_engine"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.heavy)
