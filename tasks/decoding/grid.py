"""The decoding grid: its cells (model x sampler setting), their parts, and the tables made from
the finished parts (failed cells with their reason)."""

import re
from typing import Any

import polars as pl

from tasks.decoding import report
from tasks.decoding.config import DecodingConfig, DecodingSetting
from tasks.parts import PartStore
from tasks.samplers import SamplerSetting

Cell = tuple[str, DecodingSetting]


def cells(config: DecodingConfig) -> list[Cell]:
    """Every model with every setting that does not name other models."""
    return [(m, s) for m in config.models for s in config.settings if not s.models or m in s.models]


def sampler(setting: DecodingSetting) -> SamplerSetting:
    """The setting as an engine's sampler (without the grid's `models`)."""
    return SamplerSetting.model_validate(setting.model_dump(exclude={"models"}))


def cell_key(model: str, setting: DecodingSetting) -> str:
    return f"{model}--{re.sub(r'[^A-Za-z0-9_.=-]+', '_', setting.label).strip('_')}"


def part_keys(model: str, setting: DecodingSetting) -> list[str]:
    key = cell_key(model, setting)
    return [f"answers-{key}", f"prose-{key}", f"judged-{key}"]


def assemble(
    config: DecodingConfig, cells: list[Cell], store: PartStore, failures: dict[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, list[dict[str, float]]]]:
    """The cell table (one row per cell, failed ones with their reason), all answers, all prose
    and the surprisal trajectories of the first prose track's model."""
    first_prose_model = next((t.model for t in config.prose.tracks.values()), None)
    rows, answers, continuations, trajectories = [], [], [], {}
    for model, setting in cells:
        key = cell_key(model, setting)
        answers_key, _, judged_key = part_keys(model, setting)
        row: dict[str, Any] = {**report.setting_columns(model, setting), "status": "ok", "error": None}
        row["track"] = config.prose.track_of(model)
        if key in failures or not store.done(answers_key):
            rows.append({**row, "status": "failed", "error": failures.get(key, "no answers")})
            continue
        ids = report.setting_columns(model, setting)
        cell_answers = store.read(answers_key)
        answers.append(cell_answers.with_columns(**{k: pl.lit(v) for k, v in ids.items()}))
        row |= report.answer_metrics(cell_answers, config.benchmarks)
        row["large_share"] = cell_answers["large_share"][0]  # null unless the sampler has further models
        if store.done(judged_key):
            judged = store.read(judged_key)
            track = pl.lit(row["track"], dtype=pl.String)
            continuations.append(judged.with_columns(track=track, **{k: pl.lit(v) for k, v in ids.items()}))
            row |= report.prose_metrics(judged, setting, config.prose.settle_tokens)
            if model == first_prose_model:
                trajectories[setting.label] = report.trajectory(judged)
        elif judged_key in failures:
            row["error"] = failures[judged_key]
        rows.append(row)
    table = report.complete(pl.DataFrame(rows, infer_schema_length=None), config.benchmarks)
    return (
        table,
        pl.concat(answers, how="diagonal_relaxed") if answers else pl.DataFrame(),
        pl.concat(continuations, how="diagonal_relaxed") if continuations else pl.DataFrame(),
        trajectories,
    )
