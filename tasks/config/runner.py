"""The shared `runner` section: where a flow's fan-out tasks run (flows/runtime.py applies it)."""

from typing import Annotated, Literal

from pydantic import Field

from tasks.config.base import PositiveInt, Strict


class RunnerConfig(Strict):
    """Where fan-out tasks (sweep cells, checkpoints) run: Prefect's thread pool in this process, or
    Ray through prefect-ray (a local instance, or a cluster at `address`)."""

    kind: Literal["threads", "ray"] = "threads"
    workers: PositiveInt = 1  # concurrent tasks (threads) or CPUs of a local Ray instance
    address: str | None = None  # e.g. "ray://head:10001"; None starts a local Ray instance
    gpus_per_task: Annotated[float, Field(ge=0.0)] = 0.0  # Ray resource request of one task
