"""The one loader of params.yaml: read (duplicate keys are errors), extend (a variant file names its
base with `extends:` and says only what differs), override (`-S section.key=value`, values parsed as
YAML like `dvc exp run -S`), validate the sections a caller reads."""

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tasks.errors import InfopipeError
from tasks.io import read_text

P = TypeVar("P", bound=BaseModel)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a second `world:` would silently replace the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise InfopipeError(
                    "", f"{key!r} appears twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})"
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


EXTENDS = "extends"


def read(path: Path | str, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """params.yaml as a mapping of sections. A file with `extends: <base>` (relative to the file) is
    its base with the file's keys merged in: mappings key by key, anything else replaced whole."""
    path = Path(path)
    raw = _read_one(path)
    base = raw.pop(EXTENDS, None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base:
        raise InfopipeError(str(path), f"{EXTENDS}: expected the path of a params file")
    seen = (*_seen, path.resolve())
    if (path.parent / base).resolve() in seen:
        raise InfopipeError(str(path), f"{EXTENDS}: {base} is this file or extends it (a cycle)")
    return merged(read(path.parent / base, seen), raw)


def merged(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay`'s keys over `base`'s: a mapping in both is merged, any other value replaces."""
    out = dict(base)
    for key, value in overlay.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both else value
    return out


def _read_one(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.load(read_text(path), Loader=_UniqueKeyLoader)
    except InfopipeError as err:
        raise InfopipeError(str(path), err.problem) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise InfopipeError(str(path), f"invalid YAML{line}") from None
    if not isinstance(raw, dict):
        raise InfopipeError(str(path), "expected a mapping of sections")
    return raw


def apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise InfopipeError("-S", f"expected section.key=value, got {item!r}")
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InfopipeError("-S", f"{key}: {part} is not a section")
        node = child
    node[leaf] = yaml.safe_load(value) if value else ""


def load(
    cls: type[P],
    path: Path | str = "params.yaml",
    overrides: Sequence[str] = (),
    known: Collection[str] | None = None,
) -> P:
    """The sections of `cls` (a stage's params, or every section) read from `path` and validated.

    Sections `cls` does not read are not validated, but their names are checked against `known`
    (every section of params.yaml), so a misspelt section is an error for every stage."""
    raw = read(path)
    for item in overrides:
        apply_override(raw, item)
    if known is not None:
        for name in raw:
            if name not in known:
                raise InfopipeError(str(path), f"{name}: unknown key")
    try:
        return cls.model_validate({k: v for k, v in raw.items() if k in cls.model_fields})
    except ValidationError as err:
        raise InfopipeError(str(path), one_line(err)) from None


def one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    messages = {"extra_forbidden": "unknown key", "missing": "required key is missing"}
    problem = messages.get(first["type"], first["msg"].removeprefix("Value error, "))
    if first["type"] not in messages and first["type"] != "value_error":
        problem += f" (got {first['input']!r:.60})"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {problem}{more}" if where else f"{problem}{more}"
