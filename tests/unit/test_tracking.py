"""tasks.tracking against a real MLflow SQLite store in a temporary directory."""

import pytest

from tasks import tracking


def test_parent_and_children_with_params_tags_artifacts(store):
    report = store / "metrics.json"
    report.write_text('{"acc": 1}')
    config = {
        "generate": {"sampling": {"max_tokens": 8}},
        "hub_token": "x",
        "api": {"key": 1},
        "note": "hf_abcdefghijklmnopqrstuvwxyz",
    }
    with tracking.flow_run("demo", config, {"profile": "cpu", "engine": "dummy"}) as run:
        run.log_metrics({"acc": 0.5, "label": "skipped"})
        run.log_artifact(report)
        for cell in ("a", "b"):
            with run.child(cell, {"cell": cell}) as child:
                child.log_metrics({"acc": 0.1})
    assert (store / "mlflow.db").is_file()
    runs = tracking.search("demo")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r["tags"])
    children = [r for r in runs if r["tags"].get("mlflow.parentRunId") == parent["run_id"]]
    assert len(children) == 2
    assert {c["params"]["cell"] for c in children} == {"a", "b"}
    assert parent["params"]["generate.sampling.max_tokens"] == "8"
    assert not {"hub_token", "api.key", "note"} & set(parent["params"])
    assert parent["metrics"] == {"acc": 0.5}
    tags = parent["tags"]
    assert tags["profile"] == "cpu" and tags["engine"] == "dummy" and tags["job"] == "demo"
    assert {"git.commit", "git.dirty", "hardware", "version.mlflow", "version.transformers"} <= set(tags)
    artifacts = store / "mlartifacts" / "demo"
    assert list(artifacts.rglob("metrics.json"))
    assert parent["status"] == "FINISHED"


def test_crashed_flow_ends_failed_with_the_error(store):
    with pytest.raises(ValueError), tracking.flow_run("demo", {}, {}):
        raise ValueError("engine died")
    (run,) = tracking.search("demo")
    assert run["status"] == "FAILED"
    assert run["tags"]["error"] == "ValueError: engine died"


def test_a_token_quoted_by_an_error_is_not_logged(store):
    token = "hf_" + "x1" * 12
    with pytest.raises(OSError), tracking.flow_run("demo", {}, {}):
        raise OSError(f"401 for https://huggingface.co with token {token}")
    (run,) = tracking.search("demo")
    assert run["tags"]["error"] == "OSError: 401 for https://huggingface.co with token <redacted>"
    assert token.encode() not in (store / "mlflow.db").read_bytes()


def test_tracking_uri_env_wins(store, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'other.db'}")
    with tracking.flow_run("demo", {}, {}):
        pass
    assert (store / "other.db").is_file() and not (store / "mlflow.db").exists()
