"""Faults a nightly run survives: an engine that dies mid-cell (retried by Prefect with back-off on a
fresh engine; failed alone after the last try) and a sweep killed with SIGKILL (a rerun does only the
unfinished parts and ends with the tables of an uninterrupted run)."""

import time
from pathlib import Path

import polars as pl
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

import flows.mi_sweep as sweep
from flows.world import world
from tasks.bench.faults import MICRO, SWEEP, kill_and_resume
from tasks.engines.dummy_engine import DummyEngine
from tasks.engines.registry import ENGINES

from ..conftest import ROOT
from .conftest import fresh_workdir


@ENGINES.register("dying")
class DyingEngine(DummyEngine):
    """The registered dummy engine, except that answering (4 new tokens) raises for the first
    `deaths[model]` calls of a model, like a vLLM engine whose core process died."""

    deaths: dict[str, int] = {}  # noqa: RUF012 - set by each test

    def generate_ids(self, prompt_ids, sampling, seeds=None):
        if sampling.max_tokens == 4 and self.deaths.get(self.model_name, 0) > 0:
            self.deaths[self.model_name] -= 1
            raise RuntimeError("EngineCore died unexpectedly")
        return super().generate_ids(prompt_ids, sampling, seeds)


DYING = [
    *MICRO,
    *SWEEP,
    "engine.backend=dying",
    "mi_sweep.compressors=[smollm2-135m-instruct]",
    "mi_sweep.predictors=[smollm2-135m-instruct, world-s]",
    "models.smollm2-135m-instruct.chat_template=false",
]


def _cell_runs(name_prefix: str) -> list:
    async def read():
        async with get_client() as client:
            flt = TaskRunFilter(name=TaskRunFilterName(like_=name_prefix))
            return await client.read_task_runs(task_run_filter=flt)

    import asyncio

    return asyncio.run(read())


@pytest.mark.slow  # ~25 s: three tries with their back-off policy on the dummy engine
def test_an_engine_that_dies_mid_cell_is_retried_and_one_that_keeps_dying_fails_only_its_cells(
    tmp_path, monkeypatch, model_overrides
):
    assert sweep.answer_cell.retries == 2 and sweep.answer_cell.retry_delay_seconds == [10.0, 20.0]
    # The back-off is waited for real elsewhere; here retries come at once.
    monkeypatch.setattr(sweep, "answer_cell", sweep.answer_cell.with_options(retry_delay_seconds=0))
    with fresh_workdir(tmp_path):
        world(params_file=str(ROOT / "params.yaml"), overrides=MICRO)
        # smollm2 dies once (its first cell is retried on a fresh engine); world-s dies on every try.
        DyingEngine.deaths = {"smollm2-135m-instruct": 1, "world-s": 99}
        sweep.mi_sweep(params_file=str(ROOT / "params.yaml"), overrides=[*model_overrides, *DYING])
        cells = pl.read_parquet(tmp_path / "data/mi_sweep/cells.parquet")

    by_predictor = {p: cells.filter(pl.col("predictor") == p) for p in ("smollm2-135m-instruct", "world-s")}
    assert by_predictor["smollm2-135m-instruct"]["status"].to_list() == ["ok", "ok"]
    assert by_predictor["world-s"]["status"].to_list() == ["failed", "failed"]
    assert all("EngineCore died" in e for e in by_predictor["world-s"]["error"])
    assert DyingEngine.deaths["world-s"] == 99 - 2 * 3  # two cells, three tries each
    runs = {r.name: r for r in _cell_runs("cell-world-smollm2-135m-instruct-smollm2-135m-instruct-")}
    assert sorted(r.run_count for r in runs.values()) == [1, 2]  # the first cell ran twice
    assert all(r.state_type.value == "COMPLETED" for r in runs.values())


@pytest.fixture(scope="module")
def micro(tmp_path_factory, prefect_harness):
    from flows.models import models

    workdir = tmp_path_factory.mktemp("faults")
    with fresh_workdir(workdir):
        world(params_file=str(ROOT / "params.yaml"), overrides=MICRO)
        models(params_file=str(ROOT / "params.yaml"), overrides=MICRO, only=["world-s"])
    return workdir


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, None], ids=["after-the-first-notes", "random"])
def test_a_sweep_killed_at_a_random_point_resumes_to_the_same_tables_doing_only_unfinished_parts(micro, seed):
    """Seed 2 kills once the first notes are written: the rerun's fresh engine scores them (the case
    that differed in the last digits before each part started from an emptied prefix cache)."""
    result = kill_and_resume(micro, MICRO + SWEEP, seed=seed)
    print(result)
    assert 1 <= result["killed_after_parts"] < result["parts"]
    assert result["redone_parts"] == 0 and result["finished_before_kill_rewritten"] == []
    assert result["parts_after_rerun"] == result["parts"]
    assert result["duplicate_rows"] == 0 and result["leftover_temporaries"] == []
    # Bit for bit, floats included: every part starts from an emptied prefix cache
    # (tasks/mi/steps.py), so the rerun's fresh engine scores as the uninterrupted run did.
    assert result["tables_bitwise_equal"] == {"cells": True, "answers": True, "notes": True}, result
    assert result["max_relative_difference"] == 0.0 and result["identical"]


@pytest.mark.slow
def test_sweep_cells_run_on_a_local_ray_instance_with_the_same_tables(tmp_path, model_overrides):
    """prefect-ray's RayTaskRunner, as `infopipe run` builds it from params.runner (kind: ray)."""
    from flows.runtime import task_runner
    from tasks.params import load_params

    overrides = [*model_overrides, *MICRO, *SWEEP, "engine.backend=dummy"]
    overrides += ["models.smollm2-135m-instruct.chat_template=false"]
    overrides += [
        "mi_sweep.compressors=[smollm2-135m-instruct]",
        "mi_sweep.predictors=[smollm2-135m-instruct]",
    ]
    tables, began = {}, time.time()
    for kind in ("threads", "ray"):
        workdir = tmp_path / kind
        workdir.mkdir()
        with fresh_workdir(workdir):
            world(params_file=str(ROOT / "params.yaml"), overrides=MICRO)
            chosen = [*overrides, f"runner.kind={kind}", "runner.workers=2"]
            runner = task_runner(load_params(ROOT / "params.yaml", chosen).runner)
            assert type(runner).__name__ == {"threads": "ThreadPoolTaskRunner", "ray": "RayTaskRunner"}[kind]
            sweep.mi_sweep.with_options(task_runner=runner)(
                params_file=str(ROOT / "params.yaml"), overrides=chosen
            )
            tables[kind] = pl.read_parquet(workdir / "data/mi_sweep/answers.parquet")
    assert tables["threads"].height > 0
    assert tables["ray"].equals(tables["threads"])
    # The cells ran in Ray worker processes of an instance started after this test began.
    workers = [p for p in Path("/tmp/ray/session_latest/logs").glob("worker-*") if p.stat().st_mtime > began]
    assert workers
