"""tasks.report: gathering and rendering a synthetic reports/ + data/ tree, run links from a real
MLflow SQLite store in a temporary directory."""

import base64
import json
import re
from pathlib import Path

import mlflow
import polars as pl
import pytest

from tasks import tracking
from tasks.errors import InfopipeError
from tasks.plots import line_plot
from tasks.report import html, markdown, page
from tasks.report.config import ReportConfig
from tasks.report.page import Section
from tasks.report.table import cell, preview

UI = "http://mlflow.example:5000"
CONFIG = ReportConfig(title="test report", jobs=["compression", "checkpoints", "decoding"], mlflow_ui=UI)


@pytest.fixture
def tree(store) -> Path:
    """compression: everything; checkpoints: metrics without data/; decoding: nothing (not run)."""
    tmp_path = store
    reports, data = tmp_path / "reports", tmp_path / "data"
    metrics = {
        "headline": {"beats_random": True, "gain": 0.125},
        "headline_met": False,
        "accuracy_at_2x": {"llmlingua2": 0.5},  # a mapping: not a headline
        "cells": 12,
        "note": "short | text",
    }
    (reports / "compression").mkdir(parents=True)
    (reports / "compression/metrics.json").write_text(json.dumps(metrics))
    (reports / "compression/summary.md").write_text("# compression\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    for name in ("accuracy", "span_retention"):
        line_plot(
            {name: [(1, 0.5), (2, 0.25)]},
            reports / f"compression/{name}.png",
            title=name,
            xlabel="x",
            ylabel="y",
        )
    (data / "compression").mkdir(parents=True)
    results = pl.DataFrame({"method": ["truncate"] * 30, "rate": [0.5] * 30, "ids": [[1, 2]] * 30})
    results.write_parquet(data / "compression/results.parquet")
    pl.DataFrame({"chunk": ["x"]}).write_parquet(data / "compression/labels.parquet")
    (reports / "checkpoints").mkdir()
    (reports / "checkpoints/metrics.json").write_text('{"law_r2": 0.7389, "checkpoints": 7}')
    yield tmp_path
    while mlflow.active_run():
        mlflow.end_run()


def test_every_job_has_a_section_with_headline_key_table_and_plots(tree):
    built = page.gather(CONFIG, {})
    text = html.render(built)
    for job in CONFIG.jobs:
        assert f'<section class="job{"" if job != "decoding" else " missing"}" id="{job}">' in text
        assert f"<h2>{job}<span" in text
    compression = built.jobs[0]
    assert list(compression.headline) == [
        "headline.beats_random",
        "headline.gain",
        "headline_met",
        "cells",
        "note",
    ]
    assert compression.key is not None and compression.key.path == Path("data/compression/results.parquet")
    assert compression.key.rows == 30 and len(compression.key.head) == 20
    assert compression.key.head[0] == ["truncate", "0.5", "[2 items]"]
    assert [t.path.name for t in compression.tables] == ["labels.parquet"]
    assert "data/compression/results.parquet: 30 rows x 3 columns (first 20 rows)" in text
    assert "<h3>Summary</h3>" in text and "<h3>compression</h3>" in text  # summary headings nest
    assert "short | text" in text
    assert built.summary() == {
        "jobs": 3,
        "ran": ["compression", "checkpoints"],
        "not_run": ["decoding"],
        "no_mlflow_run": ["compression", "checkpoints", "decoding"],
    }


def test_html_is_self_contained_with_plots_as_data_uris(tree):
    text = html.render(page.gather(CONFIG, {}))
    embedded = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', text)
    assert [name for name, _ in embedded] == ["accuracy", "span_retention"]
    for name, data in embedded:
        assert base64.b64decode(data) == (tree / f"reports/compression/{name}.png").read_bytes()
    assert not re.search(r"<script|<link|<iframe|<object|@import|url\(", text, re.IGNORECASE)
    assert not re.search(r'src="(?!data:image/png;base64,)', text)
    outside = re.findall(r'href="(https?://[^"]*)"', text)
    assert all(link.startswith(UI) for link in outside)


def test_a_job_without_metrics_shows_as_not_run(tree):
    built = page.gather(CONFIG, {})
    decoding = built.jobs[2]
    assert not decoding.ran and decoding.status == "not run yet" and not decoding.plots
    section = html.render(built).split('id="decoding">')[1].split("</section>")[0]
    assert "not run yet" in section and "<strong>Not run yet</strong>" in section
    assert "no MLflow run" in section
    md = markdown.render(built).split("## decoding")[1]
    assert "**Not run yet**" in md and "no MLflow run" in md


def test_missing_data_folder_is_said_not_raised(tree):
    checkpoints = page.gather(CONFIG, {}).jobs[1]
    assert checkpoints.ran and checkpoints.key is None
    assert checkpoints.notes == [
        "`data/checkpoints/` is not here (DVC-cached: `dvc pull` or `dvc repro checkpoints`)"
    ]
    assert "<code>data/checkpoints/</code> is not here" in html.render(page.gather(CONFIG, {}))


def test_markdown_links_plots_relative_to_reports(tree):
    text = markdown.render(page.gather(CONFIG, {}))
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert links == ["compression/accuracy.png", "compression/span_retention.png"]
    assert all((tree / "reports" / link).is_file() for link in links)
    for job in CONFIG.jobs:
        assert f"\n## {job}\n" in text and f"[{job}](#{job})" in text
    assert "| note | short \\| text |" in text
    assert "\n### compression\n" in text  # the summary's heading, pushed under the job's


def test_bad_metrics_json_is_a_one_line_error_naming_the_file(tree):
    (tree / "reports/compression/metrics.json").write_text('{"accuracy": 0.5,,}')
    with pytest.raises(InfopipeError) as err:
        page.gather(CONFIG, {})
    assert "reports/compression/metrics.json" in str(err.value)
    assert "not valid JSON" in str(err.value) and "\n" not in str(err.value)


def test_a_bad_parquet_table_names_the_file(tree):
    (tree / "data/compression/labels.parquet").write_text("not parquet")
    with pytest.raises(InfopipeError, match=r"labels\.parquet: not a readable parquet table") as err:
        page.gather(CONFIG, {})
    assert "\n" not in str(err.value)


def test_run_link_is_the_latest_finished_parent_run(tree):
    assert tracking.latest_finished("compression") is None
    with tracking.flow_run("compression", {}, {}) as parent, parent.child("cell") as child:
        child.log_metrics({"accuracy": 0.5})
    with pytest.raises(RuntimeError), tracking.flow_run("compression", {}, {}):
        raise RuntimeError("killed")
    found = tracking.latest_finished("compression")
    assert found == {"experiment_id": parent.experiment_id, "run_id": parent.id}
    runs = {job: tracking.latest_finished(job) for job in CONFIG.jobs}
    built = page.gather(CONFIG, runs)
    url = f"{UI}/#/experiments/{parent.experiment_id}/runs/{parent.id}"
    assert built.jobs[0].run_url == url and built.jobs[1].run_url is None
    text = html.render(built)
    assert f'<a href="{url}">MLflow run</a>' in text
    assert text.split('id="checkpoints">')[1].split("</section>")[0].count("no MLflow run") == 1
    assert f"[MLflow run]({url})" in markdown.render(built)


def test_extra_sections_follow_the_jobs(tree):
    (tree / "reports/regressions.md").write_text("# regressions\n\n- mi_sweep: accuracy fell 0.1\n")
    extra = [
        Section.from_file("Regressions", tree / "reports/regressions.md"),
        Section.from_file("Later", tree / "reports/later.md"),
    ]
    built = page.gather(CONFIG, {}, extra=extra)
    text = html.render(built)
    assert '<section class="extra" id="regressions"><h2>Regressions</h2>' in text
    assert "<li>mi_sweep: accuracy fell 0.1</li>" in text and '<a href="#regressions">' in text
    assert text.index('id="regressions"') > text.index('id="decoding"')
    assert "later.md</code> is not there yet" in text
    md = markdown.render(built)
    assert "\n## Regressions\n\n### regressions\n\n- mi_sweep: accuracy fell 0.1\n" in md


def test_summary_markdown_cannot_inject_html(tree):
    (tree / "reports/compression/summary.md").write_text('<script src="https://x.example/a.js"></script>\n')
    text = html.render(page.gather(CONFIG, {}))
    assert "<script" not in text and "&lt;script" in text


def test_cells_are_short_text():
    assert [cell(v) for v in (None, True, 0.123456, 3, [1, 2, 3], "a\n b")] == [
        "",
        "True",
        "0.1235",
        "3",
        "[3 items]",
        "a b",
    ]
    assert cell("x" * 100) == "x" * 39 + "…"


def test_preview_keeps_the_first_columns(tmp_path):
    path = tmp_path / "wide.parquet"
    pl.DataFrame({f"c{i}": [i] for i in range(20)}).write_parquet(path)
    wide = preview(path, rows=5, columns=4)
    assert wide.shown == ["c0", "c1", "c2", "c3"] and wide.head == [["0", "1", "2", "3"]]
    assert wide.caption.endswith("1 rows x 20 columns (all rows, 4 of 20 columns)")


@pytest.mark.parametrize(
    ("metrics", "met", "badge"),
    [
        ({"headline_met": True}, True, "met"),
        ({"headline_met": False, "headline": {"rule": "x"}}, False, "unmet"),
        ({"headline": {"headline_met": True}}, True, "met"),  # entigraph nests it
        ({"headline": {"headline_met": False}}, False, "unmet"),
        ({"accuracy": 0.5}, None, "missing"),
    ],
)
def test_a_job_whose_headline_is_not_met_shows_a_red_badge(store, metrics, met, badge):
    (store / "reports/decoding").mkdir(parents=True)
    (store / "reports/decoding/metrics.json").write_text(json.dumps(metrics))
    config = ReportConfig(title="t", jobs=["decoding"], mlflow_ui=UI)
    job = page.gather(config, {}).jobs[0]
    assert (job.met, job.badge) == (met, badge)
    assert f'<span class="status {badge}">' in html.render(page.gather(config, {}))
    assert markdown.BADGE[badge] in markdown.render(page.gather(config, {}))
