"""A real MLflow SQLite store per test: the working directory is a fresh temporary folder."""

import mlflow
import pytest


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield tmp_path
    while mlflow.active_run():
        mlflow.end_run()
