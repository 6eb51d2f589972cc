"""`infopipe bench repro`'s machinery on a small real git + DVC repository: a clean clone that
shares the source's cache, a forced reproduction timed per stage with the peak RSS of the process
tree, and a second reproduction that runs nothing."""

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from tasks.bench.adoption import adopt
from tasks.bench.registry import user_env
from tasks.bench.repro import measure
from tasks.errors import InfopipeError

# Stage `big` holds ~256 MB in a grandchild process (dvc -> sh -> python): the tree's peak sees it.
BIG = "import time; b = bytearray(2**28); time.sleep(2); open('big.txt', 'w').write('big')"
DVC_YAML = f"""
stages:
  small:
    cmd: echo small > small.txt
    outs: [small.txt]
  big:
    cmd: {sys.executable} -c "{BIG}"
    deps: [small.txt]
    outs: [big.txt]
"""


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.heavy  # ~10 s: git clone, dvc repro twice
def test_a_clean_clone_reproduces_every_stage_then_nothing(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    _git(source, "init", "-q")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=source, check=True)
    (source / "dvc.yaml").write_text(DVC_YAML)
    _git(source, "add", "-A")
    _git(source, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pipeline")

    figures = measure(source, tmp_path / "clone")

    assert set(figures["stage_seconds"]) == {"small", "big"}
    assert figures["stage_seconds"]["big"] >= 2.0
    assert figures["cpu_profile_seconds"] >= sum(figures["stage_seconds"].values()) - 0.5
    assert figures["peak_rss_mb"] > 256
    assert figures["noop_stages_run"] == 0 and figures["status_clean_after"]
    assert (tmp_path / "clone" / "big.txt").read_text() == "big"
    # Outputs went to the source's cache: a `dvc checkout` there could use them.
    assert any((source / ".dvc" / "cache").rglob("*"))


# A stage as the pipeline's are: an MLflow run with an artifact, a git-tracked metrics file and a
# cached output, each different on every run (the clock), so adoption is seen to take the clone's.
STAGE = """
import json, time
from tasks import tracking
stamp = time.time_ns()
open("out.txt", "w").write(str(stamp))
with tracking.flow_run("job", {}, {}) as run:
    run.log_artifact("out.txt")
json.dump({"stamp": stamp, "run": run.id}, open("metrics.json", "w"))
"""
TRACKED_DVC_YAML = f"""
stages:
  job:
    cmd: {sys.executable} stage.py
    deps: [stage.py]
    outs: [out.txt]
    metrics: [metrics.json: {{cache: false}}]
"""


@pytest.mark.heavy  # ~30 s: two reproductions that import MLflow
def test_adopting_the_clone_makes_its_outputs_and_runs_the_checkouts(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    _git(source, "init", "-q")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=source, check=True)
    (source / ".gitignore").write_text("mlflow.db\nmlartifacts/\n.cache/\n")
    (source / "stage.py").write_text(STAGE)
    (source / "dvc.yaml").write_text(TRACKED_DVC_YAML)
    subprocess.run(["dvc", "repro", "-q"], cwd=source, check=True, env=user_env())
    _git(source, "add", "-A")
    _git(source, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "figures")
    before = json.loads((source / "metrics.json").read_text())

    measure(source, tmp_path / "clone")
    done = adopt(tmp_path / "clone", source)

    after = json.loads((source / "metrics.json").read_text())
    assert after == json.loads((tmp_path / "clone" / "metrics.json").read_text()) != before
    assert (source / "out.txt").read_text() == str(after["stamp"])  # checked out of the shared cache
    assert done["clean"] and done["copied"] == ["metrics.json"]  # out.txt is cached, not copied
    assert (source / done["store_kept_in"] / "mlflow.db").is_file()  # the old store is kept
    client = mlflow.MlflowClient(f"sqlite:///{source / 'mlflow.db'}")
    run = client.get_run(after["run"])  # the metrics' run is in this checkout's store now
    assert run.info.artifact_uri.startswith((source / "mlartifacts").as_uri())
    fetched = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id,
        artifact_path="out.txt",
        tracking_uri=f"sqlite:///{source / 'mlflow.db'}",
        dst_path=str(tmp_path / "fetched"),
    )
    assert Path(fetched).read_text() == str(after["stamp"])


def test_a_clone_whose_code_changed_since_is_not_adopted(tmp_path):
    source, clone = tmp_path / "source", tmp_path / "clone"
    source.mkdir()
    _git(source, "init", "-q")
    (source / "stage.py").write_text("print(1)\n")
    (source / "dvc.lock").write_text("stages:\n  job:\n    deps:\n    - path: stage.py\n")
    _git(source, "add", "-A")
    _git(source, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    _git(tmp_path, "clone", "-q", str(source), str(clone))
    (clone / "mlflow.db").write_text("")
    (source / "stage.py").write_text("print(2)\n")  # the code changed after the clone ran
    with pytest.raises(
        InfopipeError, match=r"clone: stage\.py changed since the commit it ran \([0-9a-f]{7}\)"
    ):
        adopt(clone, source)
    assert not (source / "mlflow.db").exists()  # nothing taken
