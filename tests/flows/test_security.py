"""Planted credentials never reach the MLflow store: a token in the environment, secrets in params
overrides (as a tag value, and as keys and values of rl_run.trl, which passes free-form arguments
to TRL). The world flow runs for real; rl_run's parent run is logged as flows/rl_run.py logs it
(training itself is minutes long). Then every byte of the SQLite file and of every artifact is
scanned for the secrets."""

import secrets
import string

from flows.runtime import run_tags
from flows.world import world
from tasks import tracking
from tasks.params import load_params

from ..conftest import ROOT
from .conftest import fresh_workdir


def _token(prefix: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(30))


def test_no_secret_reaches_the_mlflow_store(tmp_path, monkeypatch):
    hf_token, api_key, hub_token, value_only = _token("hf_"), _token("sk-"), _token("hf_"), _token("sk-")
    planted = [hf_token, api_key, hub_token, value_only]
    monkeypatch.setenv("HF_TOKEN", hf_token)
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    trl = f"rl_run.trl={{api_key: {api_key}, hub_token: {hub_token}, run_name: {value_only}}}"
    with fresh_workdir(tmp_path):
        overrides = ["world.train.organisations=20", "world.heldout.organisations=5", f"profile={value_only}"]
        world(params_file=str(ROOT / "params.yaml"), overrides=overrides)
        params = load_params(ROOT / "params.yaml", [trl])
        assert params.rl_run.trl["api_key"] == api_key  # the override went through
        config = params.rl_run
        with tracking.flow_run(
            "rl_run", config.model_dump(), run_tags(params, engine="trl", models=[config.model])
        ):
            pass
        (world_run,) = tracking.search("world")
        (rl_run,) = tracking.search("rl_run")
    assert world_run["status"] == "FINISHED" and "profile" not in world_run["tags"]
    assert not {"trl.api_key", "trl.hub_token", "trl.run_name"} & set(rl_run["params"])
    assert rl_run["params"]["model"] == config.model  # the rest of the config is there

    store = [tmp_path / "mlflow.db", *sorted((tmp_path / "mlartifacts").rglob("*"))]
    store += sorted(tmp_path.glob("mlflow.db-*"))  # a journal or WAL, if SQLite left one
    files = [p for p in store if p.is_file()]
    assert len(files) >= 5  # the database, the world tables and metrics.json
    for path in files:
        data = path.read_bytes()
        for secret in planted:
            assert secret.encode() not in data, f"{path.relative_to(tmp_path)} holds a planted secret"
