"""prefect.yaml's deployments, read in one place: checked, built as Prefect deployments, served here.

`prefect --no-prompt deploy --all` registers prefect.yaml with a Prefect server for the `gpu` work
pool, whose workers run the flows. `infopipe serve` serves the same flows with the same schedules
and parameters from this machine with no work pool (Prefect's `serve` of `flow.to_deployment`): it
polls the API and runs each flow run in a subprocess here, one at a time. Each deployment keeps its
own params file unless `--params` names one for all; `-S` adds overrides.

Schedules need a Prefect server (Prefect's ephemeral API has no scheduler): with PREFECT_API_URL
set, `serve` uses that server; without it, `serve` runs `prefect server start` on 127.0.0.1 and a
free port, with this project's PREFECT_HOME (its database and server.log), for as long as it serves.

infopipe serve                                   (every deployment, on its own params file)
infopipe serve nightly --params params.yaml      (the cpu profile)
"""

import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tasks.errors import InfopipeError, first_line
from tasks.io import read_text
from tasks.params import load_params

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cron: str
    timezone: str
    active: bool = True


class WorkPool(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    work_queue_name: str = "default"


class Deployment(BaseModel):
    """One entry of prefect.yaml; a key Prefect knows but `serve` would ignore is refused."""

    model_config = ConfigDict(extra="forbid")
    name: str
    entrypoint: str  # flows/<job>.py:<job>, relative to the checkout
    parameters: dict[str, Any]
    work_pool: WorkPool
    schedules: list[Schedule]
    concurrency_limit: int | None = None

    def flow(self) -> "Flow[..., Any]":
        path, _, attr = self.entrypoint.partition(":")
        return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), attr)


def load(path: Path = PREFECT_YAML) -> dict[str, Deployment]:
    """prefect.yaml's deployments by name."""
    try:
        raw = yaml.safe_load(read_text(path))
    except yaml.YAMLError as err:
        raise InfopipeError(str(path), f"invalid YAML: {first_line(err)}") from None
    entries = raw.get("deployments") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise InfopipeError(str(path), "expected a list of deployments under `deployments`")
    specs: dict[str, Deployment] = {}
    for i, entry in enumerate(entries):
        try:
            spec = Deployment.model_validate(entry)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in ("deployments", i, *first["loc"]))
            problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
            raise InfopipeError(f"{path}: {where}", problem) from None
        if spec.name in specs:
            raise InfopipeError(str(path), f"deployment {spec.name!r} is defined twice")
        specs[spec.name] = spec
    return specs


def build(
    spec: Deployment, parameters: dict[str, Any] | None = None, served: bool = False
) -> "RunnerDeployment":
    """The Prefect deployment of `spec`, its parameters updated; a served one has no work pool."""
    from prefect.deployments.runner import EntrypointType, RunnerDeployment
    from prefect.schedules import Cron

    return RunnerDeployment.from_flow(  # what flow.to_deployment does for a flow in this checkout
        spec.flow(),
        spec.name,
        schedules=[Cron(s.cron, timezone=s.timezone, active=s.active) for s in spec.schedules],
        parameters={**spec.parameters, **(parameters or {})},
        concurrency_limit=spec.concurrency_limit,
        work_pool_name=None if served else spec.work_pool.name,
        work_queue_name=None if served else spec.work_pool.work_queue_name,
        entrypoint_type=EntrypointType.MODULE_PATH,  # importable from any working directory
    )


def served(
    names: Sequence[str], params_file: str | None, overrides: Sequence[str] = (), config: Path = PREFECT_YAML
) -> list["RunnerDeployment"]:
    """The named deployments (default: all) as served here, each on its own params file unless
    `params_file` replaces it; bad names and params fail here, in one line, not at 02:00."""
    specs = load(config)
    for name in names:
        if name not in specs:
            close = get_close_matches(name, specs, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InfopipeError(str(config), f"unknown deployment {name!r} (known: {', '.join(specs)}){hint}")
    deployments = []
    for name in dict.fromkeys(names or specs):
        spec = specs[name]
        extra = [*(spec.parameters.get("overrides") or []), *overrides]
        parameters: dict[str, Any] = {"overrides": extra} if extra else {}
        if params_file:
            parameters["params_file"] = params_file
        load_params(params_file or spec.parameters.get("params_file", "params.yaml"), extra)
        deployments.append(build(spec, parameters, served=True))
    return deployments


@contextmanager
def local_server(timeout: float = 120) -> Iterator[str]:
    """`prefect server start` on 127.0.0.1 and a free port, with this project's PREFECT_HOME, until the
    context ends (Ctrl-C included); its API URL. Its own session: Ctrl-C stops serve first, then it.
    A server that does not answer /api/health within `timeout` seconds is an error naming its log."""
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value())
    home.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url, log = f"http://127.0.0.1:{port}", home / "server.log"
    command = [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            env={**os.environ, "PREFECT_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(f"{url}/api/health"):
            if server.poll() is not None or time.monotonic() > deadline:
                code = server.returncode
                why = f"did not answer in {timeout:.0f} s" if code is None else f"exited with {code}"
                raise InfopipeError("prefect server", f"{url} {why}; see {log}")
            time.sleep(0.5)
        print(f"infopipe: serving on a local Prefect server, UI at {url} (log: {log})", flush=True)
        yield f"{url}/api"
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:  # refused while it starts
        return False


def serve(
    names: Sequence[str],
    params_file: str | None = None,
    overrides: Sequence[str] = (),
    config: Path = PREFECT_YAML,
) -> None:
    """Serve the named deployments (default: all) until interrupted; flow runs start in this directory.
    Without PREFECT_API_URL, on a local server started for as long as this serves."""
    deployments = served(names, params_file, overrides, config)
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api_url = PREFECT_API_URL.value()
    with (
        local_server() if not api_url else nullcontext(api_url) as url,
        temporary_settings({PREFECT_API_URL: url}),  # this runner and the flow runs it starts
    ):
        prefect_serve(*deployments, limit=1)  # one machine, one run at a time (a GPU is not shared)
