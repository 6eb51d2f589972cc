"""The `report` flow over copies of the repo's real reports, opened in headless Chromium."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread

from flows.report import report
from tasks import tracking

from ..conftest import ROOT
from .conftest import fresh_workdir

COPIED = ("compression", "checkpoints")
# Added to a copy of the page only: the page itself has no scripts. After load, it writes how many
# images decoded into the DOM that --dump-dom prints.
PROBE = """<script>addEventListener("load", () => { const all = [...document.images];
document.body.dataset.decoded = all.filter(i => i.complete && i.naturalWidth > 0).length + "/" + all.length;
});</script>"""


@pytest.fixture
def workdir(tmp_path) -> Path:
    (tmp_path / "work").mkdir()
    with fresh_workdir(tmp_path / "work") as path:
        for job in COPIED:
            shutil.copytree(ROOT / "reports" / job, path / "reports" / job)
        series = ROOT / "data/checkpoints/series.parquet"  # DVC-cached: absent in a fresh clone
        (path / "data/checkpoints").mkdir(parents=True)
        if series.is_file():
            shutil.copy(series, path / "data/checkpoints")
        else:
            pl.DataFrame({"step": [0, 10], "reward": [0.11, 0.12]}).write_parquet(
                path / "data/checkpoints/series.parquet"
            )
        yield path


def test_report_page_over_real_reports_renders_in_chromium(workdir, tmp_path):
    with tracking.flow_run("checkpoints", {}, {}) as run:
        pass
    summary = report(params_file=str(ROOT / "params.yaml"))

    assert summary["ran"] == ["compression", "checkpoints"]
    assert summary["not_run"] == ["entigraph", "mi_sweep", "decoding"]
    assert "checkpoints" not in summary["no_mlflow_run"]
    page = (workdir / "reports/index.html").read_text()
    assert f"/#/experiments/{run.experiment_id}/runs/{run.id}" in page
    assert "<script" not in page
    assert (workdir / "reports/index.md").is_file()
    assert {p.name for p in (workdir / "mlartifacts/report").rglob("index.*")} == {"index.md", "index.html"}
    plots = sorted(p for job in COPIED for p in (workdir / "reports" / job).glob("*.png"))

    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed (`make install` installs it with apt-get)")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    dom = chromium(browser, tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe)
    for job in ("compression", "entigraph", "mi_sweep", "decoding", "checkpoints"):
        assert f"<h2>{job}<span" in dom
    assert f'data-decoded="{len(plots)}/{len(plots)}"' in dom

    shot = tmp_path / "report.png"
    chromium(
        browser, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", workdir / "reports/index.html"
    )
    print(f"\nscreenshot of reports/index.html: {shot}")
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 0.05  # not blank
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100  # text and plots, not a flat page


def chromium(browser: str, scratch: Path, *args: str | Path) -> str:
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={scratch / 'chromium-profile'}",
            *[a if isinstance(a, str) else a.as_uri() for a in args],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
