"""Where a job's results go: data/<job>/ (DVC-cached tables) and reports/<job>/ (small, in git)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tasks.io import write_json, write_parquet
from tasks.plots import line_plot


@dataclass(frozen=True)
class JobOutputs:
    job: str
    root: Path = Path()

    @property
    def data(self) -> Path:
        return self.root / "data" / self.job

    @property
    def reports(self) -> Path:
        return self.root / "reports" / self.job

    def table(self, name: str, frame: pl.DataFrame) -> Path:
        return write_parquet(self.data / f"{name}.parquet", frame)

    def tables(self, frames: Mapping[str, pl.DataFrame]) -> list[Path]:
        return [self.table(name, frame) for name, frame in frames.items()]

    def metrics(self, metrics: Mapping[str, Any]) -> Path:
        return write_json(self.reports / "metrics.json", dict(metrics))

    def plot(self, name: str, rows: Sequence[Mapping[str, float]], x: str, y: str, title: str) -> list[Path]:
        """DVC plot data (`<name>.json`) and the same curve as a PNG for reports and MLflow."""
        data = write_json(self.reports / f"{name}.json", list(rows))
        png = line_plot(
            {y: [(r[x], r[y]) for r in rows]}, self.reports / f"{name}.png", title=title, xlabel=x, ylabel=y
        )
        return [data, png]

    def curves(
        self,
        name: str,
        series: Mapping[str, Sequence[Mapping[str, float]]],
        x: str,
        y: str,
        title: str,
        xscale: str = "linear",
        markers_only: bool = False,
        lines: Sequence[str] = (),
    ) -> list[Path]:
        """One DVC plot file per series (`<name>/<series>.json`) and all of them in one PNG."""
        files = [
            write_json(self.reports / name / f"{label}.json", list(rows)) for label, rows in series.items()
        ]
        png = line_plot(
            {label: [(r[x], r[y]) for r in rows] for label, rows in series.items()},
            self.reports / f"{name}.png",
            title=title,
            xlabel=x,
            ylabel=y,
            xscale=xscale,
            markers_only=markers_only,
            lines=lines,
        )
        return [*files, png]
