"""prefect.yaml as `prefect deploy` registers it, `infopipe serve` against a real API, and nightly."""

import inspect
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import yaml
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound
from prefect.flows import load_flow_from_entrypoint
from prefect.settings import PREFECT_API_URL

import flows.nightly
from flows.cli import FLOWS
from flows.deployments import PREFECT_YAML, build, load
from tasks import tracking
from tasks.config import load_params
from tasks.errors import InfopipeError

from ..conftest import ROOT
from .conftest import fresh_workdir
from .test_cli import assert_one_line_error, infopipe

JOBS = ["compression", "entigraph", "mi_sweep", "decoding", "checkpoints"]
SMALL_WORLD = ["world.train.organisations=30", "world.heldout.organisations=10"]  # as test_world
T = TypeVar("T")


def test_prefect_yaml_deploys_nightly_and_every_job_to_the_gpu_pool():
    specs = load()
    assert list(specs) == ["nightly", *JOBS]
    (pull,) = yaml.safe_load(PREFECT_YAML.read_text())["pull"]
    assert pull == {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $INFOPIPE_ROOT }}"}}
    hours = []
    for name, spec in specs.items():
        deployment = build(spec)
        assert spec.entrypoint == f"flows/{name}.py:{name}"
        flow = load_flow_from_entrypoint(str(ROOT / spec.entrypoint))  # as a worker loads it
        assert flow.name == deployment.flow_name == name
        signature = inspect.signature(flow.fn).parameters
        assert signature["params_file"].default == "params.yaml" and signature["overrides"].default is None
        assert (deployment.work_pool_name, deployment.work_queue_name) == ("gpu", "default")
        assert deployment.parameters == {"params_file": "params.gpu.yaml"}
        assert load_params(ROOT / deployment.parameters["params_file"]).profile == "gpu"
        (schedule,) = deployment.schedules
        assert schedule.schedule.timezone == "UTC"
        cron = schedule.schedule.cron
        minute, hour, *every_day = cron.split()
        assert (minute, every_day) == ("0", ["*", "*", "*"]), cron
        assert schedule.active == (name == "nightly")  # nightly runs every job; theirs are paused
        hours.append(int(hour))
    assert hours == [2, 2, 3, 4, 5, 6]  # nightly at 02:00, the jobs staggered in dependency order


def test_a_deployment_key_serve_would_ignore_is_refused(tmp_path):
    config = tmp_path / "prefect.yaml"
    nightly = yaml.safe_load(PREFECT_YAML.read_text())["deployments"][0]
    config.write_text(yaml.safe_dump({"deployments": [{**nightly, "tags": ["gpu"]}]}))
    with pytest.raises(InfopipeError, match=r"deployments\.0\.tags: unknown key"):
        load(config)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["serve", "nope"], ["unknown deployment 'nope'", "known: nightly, compression"]),
        (["serve", "nightly", "mi_swep"], ["unknown deployment 'mi_swep'", "did you mean 'mi_sweep'"]),
        (["serve", "-S", "world.train.cities=-3"], ["world.train.cities"]),
        (["serve", "nightly"], ["PREFECT_API_URL is not set", "prefect server start"]),  # helper unsets it
    ],
)
def test_serve_errors_are_one_line(args, fragments):
    assert_one_line_error(infopipe(*args), *fragments)


def test_serve_runs_a_flow_run_triggered_through_the_api(tmp_path):
    """`serve` of a `world` deployment shaped like prefect.yaml's nightly, one run triggered by API."""
    raw = yaml.safe_load(PREFECT_YAML.read_text())
    world = {**raw["deployments"][0], "name": "world", "entrypoint": "flows/world.py:world"}
    config = tmp_path / "prefect.yaml"
    config.write_text(yaml.safe_dump({**raw, "deployments": [world]}))
    params = str(ROOT / "params.yaml")
    code = (
        "from pathlib import Path; from flows.deployments import serve; "
        f"serve(['world'], {params!r}, {SMALL_WORLD!r}, Path({str(config)!r}))"
    )
    work = tmp_path / "work"
    work.mkdir()
    log = tmp_path / "serve.log"
    with fresh_workdir(work), log.open("w") as out:
        env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PYTHONPATH": str(ROOT)}
        env |= {"PREFECT_HOME": str(work / ".prefect"), "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(work / "r")}
        serving = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            with get_client(sync_client=True) as client:
                deployment = until(lambda: client.read_deployment_by_name("world/world"), serving, log)
                assert deployment.work_pool_name is None  # served here, not by a work pool
                assert deployment.parameters == {"params_file": params, "overrides": SMALL_WORLD}
                (schedule,) = deployment.schedules
                assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "UTC")
                assert schedule.active
                run = client.create_flow_run_from_deployment(deployment.id)

                def finished():  # the flow run, once in a final state
                    state = client.read_flow_run(run.id).state
                    if state is None or not state.is_final():
                        raise TimeoutError(f"flow run {run.id} is {state.type if state else 'new'}")
                    return state

                state = until(finished, serving, log)
                assert state.type == StateType.COMPLETED, f"{state.message}\n{log.read_text()}"
        finally:
            serving.terminate()
            try:
                serving.wait(60)
            except subprocess.TimeoutExpired:
                serving.kill()
    assert (work / "data/world/documents.parquet").is_file()  # the run worked in serve's directory


@flow(name="broken")
def broken(params_file: str = "params.yaml", overrides: list[str] | None = None) -> None:
    raise InfopipeError("broken", "fails on purpose")


def test_nightly_runs_every_job_past_a_failed_one_then_fails_naming_it(tmp_path, monkeypatch):
    monkeypatch.setitem(FLOWS, "broken", f"{__name__}:broken")
    monkeypatch.setattr(flows.nightly, "STAGES", ["world"])
    monkeypatch.setattr(flows.nightly, "JOBS", ["broken", "world"])  # world again, after the failure
    with fresh_workdir(tmp_path), pytest.raises(InfopipeError, match=r"^nightly: failed jobs: broken \("):
        flows.nightly.nightly(params_file=str(ROOT / "params.yaml"), overrides=SMALL_WORLD)
        assert len(tracking.search("world")) == 2  # the stage and the job after the failed one


def until(get: Callable[[], T], serving: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> T:
    """`get()` once it stops raising, failing early with serve's log if serve exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get()
        except (ObjectNotFound, TimeoutError):
            if serving.poll() is not None:
                pytest.fail(f"serve exited with {serving.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
