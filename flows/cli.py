"""`infopipe`: run a flow, run a benchmark, check params, compare runs, serve schedules, check
DVC deps. Errors are one line and exit 2.

infopipe run generate [-S generate.sampling.max_tokens=16] [--params params.yaml]
infopipe bench engine
infopipe params -S engine.backend=hf
infopipe compare mi_sweep [-n 5]
infopipe serve [nightly|<job> ...]
infopipe deps --check | --write

A stage's command is `infopipe run <stage>`: this module is in every stage's DVC deps, so it
imports only the run path. Flows and the other commands are named by strings (FLOWS, COMMANDS)
and imported when used: a stage's code is this module plus its own flow's imports.
"""

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import flows  # noqa: F401 - sets Prefect defaults before Prefect is imported
from flows.params import read
from flows.runtime import RunnerParams, quiet_user_errors, task_runner
from tasks.errors import InfopipeError

# The table of contents: stage name -> flow module (each has the flow, named like the stage, and
# PARAMS, the sections it reads).
FLOWS = {
    name: f"flows.{name}"
    for name in (
        "world",
        "corpus",
        "models",
        "generate",
        "compression",
        "entigraph",
        "mi_sweep",
        "decoding",
        "rl_run",
        "checkpoints",
        "report",
        "nightly",
    )
}
# Commands other than `run`: name -> function(args), in flows/commands.py.
COMMANDS = ("bench", "params", "compare", "serve", "deps")


def flow_module(name: str) -> ModuleType:
    if name not in FLOWS:
        raise InfopipeError("run", f"unknown flow {name!r} (known: {', '.join(FLOWS)})")
    return importlib.import_module(FLOWS[name])


def _run(args: argparse.Namespace) -> None:
    module = flow_module(args.flow)
    read(module.PARAMS, args.params, args.set)  # bad params fail here, in one line, before Prefect starts
    runner = read(RunnerParams, args.params, args.set).runner
    quiet_user_errors()
    flow = getattr(module, args.flow).with_options(task_runner=task_runner(runner))
    result = flow(params_file=args.params, overrides=args.set)
    print(json.dumps(result, indent=2, sort_keys=True, default=str))


def _command(name: str) -> Callable[[argparse.Namespace], Any]:
    def call(args: argparse.Namespace) -> Any:
        return getattr(importlib.import_module("flows.commands"), name)(args)

    return call


def _overrides(parser: argparse.ArgumentParser, help: str = "override a param, as `dvc exp run -S`") -> None:
    parser.add_argument("-S", "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help=help)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="infopipe", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    _overrides(common)
    run = sub.add_parser("run", parents=[common], help="run a flow (a DVC stage)")
    run.add_argument("flow", help=f"one of: {', '.join(FLOWS)}")
    run.set_defaults(func=_run)
    bench = sub.add_parser("bench", parents=[common], help="run a benchmark, write reports/bench/<name>.json")
    bench.add_argument("name")
    bench.add_argument("--out", help="where to write the JSON")
    show = sub.add_parser("params", parents=[common], help="validate every section and print them resolved")
    compare = sub.add_parser("compare", help="print a job's latest MLflow runs side by side")
    compare.add_argument("job")
    compare.add_argument("-n", type=int, default=5, help="how many runs (default 5)")
    serve = sub.add_parser("serve", help="serve prefect.yaml's deployments here (no server needed)")
    serve.add_argument("deployments", nargs="*", help="deployment names of prefect.yaml (default: all)")
    # Its own --params: `common`'s default would replace each deployment's params file.
    serve.add_argument("--params", help="params file of every deployment (default: each one's own)")
    _overrides(serve, "a param override, as `dvc exp run -S`")
    deps = sub.add_parser("deps", help="check or write dvc.yaml's code deps from the import graph")
    mode = deps.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 naming each stage whose deps differ")
    mode.add_argument("--write", action="store_true", help="rewrite the deps of dvc.yaml")
    for name, command in zip(COMMANDS, (bench, show, compare, serve, deps), strict=True):
        command.set_defaults(func=_command(name))
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = args.func(args)
    except InfopipeError as err:
        print(f"infopipe: error: {err}", file=sys.stderr)
        return 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
