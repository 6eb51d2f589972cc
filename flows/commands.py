"""The `infopipe` commands other than `run` (flows/cli.py imports this module when one is used)."""

import argparse
import json
from pathlib import Path

from flows.deployments import serve as serve_deployments
from tasks import deps as dvc_deps
from tasks.bench import BENCHMARKS
from tasks.compare import side_by_side
from tasks.io import write_json
from tasks.params import load_params


def bench(args: argparse.Namespace) -> None:
    figures = BENCHMARKS.get(args.name)(load_params(args.params, args.set))
    path = write_json(Path(args.out or f"reports/bench/{args.name}.json"), figures)
    print(f"wrote {path}")


def params(args: argparse.Namespace) -> None:
    print(json.dumps(load_params(args.params, args.set).model_dump(mode="json"), indent=2))


def compare(args: argparse.Namespace) -> None:
    print(side_by_side(args.job, args.n))


def serve(args: argparse.Namespace) -> None:
    serve_deployments(args.deployments, args.params, args.set)


def deps(args: argparse.Namespace) -> int:
    return dvc_deps.main(["--check" if args.check else "--write"])
