"""Resumable work: one parquet file per finished part (a document, a sweep cell), named with the
hash of the settings that made it. A rerun skips finished parts; parts of other settings are pruned."""

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from tasks.io import write_parquet


class PartStore:
    def __init__(self, folder: Path, config_hash: str) -> None:
        self.folder, self.config_hash = folder, config_hash

    def path(self, key: str) -> Path:
        return self.folder / f"{key}-{self.config_hash}.parquet"

    def done(self, key: str) -> bool:
        return self.path(key).is_file()

    def write(self, key: str, frame: pl.DataFrame) -> None:
        write_parquet(self.path(key), frame)  # atomic: a killed run leaves no half-written part

    def read(self, key: str) -> pl.DataFrame:
        return pl.read_parquet(self.path(key))

    def prune(self, keys: Sequence[str]) -> None:
        current = {self.path(k) for k in keys}
        for path in self.folder.glob("*.parquet"):
            if path not in current:
                path.unlink()
