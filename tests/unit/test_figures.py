"""The committed figures of the last cold reproduction (`infopipe bench repro`, then `make adopt`):
reports/bench/repro.json holds every key issue 25 names and a time for every stage of dvc.yaml, the
README states those times, and the report links every job to its MLflow run."""

import json
import re

import yaml

from ..conftest import ROOT

REPRO = ROOT / "reports/bench/repro.json"
RUN_LINK = re.compile(r"\[run\]\((?P<ui>[^)#]+)/#/experiments/\d+/runs/[0-9a-f]{32}\)")


def _repro() -> dict:
    return json.loads(REPRO.read_text())


def test_repro_json_times_every_stage_and_a_noop_reproduction():
    repro = _repro()
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert set(repro["stage_seconds"]) == set(stages)
    assert sum(repro["stage_seconds"].values()) <= repro["cpu_profile_seconds"]
    assert repro["noop_stages_run"] == 0 and repro["status_clean_after"]
    assert repro["noop_repro_seconds"] > 0 and repro["peak_rss_mb"] > 0
    assert re.fullmatch(r"[0-9a-f]{40}", repro["commit"]) and repro["profile"] == "cpu"


def test_the_readme_states_the_measured_times():
    repro, readme = _repro(), (ROOT / "README.md").read_text()
    first = readme.split("\n## ", 2)[1]  # "The two commands": the first thing a newcomer reads
    assert f"**{round(repro['cpu_profile_seconds'] / 60)} min**" in first
    assert f"{repro['noop_repro_seconds']:.1f} s" in first
    assert f"{round(repro['peak_rss_mb']):,} MB" in first


def test_the_report_links_every_job_to_an_mlflow_run():
    jobs = yaml.safe_load((ROOT / "params.yaml").read_text())["report"]["jobs"]
    rows = {
        line.split("](#")[0].removeprefix("| ["): line
        for line in (ROOT / "reports/index.md").read_text().splitlines()
        if line.startswith("| [")
    }
    for job in jobs:
        found = RUN_LINK.search(rows[job])
        assert found, f"{job} has no MLflow run link in reports/index.md"
