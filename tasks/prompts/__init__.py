"""Versioned prompt templates, one YAML file per role, shared by the model family's training
and by the job that uses the role. The `tag` (name-v<version>) travels into tables and MLflow."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator

from tasks.errors import InfopipeError

HERE = Path(__file__).parent
CONTEXT = "Document: {document}\n"  # every world-role prompt starts with the document


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    role: str  # who uses it: predictor, compressor, entigraph, teacher, pretraining
    template: str

    @property
    def tag(self) -> str:
        return f"{self.name}-v{self.version}"

    @property
    def task(self) -> str:
        """The template after the document: what a packed training sample repeats per block."""
        return self.template.removeprefix(CONTEXT)

    def render(self, **fields: str) -> str:
        return self.template.format(**fields)


@cache
def load(name: str) -> Prompt:
    path = HERE / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in HERE.glob("*.yaml")))
        raise InfopipeError("prompt", f"unknown prompt {name!r} (known: {known})")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or set(raw) != {"version", "role", "template"}:
        raise InfopipeError(str(path), "expected exactly the keys version, role, template")
    return Prompt(name, int(raw["version"]), str(raw["role"]), str(raw["template"]))


def _known(name: str) -> str:
    try:
        load(name)
    except InfopipeError as err:
        raise ValueError(err.problem) from None
    return name


PromptName = Annotated[str, AfterValidator(_known)]  # a config field naming a prompt of this folder
