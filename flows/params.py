"""How a flow reads params.yaml: only the sections its stage reads (its own `<Job>Params`),
validated, after every section name is checked (a misspelt section would otherwise be ignored
by the stage that owns it). tasks/params.py assembles every section for `infopipe params`."""

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from tasks.config import StageParams, load

P = TypeVar("P", bound=StageParams)

# Every section of params.yaml (tests/unit/test_config.py checks it against tasks/params.py).
SECTIONS = (
    "profile",
    "models",
    "engine",
    "runner",
    "world",
    "corpus",
    "training",
    "generate",
    "compression",
    "entigraph",
    "mi_sweep",
    "decoding",
    "rl_run",
    "checkpoints",
    "report",
    "bench",
)


def read(cls: type[P], params_file: Path | str, overrides: Sequence[str] | None) -> P:
    return load(cls, params_file, overrides or [], known=SECTIONS)
