"""DVC stage deps from the import graph: a stage reruns when, and only when, code it imports changes.

Hand-kept `deps:` lists drift both ways (a stage misses a module it imports, or reruns for one it does
not), so the code deps of each stage are computed here from the `ast` of flows/ and tasks/ (nothing is
imported) and checked against, or written into, dvc.yaml. Data deps (data/, reports/) are kept as written.

python -m tasks.deps --check | --write
"""

import argparse
import ast
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.comments import CommentedSeq

from tasks.errors import InfopipeError, first_line

CODE = ("flows", "tasks")  # the top-level packages whose files are code deps
CLI = "flows.cli"  # `infopipe run <name>` runs this, which imports flows.<name> by a string table


def _listed(path: Path) -> bool:
    """Whether a file or folder is source DVC should see: no hidden files, no bytecode."""
    return not path.name.startswith(".") and path.name != "__pycache__" and path.suffix != ".pyc"


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _modules(root: Path) -> dict[str, Path]:
    """Module name -> file, for every .py file under flows/ and tasks/."""
    found: dict[str, Path] = {}
    for top in CODE:
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if all(_listed(Path(part)) for part in parts) and (name not in found or parts[-1] == "__init__"):
                found[name] = path  # a package beats a module of the same name, as in Python
    return found


def _file(root: Path, name: str) -> Path:
    base = root.joinpath(*name.split("."))
    return base / "__init__.py" if (base / "__init__.py").is_file() else base.with_suffix(".py")


def _prefixes(name: str) -> list[str]:
    """`a.b.c` -> a, a.b, a.b.c: importing a module first imports the packages above it."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every import that can run: module level and inside functions, not under `if TYPE_CHECKING:`."""

    def __init__(self, package: str) -> None:
        self.package = package  # what `from . import x` is relative to
        self.found: list[tuple[str, list[str]]] = []  # (module, names imported from it)

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        for child in node.orelse:  # the else branch does run
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(alias.name, []) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._absolute(node.module, node.level)
        if base:
            self.found.append((base, [alias.name for alias in node.names]))

    def _absolute(self, module: str | None, level: int) -> str | None:
        if not level:
            return module
        parts = self.package.split(".")
        if level > len(parts):
            return None  # beyond the top-level package: fails at run time, imports nothing of ours
        return ".".join(parts[: len(parts) - level + 1] + (module.split(".") if module else []))


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules one module imports (directly, with the packages above them)."""
    visitor = _Imports(name if path.name == "__init__.py" else name.rpartition(".")[0])
    try:
        visitor.visit(ast.parse(path.read_bytes(), filename=str(path)))
    except SyntaxError as err:
        raise InfopipeError(str(path), f"cannot parse line {err.lineno}: {err.msg}") from None
    targets: set[str] = set()
    for base, names in visitor.found:
        targets.update(_prefixes(base))
        targets.update(f"{base}.{n}" for n in names)  # `from pkg import mod` imports pkg.mod
    return {t for t in targets if t in modules and t != name}


def module_graph(root: Path) -> dict[str, set[str]]:
    """Module name -> the project modules it imports; external libraries are left out."""
    modules = _modules(root)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _closure(graph: dict[str, set[str]], entries: Iterable[str]) -> set[str]:
    todo = [p for entry in entries for p in _prefixes(entry) if p in graph]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name] - seen)
    return seen


def _data_files(folder: Path) -> list[Path]:
    """Non-.py files a package reads: its own, and those of its sub-folders that are not packages."""
    found: list[Path] = []
    for path in sorted(p for p in folder.iterdir() if _listed(p)):
        if path.is_dir() and not (path / "__init__.py").is_file():
            found += _data_files(path)
        elif path.is_file() and path.suffix != ".py":
            found.append(path)
    return found


def _all_files(folder: Path) -> set[Path]:
    """Every file under a folder, as DVC would hash it (less bytecode and hidden files)."""
    found: set[Path] = set()
    for path in filter(_listed, folder.iterdir()):
        if path.is_dir():
            found |= _all_files(path)
        elif path.is_file():
            found.add(path)
    return found


def _code_files(root: Path, graph: dict[str, set[str]], flow: str) -> set[str]:
    """Repository-relative files of a stage's code: its modules' files and its packages' data files."""
    files: set[str] = set()
    for name in _closure(graph, [CLI, f"flows.{flow}"]):
        path = _file(root, name)
        files.add(_rel(root, path))
        if path.name == "__init__.py":
            files.update(_rel(root, p) for p in _data_files(path.parent))
    return files


def _compact(root: Path, files: set[str]) -> list[str]:
    """Sorted deps with a package folder listed once where all its files are deps."""
    packages = {
        parent
        for file in files
        for parent in PurePosixPath(file).parents
        if parent.parts and (root / parent / "__init__.py").is_file()
    }
    whole = {p.as_posix() for p in packages if {_rel(root, f) for f in _all_files(root / p)} <= files}
    top = {d for d in whole if not any(d.startswith(f"{w}/") for w in whole)}
    rest = {f for f in files if not any(f.startswith(f"{d}/") for d in top)}
    return sorted(top | rest)


def _expand(root: Path, deps: Iterable[str]) -> set[str]:
    """Deps as files: a folder stands for every file in it, so `tasks/world` equals its files."""
    files: set[str] = set()
    for dep in deps:
        path = root / dep
        if path.is_dir():
            files.update(_rel(root, p) for p in _all_files(path))
        else:
            files.add(PurePosixPath(dep).as_posix())  # missing files too: they are extra deps
    return files


def _is_code(dep: object) -> bool:
    return isinstance(dep, str) and PurePosixPath(dep).parts[:1] in [(top,) for top in CODE]


def _yaml() -> YAML:
    """Round-trip YAML laid out as dvc.yaml is, so an untouched stage is written back byte for byte."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def _load(root: Path) -> tuple[Path, Any]:
    path = root / "dvc.yaml"
    if not path.is_file():
        raise InfopipeError(str(path), "file not found")
    try:
        doc = _yaml().load(path)
    except YAMLError as err:
        raise InfopipeError(str(path), f"not valid YAML: {first_line(err)}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), dict):
        raise InfopipeError(str(path), "no 'stages' mapping")
    return path, doc


def _flow(path: Path, name: str, stage: Any, graph: dict[str, set[str]]) -> str:
    """The flow a stage runs, from its `cmd: infopipe run <flow>`; the flow module must exist."""
    cmd = stage.get("cmd") if isinstance(stage, dict) else None
    words = cmd.split() if isinstance(cmd, str) else []
    if len(words) < 3 or words[:2] != ["infopipe", "run"]:
        raise InfopipeError(str(path), f"stage {name!r}: cmd {cmd!r} is not 'infopipe run <name>'")
    for module in (CLI, f"flows.{words[2]}"):
        if module not in graph:
            raise InfopipeError(str(path), f"stage {name!r}: {module.replace('.', '/')}.py does not exist")
    return words[2]


def _deps(stage: Any) -> list[Any]:
    deps = stage.get("deps") if isinstance(stage, dict) else None
    return list(deps) if isinstance(deps, list) else []


def _wanted(root: Path, graph: dict[str, set[str]], path: Path, name: str, stage: Any) -> list[Any]:
    """A stage's deps as they should read: code deps (compact, sorted), then its other deps in order."""
    code = _compact(root, _code_files(root, graph, _flow(path, name, stage, graph)))
    return [*code, *(dep for dep in _deps(stage) if not _is_code(dep))]


ROOT = Path(__file__).resolve().parents[1]  # the checkout this code runs from


def code_digest(flow: str, root: Path = ROOT) -> str:
    """A short hash of the code stage `flow` runs (its files, as its DVC deps list them)."""
    digest = hashlib.sha256()
    for rel in sorted(_code_files(root, module_graph(root), flow)):
        digest.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return digest.hexdigest()[:8]


def made_by(settings: str, flow: str, root: Path = ROOT) -> str:
    """The tag of a part that stage `flow` writes: its settings' hash and its code's. A part made
    by other code is not this run's, though a DVC output kept across runs (`persist`) holds it."""
    return f"{settings}-{code_digest(flow, root)}"


def stage_code(root: Path, stage: str) -> list[str]:
    """The code deps of one stage of dvc.yaml: the files its code imports, folders where whole."""
    path, doc = _load(root)
    if stage not in doc["stages"]:
        raise InfopipeError(str(path), f"no stage {stage!r}")
    graph = module_graph(root)
    return _compact(root, _code_files(root, graph, _flow(path, stage, doc["stages"][stage], graph)))


def check(root: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Stage -> (missing, extra) code deps of dvc.yaml, compared file by file; in-sync stages left out."""
    path, doc = _load(root)
    graph = module_graph(root)
    differ: dict[str, tuple[list[str], list[str]]] = {}
    for name, stage in doc["stages"].items():
        want = _code_files(root, graph, _flow(path, name, stage, graph))
        have = _expand(root, (dep for dep in _deps(stage) if _is_code(dep)))
        if want != have:
            differ[name] = (_compact(root, want - have), _compact(root, have - want))
    return differ


def _replace(seq: CommentedSeq, items: list[Any]) -> None:
    """Refill a deps list in place; kept deps keep their comments, the last item's trailing comment
    (the lines before the next key) stays last."""
    old = list(seq)
    notes = dict(seq.ca.items)
    tail = notes.pop(len(old) - 1, None)
    moved = {items.index(dep): notes[i] for i, dep in enumerate(old) if i in notes and dep in items}
    del seq[:]
    seq.ca.items.clear()
    seq.extend(items)
    seq.ca.items.update(moved)
    if tail is not None and items:
        seq.ca.items[len(items) - 1] = tail


def _dump(path: Path, doc: Any) -> None:
    """Write next to the file, then rename: a failed write never leaves half a dvc.yaml."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            _yaml().dump(doc, out)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write(root: Path) -> list[str]:
    """Rewrite dvc.yaml's deps lists from the import graph; comments, order and other keys are kept."""
    path, doc = _load(root)
    graph = module_graph(root)
    changed: list[str] = []
    for name, stage in doc["stages"].items():
        wanted = _wanted(root, graph, path, name, stage)
        if wanted == _deps(stage):
            continue
        if isinstance(stage.get("deps"), CommentedSeq):
            _replace(stage["deps"], wanted)
        else:
            stage.insert(list(stage).index("cmd") + 1, "deps", CommentedSeq(wanted))
        changed.append(name)
    if changed:
        _dump(path, doc)
    return changed


def _line(name: str, missing: list[str], extra: list[str]) -> str:
    parts = [f"{label} {', '.join(deps)}" for label, deps in (("missing", missing), ("extra", extra)) if deps]
    return f"deps: stage {name}: {'; '.join(parts)}"


def main(argv: list[str] | None = None) -> int:
    """`--check`: 1 and one line per stage whose code deps are wrong; `--write`: fix them in dvc.yaml."""
    args = argparse.ArgumentParser(prog="infopipe deps", description=__doc__.splitlines()[0])
    mode = args.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="report stages whose code deps are wrong")
    mode.add_argument("--write", action="store_true", help="rewrite dvc.yaml's code deps")
    parsed = args.parse_args(argv)
    root = Path(".")
    try:
        if parsed.check:
            differ = check(root)
            for name, (missing, extra) in differ.items():
                print(_line(name, missing, extra))
            return 1 if differ else 0
        changed = write(root)
    except InfopipeError as err:
        print(f"infopipe: error: {err}", file=sys.stderr)
        return 2
    print(f"deps: rewrote stages {', '.join(changed)}" if changed else "deps: dvc.yaml is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
