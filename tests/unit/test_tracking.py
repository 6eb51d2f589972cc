"""MLflow as its users expect: typed experiments, runs named for what they are, killed runs ended."""

import os
import platform
import subprocess

import mlflow

from tasks import tracking


def test_experiments_are_typed_and_runs_named_for_stage_profile_and_commit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient(tracking.tracking_uri())
    client.create_experiment("compression")  # made by an older version: no kind
    for job in ("decoding", "compression"):
        with tracking.flow_run(job, {}, {"profile": "cpu"}) as run:
            pass
        experiment = client.get_experiment(run.experiment_id)
        # MLflow 3's UI opens an untyped experiment on its GenAI Traces page
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        name = client.get_run(run.id).info.run_name
        assert name == f"{job} cpu {tracking.git_state()['git.commit'][:7]}", name
        assert "ATEN_CPU_CAPABILITY=avx2" in client.get_run(run.id).data.tags["kernels"]


def test_a_killed_run_is_ended_as_failed_by_the_next_run_of_its_job(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient(tracking.tracking_uri())
    with tracking.flow_run("decoding", {}, {"profile": "cpu"}) as first:
        pass
    gone = subprocess.Popen(["true"])
    gone.wait()  # a SIGKILLed flow's process: its run stays RUNNING
    here = platform.node()
    killed = client.create_run(first.experiment_id, tags={"host": here, "pid": str(gone.pid)})
    alive = client.create_run(first.experiment_id, tags={"host": here, "pid": str(os.getppid())})
    elsewhere = client.create_run(first.experiment_id, tags={"host": "gpu-worker-7", "pid": "1"})
    with tracking.flow_run("decoding", {}, {"profile": "cpu"}):
        pass
    status = {r: client.get_run(r.info.run_id).info.status for r in (killed, alive, elsewhere)}
    assert status[killed] == "FAILED"
    assert "killed" in client.get_run(killed.info.run_id).data.tags["error"]
    assert status[alive] == "RUNNING" and status[elsewhere] == "RUNNING"  # may still be working


def test_a_commit_is_dirty_for_changed_code_not_for_what_the_pipeline_rewrites(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for path in ("dvc.lock", "reports/world/metrics.json", "tasks/world.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    monkeypatch.chdir(tmp_path / "tasks")  # a stage may run below the root
    (tmp_path / "dvc.lock").write_text("2\n")  # dvc repro rewrites its lock and the metrics
    (tmp_path / "reports/world/metrics.json").write_text("2\n")
    assert tracking.git_state()["git.dirty"] == "false"
    (tmp_path / "tasks/world.py").write_text("2\n")
    assert tracking.git_state()["git.dirty"] == "true"
