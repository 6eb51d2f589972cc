"""dvc.yaml follows the naming rule, and (slow) `dvc repro` works from a clean clone."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.cli import FLOWS, flow_module
from flows.params import read
from tasks.config.models import model_refs
from tasks.params import Params

from ..conftest import MODEL_CACHE, ROOT

# Outputs at the top of reports/: the page over every job (stage `report`).
SHARED = ("profile", "models", "engine")  # sections every stage loads; a stage's own name its models
TOP_LEVEL = {"report": ("reports/index.md", "reports/index.html", "reports/regressions.md")}
# Stages whose part stores a killed `dvc repro` keeps (DVC otherwise deletes outputs before a run).
RESUMED = ("entigraph", "mi_sweep")


def test_stage_names_match_flows_and_params_sections():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert set(stages) == set(FLOWS) - {"nightly"}  # nightly runs the stages' flows; it is none itself
    for name, stage in stages.items():
        assert stage["cmd"] == f"infopipe run {name}"
        assert f"flows/{name}.py" in stage["deps"]
        assert name in Params.model_fields
        # A stage's params are exactly the sections its flow loads (its <Job>Params; the profile is a
        # tag), `models` narrowed to the members it names.
        sections = {param.split(".")[0] for param in stage["params"]}
        assert sections == set(flow_module(name).PARAMS.model_fields) - {"profile"}, name
        for out in stage.get("outs", []):  # DVC-cached data, or a report kept in git
            if isinstance(out, dict) and out.get(f"data/{name}") == {"persist": True}:
                assert name in RESUMED, name
            elif isinstance(out, dict):
                path, options = next(iter(out.items()))
                assert path.startswith((f"reports/{name}/", *TOP_LEVEL.get(name, ()))), path
                assert options == {"cache": False}
            else:
                assert out.startswith(f"data/{name}")
        for metrics in stage.get("metrics", []):
            path, options = next(iter(metrics.items()))
            assert path.startswith(f"reports/{name}/") and options == {"cache": False}


def test_the_long_stages_keep_their_parts_across_a_killed_repro():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name in RESUMED:
        assert {f"data/{name}": {"persist": True}} in stages[name]["outs"], name


def test_each_stage_depends_on_the_family_members_it_names():
    """A change to one member re-runs the stages that use it, not every stage below `models`."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    made = {out for out in stages["models"]["outs"] if isinstance(out, str)}
    assert "data/models" not in made  # one folder per member, so each has its own hash
    for name, stage in stages.items():
        if name == "models":
            assert "models" in stage["params"]  # it makes them all
            continue
        module = flow_module(name)
        params = read(module.PARAMS, ROOT / "params.yaml", [])
        named = {
            ref
            for section in module.PARAMS.model_fields
            if section not in SHARED
            for _, ref in model_refs(getattr(params, section))
        }
        assert {p for p in stage["params"] if p.startswith("models")} == {f"models.{n}" for n in named}, name
        reads = {d for d in stage["deps"] if d.startswith("data/models")}
        if reads:  # checkpoints reads its models from rl_run: it names world-m for settings only
            local = {params.models[n].path for n in named} & made
            assert reads == local, name


def test_dvc_metrics_and_plots_show_read_every_committed_file(tmp_path):
    """`dvc metrics show` and `dvc plots show` as users run them, on the committed reports."""
    dvc = [str(Path(sys.executable).parent / "dvc")]
    metrics = subprocess.run([*dvc, "metrics", "show", "--json"], cwd=ROOT, capture_output=True, text=True)
    shown = ["plots", "show", "--json", "-o", str(tmp_path / "dvc_plots")]  # its PNG copies go there
    plots = subprocess.run([*dvc, *shown], cwd=ROOT, capture_output=True, text=True)
    assert metrics.returncode == 0 and plots.returncode == 0, metrics.stderr + plots.stderr
    read = json.loads(metrics.stdout)[""]["data"]
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for entry in stage.get("metrics", []):
            path = next(iter(entry))
            assert "data" in read[path] and read[path]["data"], (name, read[path])
        for entry in stage.get("plots", []):
            path = next(iter(entry))
            shown = json.loads(plots.stdout)["data"]
            assert any(key == path or key.startswith(f"{path}/") for key in shown), (name, path)
    assert "reports/reliability.json" in read  # a top-level metric of dvc.yaml


@pytest.mark.slow
def test_dvc_repro_from_a_clean_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    if (MODEL_CACHE / "model.safetensors").is_file():  # spare the 40 s conversion, keep its stage
        (clone / "data/models").mkdir(parents=True)
        shutil.copytree(MODEL_CACHE, clone / "data/models" / MODEL_CACHE.name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("PREFECT_API_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    dvc = [str(Path(sys.executable).parent / "dvc")]
    first = subprocess.run([*dvc, "repro"], cwd=clone, env=env, capture_output=True, text=True, timeout=1200)
    assert first.returncode == 0, first.stdout + first.stderr
    metrics = json.loads((clone / "reports/generate/metrics.json").read_text())
    assert metrics["prompts"] == len(
        yaml.safe_load((clone / "params.yaml").read_text())["generate"]["prompts"]
    )
    assert (clone / "data/generate/generations.parquet").is_file() and (clone / "mlflow.db").is_file()
    family = json.loads((clone / "reports/models/metrics.json").read_text())
    assert set(family["single_hop_accuracy"]) == {"world-s", "world-m", "world-l"}
    again = subprocess.run([*dvc, "repro"], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "up to date" in again.stdout
