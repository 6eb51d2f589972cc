import json

import polars as pl

from flows.corpus import corpus
from tasks import tracking

from ..conftest import ROOT
from ..unit.test_corpus import DEBIAN, needs_debs


@needs_debs
def test_corpus_flow_writes_documents_and_chunks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    overrides = [f"corpus.debian_root={DEBIAN}", "corpus.sources=[reuters]"]
    metrics = corpus(params_file=str(ROOT / "params.yaml"), overrides=overrides)
    assert metrics["reuters"]["documents"] == 70 and metrics["skipped"] == []
    chunks = pl.read_parquet(tmp_path / "data/corpus/chunks.parquet")
    assert chunks.height == metrics["reuters"]["chunks"] and set(chunks["source"]) == {"reuters"}
    assert json.loads((tmp_path / "reports/corpus/metrics.json").read_text()) == metrics
    (run,) = tracking.search("corpus")
    assert run["metrics"]["reuters.words"] == metrics["reuters"]["words"] and run["tags"]["skipped"] == "none"
