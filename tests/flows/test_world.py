import json

import polars as pl

from flows.world import world
from tasks import tracking

from ..conftest import ROOT


def test_world_flow_writes_tables_metrics_and_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    overrides = ["world.train.organisations=30", "world.heldout.organisations=10"]
    metrics = world(params_file=str(ROOT / "params.yaml"), overrides=overrides)
    assert metrics["documents"] == {"train": 30, "heldout": 10}
    for name in ("documents", "entities", "facts", "questions"):
        assert pl.read_parquet(tmp_path / f"data/world/{name}.parquet").height > 0
    assert json.loads((tmp_path / "reports/world/metrics.json").read_text()) == metrics
    (run,) = tracking.search("world")
    assert run["status"] == "FINISHED" and run["params"]["world.train.organisations"] == "30"
