"""A real `mlflow server` (SQLite store, proxied artifacts) as GPU workers would log to it: the
world flow and a parent run with sweep cells log through HTTP, the REST API reads them back, and
`infopipe compare` prints them. The server listens on 127.0.0.1 only."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from flows.world import world
from tasks import tracking

from ..conftest import ROOT
from .conftest import fresh_workdir
from .test_cli import assert_one_line_error, infopipe

MLFLOW = Path(sys.executable).parent / "mlflow"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    return body if url.endswith("/health") else json.loads(body)


def _post(url: str, payload: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode())


def _start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen(
        [
            str(MLFLOW), "server", "--backend-store-uri", f"sqlite:///{tmp / 'm.db'}",
            "--artifacts-destination", str(tmp / "art"), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1",
        ],
        cwd=tmp, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(
                f"mlflow server exited {server.returncode}: {(tmp / 'server.log').read_text()}"
            )
        try:
            if _get(f"{url}/health").strip() == "OK":
                return server, url
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"mlflow server not healthy after 180 s: {(tmp / 'server.log').read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """The server and its workers (its own process group)."""
    try:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, 9)
        server.wait(timeout=30)


def _listening(server: subprocess.Popen[bytes]) -> set[tuple[str, int]]:
    root = psutil.Process(server.pid)
    addresses = set()
    for proc in [root, *root.children(recursive=True)]:
        for conn in proc.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                addresses.add((conn.laddr.ip, conn.laddr.port))
    return addresses


def _outside_ip() -> str | None:
    """This machine's address on its default route, if it has one besides loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # UDP: no packet is sent
            ip = str(s.getsockname()[0])
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


def _as_dict(entries: list[dict[str, Any]], field: str = "value") -> dict[str, Any]:
    return {e["key"]: e[field] for e in entries}


@pytest.mark.slow  # ~40 s: a real `mlflow server` process
def test_flows_log_to_a_real_server_and_compare_reads_it(tmp_path, monkeypatch):
    server, url = _start_server(tmp_path)
    try:
        port = int(url.rsplit(":", 1)[1])
        listening = _listening(server)
        assert ("127.0.0.1", port) in listening
        assert {ip for ip, _ in listening} == {"127.0.0.1"}, listening
        outside = _outside_ip()
        if outside:
            with pytest.raises(OSError), socket.create_connection((outside, port), timeout=3):
                pass

        (tmp_path / "work").mkdir()
        with fresh_workdir(tmp_path / "work"), pytest.MonkeyPatch.context() as patch:
            patch.setenv("MLFLOW_TRACKING_URI", url)
            for organisations in (30, 20):
                world(
                    params_file=str(ROOT / "params.yaml"),
                    overrides=[
                        f"world.train.organisations={organisations}",
                        "world.heldout.organisations=10",
                    ],
                )
            with tracking.flow_run("sweep_demo", {"sweep": {"rate": 0.5}}, {"profile": "cpu"}) as run:
                parent_id = run.id
                for cell in ("a", "b"):
                    with run.child(cell, {"cell": cell}) as child:
                        child.log_metrics({"mi": 0.5})
        assert not (tmp_path / "work" / "mlflow.db").exists()  # everything went to the server

        api = f"{url}/api/2.0/mlflow"
        experiment = _get(f"{api}/experiments/get-by-name?experiment_name=world")["experiment"]
        runs = _post(f"{api}/runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
        assert len(runs) == 2
        for r in runs:
            assert r["info"]["status"] == "FINISHED"
            assert {"entities", "distractor_share"} <= set(_as_dict(r["data"]["metrics"]))
            tags = _as_dict(r["data"]["tags"])
            assert tags["job"] == "world" and tags["profile"] == "cpu"
            assert {"version.mlflow", "version.prefect", "version.polars", "git.commit"} <= set(tags)
            assert "mlflow.parentRunId" not in tags
        organisations = sorted(_as_dict(r["data"]["params"])["world.train.organisations"] for r in runs)
        assert organisations == ["20", "30"]
        assert list((tmp_path / "art").rglob("metrics.json"))  # artifacts proxied to the server's store

        sweep = _get(f"{api}/experiments/get-by-name?experiment_name=sweep_demo")["experiment"]
        cells = _post(f"{api}/runs/search", {"experiment_ids": [sweep["experiment_id"]], "max_results": 10})[
            "runs"
        ]
        children = [r for r in cells if "mlflow.parentRunId" in _as_dict(r["data"]["tags"])]
        assert len(cells) == 3 and len(children) == 2
        assert {_as_dict(r["data"]["tags"])["mlflow.parentRunId"] for r in children} == {parent_id}
        assert {_as_dict(r["data"]["metrics"])["mi"] for r in children} == {0.5}

        env = {**os.environ, "MLFLOW_TRACKING_URI": url}
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "compare", "world", "-n", "5"],
            cwd=tmp_path / "work", env={**env, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        rows = {ln.split()[0]: ln.split()[1:] for ln in done.stdout.splitlines() if ln.strip()}
        assert set(rows["run"]) == {r["info"]["run_id"][:8] for r in runs}
        assert rows["world.train.organisations"] == ["20", "30"]  # newest first
        assert "entities" in rows and "distractor_share" in rows
        assert "world.heldout.organisations" not in rows  # equal in both runs

        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)  # infopipe() passes the environment on
        missing = infopipe("compare", "nope", cwd=tmp_path / "work")
        assert_one_line_error(missing, "compare nope", "no MLflow experiment 'nope'", "sweep_demo, world")
    finally:
        _stop(server)
