"""prefect.yaml's deployments, read in one place: checked, built as Prefect deployments, served here.

`prefect --no-prompt deploy --all` registers prefect.yaml with a Prefect server for the `gpu` work
pool, whose workers run the flows. `infopipe serve` serves the same flows with the same schedules
and parameters from this machine with no work pool (Prefect's `serve` of `flow.to_deployment`): it
polls the API and runs each flow run in a subprocess here, one at a time. `--params` replaces the
deployments' params file (default params.yaml, the cpu profile), `-S` adds overrides.

Schedules need a Prefect server: Prefect's ephemeral API has no scheduler, so `serve` refuses to
start without PREFECT_API_URL. `prefect server start` binds 127.0.0.1:4200 by default.

infopipe serve                                   (every deployment)
infopipe serve nightly --params params.gpu.yaml
"""

import importlib
from collections.abc import Sequence
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tasks.config import load_params
from tasks.errors import InfopipeError
from tasks.io import read_text

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"
API_HINT = "start one with `prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api"


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
        raise InfopipeError(str(path), f"invalid YAML: {str(err).splitlines()[0]}") from None
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


def serve(
    names: Sequence[str], params_file: str, overrides: Sequence[str] = (), config: Path = PREFECT_YAML
) -> None:
    """Serve the named deployments (default: all) until interrupted; flow runs start in this directory."""
    specs = load(config)
    for name in names:
        if name not in specs:
            close = get_close_matches(name, specs, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InfopipeError(str(config), f"unknown deployment {name!r} (known: {', '.join(specs)}){hint}")
    load_params(params_file, list(overrides))  # bad params fail here, in one line, not at 02:00
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise InfopipeError("serve", f"PREFECT_API_URL is not set: schedules need a server; {API_HINT}")
    deployments = []
    for name in dict.fromkeys(names or specs):
        spec = specs[name]
        extra = [*(spec.parameters.get("overrides") or []), *overrides]
        parameters = {"params_file": params_file, **({"overrides": extra} if extra else {})}
        deployments.append(build(spec, parameters, served=True))
    prefect_serve(*deployments, limit=1)  # one machine, one run at a time (a GPU is not shared)
