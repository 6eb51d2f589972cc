"""`infopipe`: run a flow, run a benchmark, or check params. Errors are one line and exit 2.

infopipe run generate [-S generate.sampling.max_tokens=16] [--params params.yaml]
infopipe bench engine
infopipe params -S engine.backend=hf
infopipe compare mi_sweep [-n 5]
infopipe serve [nightly|<job> ...]
"""

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flows  # noqa: F401 - sets Prefect defaults before Prefect is imported
from tasks.config import load_params
from tasks.errors import InfopipeError

# The table of contents: stage name -> flow.
FLOWS = {
    "world": "flows.world:world",
    "corpus": "flows.corpus:corpus",
    "models": "flows.models:models",
    "generate": "flows.generate:generate",
    "compression": "flows.compression:compression",
    "entigraph": "flows.entigraph:entigraph",
    "mi_sweep": "flows.mi_sweep:mi_sweep",
    "decoding": "flows.decoding:decoding",
    "rl_run": "flows.rl_run:rl_run",
    "checkpoints": "flows.checkpoints:checkpoints",
    "report": "flows.report:report",
    "nightly": "flows.nightly:nightly",
}


def _flow(name: str) -> Callable[..., Any]:
    if name not in FLOWS:
        raise InfopipeError("run", f"unknown flow {name!r} (known: {', '.join(FLOWS)})")
    module, attr = FLOWS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def _run(args: argparse.Namespace) -> None:
    params = load_params(args.params, args.set)  # bad params fail here, in one line, before Prefect starts
    from flows.runtime import quiet_user_errors, task_runner

    quiet_user_errors()
    flow = _flow(args.flow).with_options(task_runner=task_runner(params))  # type: ignore[attr-defined]
    result = flow(params_file=args.params, overrides=args.set)
    print(json.dumps(result, indent=2, sort_keys=True, default=str))


def _bench(args: argparse.Namespace) -> None:
    from tasks.bench import BENCHMARKS
    from tasks.io import write_json

    params = load_params(args.params, args.set)
    figures = BENCHMARKS.get(args.name)(params)
    path = write_json(Path(args.out or f"reports/bench/{args.name}.json"), figures)
    print(f"wrote {path}")


def _params(args: argparse.Namespace) -> None:
    print(json.dumps(load_params(args.params, args.set).model_dump(mode="json"), indent=2))


def _compare(args: argparse.Namespace) -> None:
    from tasks.compare import side_by_side

    print(side_by_side(args.job, args.n))


def _serve(args: argparse.Namespace) -> None:
    from flows.deployments import serve

    serve(args.deployments, args.params, args.set)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="infopipe", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    common.add_argument(
        "-S",
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a param, as `dvc exp run -S`",
    )
    run = sub.add_parser("run", parents=[common], help="run a flow (a DVC stage)")
    run.add_argument("flow", help=f"one of: {', '.join(FLOWS)}")
    run.set_defaults(func=_run)
    bench = sub.add_parser("bench", parents=[common], help="run a benchmark, write reports/bench/<name>.json")
    bench.add_argument("name")
    bench.add_argument("--out", help="where to write the JSON")
    bench.set_defaults(func=_bench)
    show = sub.add_parser("params", parents=[common], help="validate params and print them resolved")
    show.set_defaults(func=_params)
    compare = sub.add_parser("compare", help="print a job's latest MLflow runs side by side")
    compare.add_argument("job")
    compare.add_argument("-n", type=int, default=5, help="how many runs (default 5)")
    compare.set_defaults(func=_compare)
    serve = sub.add_parser("serve", help="serve prefect.yaml's deployments here (no server needed)")
    serve.add_argument("deployments", nargs="*", help="deployment names of prefect.yaml (default: all)")
    # Its own --params: `common`'s default would replace each deployment's params file.
    serve.add_argument("--params", help="params file of every deployment (default: each one's own)")
    serve.add_argument(
        "-S",
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="a param override, as `dvc exp run -S`",
    )
    serve.set_defaults(func=_serve)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except InfopipeError as err:
        print(f"infopipe: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
