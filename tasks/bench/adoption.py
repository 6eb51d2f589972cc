"""Make the run of `infopipe bench repro` this checkout's own (`make adopt`).

The bench reproduces the whole profile cold in a clean clone (.cache/bench-repro) that shares this
checkout's DVC cache and keeps its own MLflow store. Adopting it copies the clone's dvc.lock, its
git-tracked outputs (metrics, plot data, the report) and its MLflow store here, then `dvc checkout`
brings the cached outputs from the shared cache. The committed figures, the report and the report's
run links then all come from that one `dvc repro`, and `dvc status` is clean.

The MLflow store moves with its artifacts: SQLite keeps absolute artifact URIs, so the clone's
mlartifacts/ prefix is rewritten to this checkout's. This checkout's previous store is kept in
.cache/mlflow-before-adopt/<UTC time>/, not deleted.
"""

import shutil
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tasks.bench.repro import CLONE, run_in
from tasks.errors import InfopipeError

STORE = ("mlflow.db", "mlartifacts")
KEPT = Path(".cache/mlflow-before-adopt")


def adopt(clone: Path, checkout: Path) -> dict[str, Any]:
    """Check that `clone` finished reproducing the code that is here, then take its outputs and store."""
    clone, checkout = clone.resolve(), checkout.resolve()
    if not (clone / "dvc.lock").is_file() or not (clone / "mlflow.db").is_file():
        raise InfopipeError(str(clone), "no reproduced clone here; run `infopipe bench repro` first")
    ran = _git_head(clone)
    moved = _changed_deps(checkout, ran, deps(clone))
    if moved:
        raise InfopipeError(
            str(clone),
            f"{moved[0]} changed since the commit it ran ({ran[:7]}); run `infopipe bench repro` again",
        )
    if run_in(clone, ["dvc", "status", "--quiet"], check=False).returncode != 0:
        raise InfopipeError(str(clone), "its `dvc status` is not clean: the reproduction did not finish")
    copied = [path for path in tracked_outs(clone) if _tracked(checkout, path)]
    for path in copied:
        _replace(clone / path, checkout / path)
    shutil.copy2(clone / "dvc.lock", checkout / "dvc.lock")
    kept = _move_store(checkout)
    for name in STORE:
        _replace(clone / name, checkout / name)
    rewritten = rewrite_artifact_uris(checkout / "mlflow.db", clone / "mlartifacts", checkout / "mlartifacts")
    checkout_done = run_in(checkout, ["dvc", "checkout", "--force"], check=False)
    if checkout_done.returncode != 0:
        raise InfopipeError("dvc checkout", (checkout_done.stderr.strip().splitlines() or ["failed"])[-1])
    clean = run_in(checkout, ["dvc", "status", "--quiet"], check=False).returncode == 0
    return {
        "commit": ran,
        "copied": copied,
        "store_kept_in": kept,
        "uris_rewritten": rewritten,
        "clean": clean,
    }


def tracked_outs(repo: Path) -> list[str]:
    """Every output path dvc.lock records, in stage order."""
    return [out["path"] for stage in _lock(repo).values() for out in stage.get("outs", [])]


def deps(repo: Path) -> list[str]:
    """What the recorded outputs were made from: dvc.yaml, each stage's deps and params files."""
    found = ["dvc.yaml"]
    for stage in _lock(repo).values():
        found += [dep["path"] for dep in stage.get("deps", [])] + list(stage.get("params", {}))
    return sorted(set(found))


def _lock(repo: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((repo / "dvc.lock").read_text(encoding="utf-8")).get("stages", {}))


def _changed_deps(checkout: Path, commit: str, paths: list[str]) -> list[str]:
    """The deps git-tracked here that differ between `commit` and the working tree."""
    done = run_in(checkout, ["git", "diff", "--name-only", commit, "--", *paths], check=False)
    if done.returncode != 0:
        raise InfopipeError(str(checkout), f"git diff against {commit[:7]}: {done.stderr.strip()[-200:]}")
    return done.stdout.split()


def rewrite_artifact_uris(db: Path, old: Path, new: Path) -> int:
    """Replace the artifact prefix `old` by `new` in every text column of the store; the rows changed."""
    changed = 0
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            columns = [r[1] for r in info if "CHAR" in r[2].upper() or r[2].upper() == "TEXT"]
            for column in columns:
                update = f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?)'
                changed += conn.execute(
                    f'{update} WHERE instr("{column}", ?) > 0', (str(old), str(new), str(old))
                ).rowcount
    return changed


def _move_store(checkout: Path) -> str | None:
    present = [checkout / name for name in STORE if (checkout / name).exists()]
    if not present:
        return None
    kept = checkout / KEPT / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept.mkdir(parents=True)
    for path in present:
        shutil.move(path, kept / path.name)
    return str(kept.relative_to(checkout))


def _replace(source: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


def _tracked(repo: Path, path: str) -> bool:
    return bool(run_in(repo, ["git", "ls-files", "--", path], check=False).stdout.strip())


def _git_head(repo: Path) -> str:
    return run_in(repo, ["git", "rev-parse", "HEAD"], check=False).stdout.strip()


def main() -> int:
    try:
        done = adopt(Path.cwd() / CLONE, Path.cwd())
    except InfopipeError as err:
        print(f"infopipe: error: {err}", file=sys.stderr)
        return 2
    print(yaml.safe_dump(done, sort_keys=False), end="")
    return 0 if done["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
