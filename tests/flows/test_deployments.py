"""prefect.yaml as `prefect deploy` registers it, `infopipe serve` on the server it starts, and nightly."""

import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TypeVar

import psutil
import pytest
import yaml
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound
from prefect.flows import load_flow_from_entrypoint
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

import flows.nightly
from flows.cli import FLOWS, parser
from flows.deployments import PREFECT_YAML, build, load, local_server, served
from tasks import tracking
from tasks.errors import InfopipeError
from tasks.params import load_params

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
        (["serve", "-S", "compression.world_documents=-3"], ["params.gpu.yaml: compression.world_documents"]),
    ],
)
def test_serve_errors_are_one_line(args, fragments):
    assert_one_line_error(infopipe(*args), *fragments)


def test_serve_keeps_each_deployments_params_file_unless_params_replaces_it(monkeypatch):
    monkeypatch.chdir(ROOT)  # params files are relative to where serve runs
    assert parser().parse_args(["serve"]).params is None
    assert parser().parse_args(["run", "world"]).params == "params.yaml"
    (own,) = served(["nightly"], None)
    assert own.parameters == {"params_file": "params.gpu.yaml"}  # prefect.yaml's
    (replaced,) = served(["nightly"], "params.yaml", SMALL_WORLD)
    assert replaced.parameters == {"params_file": "params.yaml", "overrides": SMALL_WORLD}
    assert own.work_pool_name is replaced.work_pool_name is None


def test_a_local_server_that_fails_to_start_is_one_line_naming_its_log(tmp_path, monkeypatch):
    prefect = tmp_path / "prefect"
    prefect.write_text("#!/bin/sh\necho cannot start >&2\nexit 3\n")
    prefect.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # serve runs the prefect beside it
    with (
        temporary_settings({PREFECT_HOME: tmp_path / "home"}),
        pytest.raises(InfopipeError) as err,
        local_server(),
    ):
        pytest.fail("started")
    message = str(err.value)
    assert message.startswith("prefect server: http://127.0.0.1:") and "exited with 3" in message
    assert "\n" not in message and message.endswith(f"see {tmp_path / 'home' / 'server.log'}")
    assert (tmp_path / "home/server.log").read_text() == "cannot start\n"


@pytest.mark.slow  # ~50 s: a real Prefect server, serve's scheduler and a triggered run
def test_serve_starts_a_server_runs_a_flow_run_triggered_through_it_and_stops_it(tmp_path):
    """`infopipe serve` without PREFECT_API_URL, of a `world` deployment shaped like prefect.yaml's
    nightly: it starts a server, whose scheduler schedules it and where a run triggered completes here;
    Ctrl-C stops both."""
    raw = yaml.safe_load(PREFECT_YAML.read_text())
    world = {**raw["deployments"][0], "name": "world", "entrypoint": "flows/world.py:world"}
    config = tmp_path / "prefect.yaml"
    config.write_text(yaml.safe_dump({**raw, "deployments": [world]}))
    params = str(ROOT / "params.yaml")
    argv = ["serve", "world", "--params", params, *(f"-S{o}" for o in SMALL_WORLD)]
    code = (  # the CLI, on this prefect.yaml
        "import functools, sys; from pathlib import Path; import flows.deployments as d; "
        f"d.serve = functools.partial(d.serve, config=Path({str(config)!r})); "
        f"from flows.cli import main; sys.exit(main({argv!r}))"
    )
    work = tmp_path / "work"
    work.mkdir()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # a user's shell, no server
    env |= {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "PREFECT_HOME": str(work / ".prefect")}
    env |= {"PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(work / "r")}
    with fresh_workdir(work), log.open("w") as out:
        serving = subprocess.Popen(
            [sys.executable, "-c", code], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        server = None
        try:

            def ui():  # serve's line naming its server
                found = re.search(r"UI at (http://127\.0\.0\.1:(\d+))", log.read_text())
                if not found:
                    raise TimeoutError("no server yet")
                return found

            url, port = until(ui, serving, log).groups()
            (server,) = psutil.Process(serving.pid).children()  # flow runs have not started yet
            with temporary_settings({PREFECT_API_URL: f"{url}/api"}), get_client(sync_client=True) as client:
                deployment = until(lambda: client.read_deployment_by_name("world/world"), serving, log)
                assert deployment.work_pool_name is None  # served here, not by a work pool
                assert deployment.parameters == {"params_file": params, "overrides": SMALL_WORLD}
                (schedule,) = deployment.schedules
                assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "UTC")
                assert schedule.active

                def scheduled():  # the runs the server's scheduler made of the nightly schedule
                    ids = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
                    if runs := client.read_flow_runs(deployment_filter=ids):
                        return runs
                    raise TimeoutError(f"the scheduler made no run; see {work / '.prefect/server.log'}")

                for scheduled_run in until(scheduled, serving, log, timeout=60):
                    assert scheduled_run.state_type == StateType.SCHEDULED
                    assert scheduled_run.expected_start_time.astimezone(UTC).strftime("%H:%M") == "02:00"
                run = client.create_flow_run_from_deployment(deployment.id)

                def finished():  # the flow run, once in a final state
                    state = client.read_flow_run(run.id).state
                    if state is None or not state.is_final():
                        raise TimeoutError(f"flow run {run.id} is {state.type if state else 'new'}")
                    return state

                state = until(finished, serving, log)
                assert state.type == StateType.COMPLETED, f"{state.message}\n{log.read_text()}"
            serving.send_signal(signal.SIGINT)  # Ctrl-C
            assert serving.wait(90) == 0, log.read_text()
            assert not server.is_running(), "serve left its server running"
            with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(port)), timeout=5):
                pass
        finally:  # what a failure left running
            if serving.poll() is None:
                serving.kill()
                serving.wait()
            if server is not None and server.is_running():
                server.kill()  # its own session: a killed serve leaves it
    assert (work / "data/world/documents.parquet").is_file()  # the run worked in serve's directory


@flow(name="broken")
def broken(params_file: str = "params.yaml", overrides: list[str] | None = None) -> None:
    raise InfopipeError("broken", "fails on purpose")


def test_nightly_runs_every_job_past_a_failed_one_then_fails_naming_it(tmp_path, monkeypatch):
    monkeypatch.setitem(FLOWS, "broken", __name__)
    monkeypatch.setattr(flows.nightly, "STAGES", ["world"])
    monkeypatch.setattr(flows.nightly, "JOBS", ["broken", "world"])  # world again, after the failure
    with fresh_workdir(tmp_path):
        with pytest.raises(InfopipeError, match=r"^nightly: failed jobs: broken \("):
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
