"""The shared `models` section: named models (ModelSpec), and `ModelName`, the one type every
other section uses to refer to one of them. References are checked generically against the
section (`model_refs`), so a new field that names a model needs no hand-written check."""

import types
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, model_validator

from tasks.config.base import Dtype, PositiveInt, Strict


class _ModelRef:
    """Marks a string field as the name of a model of the `models` section."""

    def __repr__(self) -> str:
        return "ModelRef"


MODEL_REF = _ModelRef()
ModelName = Annotated[str, MODEL_REF]


class GgufBuild(Strict):
    """The `models` stage dequantizes a GGUF file shipped in a Python package into `path`."""

    package: str
    file: str
    save_dtype: Dtype = "bfloat16"


# Head sizes vLLM's CPU attention runs (vllm/v1/attention/backends/cpu_attn.py); smaller ones fail.
VLLM_CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


class TrainRecipe(Strict):
    """A Llama model the `models` stage trains from scratch on the world's task formats.

    Budgets are in optimizer steps, not seconds, so the same params give the same model."""

    hidden: PositiveInt
    layers: PositiveInt
    head_dim: PositiveInt = 64
    steps: PositiveInt
    lr: Annotated[float, Field(gt=0.0, lt=1.0)]
    batch_size: PositiveInt = 16

    @model_validator(mode="after")
    def _heads(self) -> "TrainRecipe":
        if self.head_dim not in VLLM_CPU_HEAD_SIZES:
            raise ValueError(
                f"head_dim {self.head_dim} is not one vLLM's CPU attention runs {VLLM_CPU_HEAD_SIZES}"
            )
        if self.hidden % self.head_dim:
            raise ValueError(f"hidden {self.hidden} is not a multiple of head_dim {self.head_dim}")
        return self


class ModelSpec(Strict):
    """A named model: exactly one of a local `path`, a Hugging Face `hf_id` or a `package` dir."""

    path: str | None = None
    hf_id: str | None = None
    package: str | None = None
    revision: str | None = None
    dtype: Dtype = "float32"
    max_model_len: PositiveInt = 2048
    chat_template: bool = False
    roles: list[str] = []
    trust_remote_code: bool = False
    build: GgufBuild | None = None
    train: TrainRecipe | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "ModelSpec":
        given = [k for k in ("path", "hf_id", "package") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, hf_id, package (got {given or 'none'})")
        if self.build and self.train:
            raise ValueError("give at most one of build, train")
        if (self.build or self.train) and not self.path:
            raise ValueError("build and train need a path to write the model to")
        return self


def model_refs(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(location, name) of every `ModelName` inside a validated config, e.g.
    ("mi_sweep.compressors.1", "world-m"). A model whose parts are typed elsewhere (a sampler's
    arguments) exposes them through a `typed_parts()` method."""
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            inner = getattr(value, name)
            at = f"{where}.{name}" if where else name
            if MODEL_REF in field.metadata:
                yield from _named(inner, at)
            else:
                yield from _walk(field.annotation, inner, at)
        parts = getattr(value, "typed_parts", None)
        if callable(parts):
            for name, part in parts():
                yield from model_refs(part, f"{where}.{name}" if where else name)


def _walk(annotation: Any, value: Any, where: str) -> Iterator[tuple[str, str]]:
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *meta = get_args(annotation)
        yield from _named(value, where) if MODEL_REF in meta else _walk(inner, value, where)
    elif origin in (Union, types.UnionType):
        if value is None:
            return
        for arg in get_args(annotation):
            if get_origin(arg) is Literal and value in get_args(arg):
                return  # a fixed word beside a model name (mi_sweep.scorer: compressor)
        for arg in get_args(annotation):
            if arg is not type(None):
                yield from _walk(arg, value, where)
    elif origin in (list, tuple) and isinstance(value, list | tuple):
        (item, *_) = get_args(annotation) or (Any,)
        for i, v in enumerate(value):
            yield from _walk(item, v, f"{where}.{i}")
    elif origin is dict and isinstance(value, dict):
        item = get_args(annotation)[1] if get_args(annotation) else Any
        for k, v in value.items():
            yield from _walk(item, v, f"{where}.{k}")
    elif isinstance(value, BaseModel):
        yield from model_refs(value, where)


def _named(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _named(v, f"{where}.{i}")
