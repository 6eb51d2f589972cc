"""A preview of a parquet table: its size, columns and first rows as display strings."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tasks.errors import InfopipeError, first_line

ROWS = 20
COLUMNS = 16
WIDTH = 40  # characters of one cell


@dataclass(frozen=True)
class Preview:
    path: Path
    rows: int
    columns: list[str]  # every column of the table
    head: list[list[str]]  # the first rows, the first `COLUMNS` columns, formatted

    @property
    def shown(self) -> list[str]:
        return self.columns[: len(self.head[0])] if self.head else self.columns[:COLUMNS]

    @property
    def size(self) -> str:
        return f"{self.path.as_posix()}: {self.rows:,} rows x {len(self.columns)} columns"

    @property
    def caption(self) -> str:
        shown = f"first {len(self.head)} rows" if len(self.head) < self.rows else "all rows"
        if len(self.shown) < len(self.columns):
            shown += f", {len(self.shown)} of {len(self.columns)} columns"
        return f"{self.size} ({shown})"


def preview(path: Path, rows: int = ROWS, columns: int = COLUMNS) -> Preview:
    """Read only the schema, the row count and the first `rows` rows of a parquet file."""
    try:
        lazy = pl.scan_parquet(path)
        names = lazy.collect_schema().names()
        count = int(lazy.select(pl.len()).collect().item())
        head = lazy.select(names[:columns]).head(rows).collect()
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InfopipeError(str(path), f"not a readable parquet table ({first_line(err)})") from None
    return Preview(path, count, names, [[cell(v) for v in row] for row in head.iter_rows()])


def cell(value: Any) -> str:
    """One value as short text: floats to 4 significant digits, lists by length, long text cut."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return f"[{len(value)} items]"
    text = " ".join(str(value).split())
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"
