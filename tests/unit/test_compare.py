"""`infopipe compare`'s table from a real MLflow SQLite store in a temporary directory."""

import mlflow
import pytest

from tasks import tracking
from tasks.compare import side_by_side
from tasks.errors import InfopipeError


def _flow_run(rate: float, profile: str, acc: float) -> str:
    config = {"demo": {"rate": rate, "seed": 0, "model": "world-s"}}
    with tracking.flow_run("demo", config, {"profile": profile}) as run:
        run.log_metrics({"acc": acc, "seconds": 12.5})
        for cell in ("a", "b"):
            with run.child(cell, {"cell": cell, "secret_cell_param": 1}) as child:
                child.log_metrics({"cell_only_metric": 0.1})
        return run.id


def test_latest_parent_runs_side_by_side(store):
    ids = [_flow_run(0.5, "cpu", 0.25), _flow_run(0.7, "cpu", 0.5), _flow_run(0.7, "gpu", 0.75)]
    lines = side_by_side("demo", 2).splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines if not line.startswith("-")}
    assert rows["run"] == [ids[2][:8], ids[1][:8]]  # newest first, only the latest two
    assert rows["status"] == ["FINISHED", "FINISHED"]
    assert rows["profile"] == ["gpu", "cpu"]
    assert rows["acc"] == ["0.75", "0.5"] and rows["seconds"] == ["12.5", "12.5"]
    commit = rows["git"][1]  # "git commit <c> <c>"
    assert len(commit.removesuffix("+dirty")) == 8 or commit == "unknown"
    # Params equal across the two runs (rate 0.7 twice, seed, model) are collapsed.
    assert "demo.rate" not in rows and "demo.seed" not in rows
    assert lines[-1] == "demo: 2 run(s); 3 param(s) equal across them not shown"
    # Child runs are neither columns nor rows.
    assert "cell_only_metric" not in rows and "cell" not in rows
    assert len(lines[0].split()) == 3


def test_differing_params_get_a_row(store):
    ids = [_flow_run(0.5, "cpu", 0.25), _flow_run(0.7, "cpu", 0.25)]
    rows = {ln.split()[0]: ln.split()[1:] for ln in side_by_side("demo", 5).splitlines()}
    assert rows["run"] == [ids[1][:8], ids[0][:8]]
    assert rows["demo.rate"] == ["0.7", "0.5"]
    assert "demo.seed" not in rows


def test_failed_run_shows_its_status(store):
    with pytest.raises(RuntimeError), tracking.flow_run("demo", {"x": 1}, {}):
        raise RuntimeError("boom")
    rows = {ln.split()[0]: ln.split()[1:] for ln in side_by_side("demo", 5).splitlines()}
    assert rows["status"] == ["FAILED"] and rows["profile"] == ["-"]


def test_unknown_job_names_it_and_creates_no_store(store):
    with pytest.raises(InfopipeError, match=r"compare nope: no MLflow experiment 'nope'.*known: none yet"):
        side_by_side("nope", 5)
    assert not (store / "mlflow.db").exists()
    _flow_run(0.5, "cpu", 0.25)
    with pytest.raises(InfopipeError, match=r"'nope'.*\(known: demo\)"):
        side_by_side("nope", 5)


def test_experiment_without_runs(store):
    mlflow.set_tracking_uri(tracking.tracking_uri())
    mlflow.create_experiment("empty")
    with pytest.raises(InfopipeError, match="compare empty: MLflow experiment 'empty' has no runs"):
        side_by_side("empty", 5)


def test_n_below_one(store):
    with pytest.raises(InfopipeError, match="compare -n: must be at least 1, got 0"):
        side_by_side("demo", 0)
