"""The sweep's grid: one cell per dataset x compressor x predictor x budget.

Compressions and their log-likelihoods belong to (dataset, compressor, budget), shared by every
predictor; answers belong to the cell. Each is a part of a PartStore (tasks/parts.py), so a
rerun does only what is missing. Cells are ordered by predictor, then compressor, so that a
backend with one model per process loads each model once.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from itertools import product
from typing import Any

import polars as pl

from tasks.answers import contains
from tasks.catalog import model_spec
from tasks.config import config_hash
from tasks.mi import cost, report
from tasks.mi.base import ESTIMATORS
from tasks.mi.config import MiSweepConfig, MiSweepParams
from tasks.mi.scoring import as_log_likelihoods
from tasks.parts import PartStore


@dataclass(frozen=True)
class Compression:
    dataset: str
    compressor: str
    budget: int

    @property
    def key(self) -> str:
        return f"{self.dataset}-{self.compressor}-{self.budget}"


@dataclass(frozen=True)
class Cell:
    dataset: str
    compressor: str
    predictor: str
    budget: int

    @property
    def compression(self) -> Compression:
        return Compression(self.dataset, self.compressor, self.budget)

    @property
    def key(self) -> str:
        return f"{self.dataset}-{self.compressor}-{self.predictor}-{self.budget}"

    def identity(self) -> dict[str, str | int]:
        return asdict(self)


def compressions(config: MiSweepConfig) -> list[Compression]:
    return [Compression(d, c, b) for c, d, b in product(config.compressors, config.datasets, config.budgets)]


def grid(config: MiSweepConfig) -> list[Cell]:
    return [
        Cell(d, c, p, b)
        for p, c, d, b in product(config.predictors, config.compressors, config.datasets, config.budgets)
    ]


class Parts:
    """Where each part of the sweep is stored; a model's spec is in its parts' names."""

    def __init__(self, params: MiSweepParams, store: PartStore) -> None:
        self.params, self.store = params, store

    def _spec(self, *models: str) -> str:
        return config_hash(*(model_spec(self.params, m) for m in models))[:6]

    def notes(self, c: Compression) -> str:
        return f"notes-{c.key}-{self._spec(c.compressor)}"

    def scores(self, c: Compression) -> str:
        scorer = self.params.mi_sweep.scorer
        return f"scores-{c.key}-{self._spec(c.compressor if scorer == 'compressor' else scorer)}"

    def answers(self, cell: Cell) -> str:
        return f"answers-{cell.key}-{self._spec(cell.compressor, cell.predictor)}"

    def uncompressed(self, dataset: str, predictor: str) -> str:
        """The predictor's answers from the whole context X: can it read at all?"""
        return f"uncompressed-{dataset}-{predictor}-{self._spec(predictor)}"

    def all(self, config: MiSweepConfig) -> list[str]:
        return [
            *(k for c in compressions(config) for k in (self.notes(c), self.scores(c))),
            *(self.uncompressed(d, p) for d in config.datasets for p in config.predictors),
            *(self.answers(cell) for cell in grid(config)),
        ]


@dataclass(frozen=True)
class Sweep:
    """What the report reads: one row per cell, the answers and notes behind them, each
    compression's MI term per item, and each predictor's accuracy from the whole context."""

    table: pl.DataFrame
    answers: pl.DataFrame
    notes: pl.DataFrame
    terms: pl.DataFrame  # compression, dataset, item_id, nats, tokens
    uncompressed: dict[str, float]  # predictor -> accuracy from X (mean over datasets)


def assemble(
    config: MiSweepConfig,
    parts: Parts,
    failures: dict[str, str],
    parameters: dict[str, int],
    answers_of: Mapping[str, Mapping[str, str]],
) -> Sweep:
    """One row per cell (failed cells with their reason), and what the report resamples.
    `answers_of`: dataset -> item_id -> gold answer (for the notes that contain it)."""
    rows, all_answers, all_notes, all_terms = [], [], [], []
    estimates, answer_rate = {}, {}
    for c in compressions(config):
        if parts.store.done(parts.notes(c)):
            written = parts.store.read(parts.notes(c))
            gold = answers_of[c.dataset]
            hits = [contains(z, gold[i]) for i, z in written.select("item_id", "notes").rows()]
            answer_rate[c.key] = sum(hits) / max(len(hits), 1)
            written = written.with_columns(pl.Series("contains_answer", hits, pl.Float64))
            all_notes.append(written.select(pl.lit(c.key).alias("compression"), pl.all()))
        if parts.store.done(parts.scores(c)):
            scores = parts.store.read(parts.scores(c))
            estimate = ESTIMATORS.get(config.estimator)(as_log_likelihoods(scores), clip=config.clip)
            estimates[c.key] = estimate
            all_terms.append(
                pl.DataFrame(
                    {"item_id": scores["item_id"], "nats": estimate.terms, "tokens": scores["tokens"]}
                ).select(pl.lit(c.key).alias("compression"), pl.lit(c.dataset).alias("dataset"), pl.all())
            )
    for cell in grid(config):
        c = cell.compression
        row: dict[str, Any] = {"cell": cell.key, **cell.identity(), "status": "ok", "error": None}
        row["compressor_parameters"] = parameters.get(cell.compressor)
        row["predictor_parameters"] = parameters.get(cell.predictor)
        missing = [k for k in (parts.notes(c), parts.answers(cell)) if not parts.store.done(k)]
        if missing:
            row.update(status="failed", error=failures.get(missing[0], f"{missing[0]} was not made"))
        notes = parts.store.read(parts.notes(c)) if parts.store.done(parts.notes(c)) else None
        if notes is not None:
            row["notes_tokens"] = float(notes["tokens"].mean())  # type: ignore[arg-type]
            row["notes_answer_rate"] = answer_rate[c.key]
            row["compressor_flops"] = _flops(parameters, cell.compressor, notes, ["prompt_tokens", "tokens"])
        if c.key in estimates:
            row.update(report.estimate_row(estimates[c.key]))
        elif row["status"] == "ok":
            row.update(status="failed", error=failures.get(parts.scores(c), "no log-likelihoods"))
        if parts.store.done(parts.answers(cell)):
            answers = parts.store.read(parts.answers(cell))
            row.update(report.answer_row(answers))
            row["predictor_flops"] = _flops(
                parameters, cell.predictor, answers, ["prompt_tokens", "answer_tokens"]
            )
            all_answers.append(answers.select(pl.lit(cell.key).alias("cell"), pl.all()))
        flops = [row.get("compressor_flops"), row.get("predictor_flops")]
        row["flops"] = sum(f for f in flops if f is not None) if None not in flops else None
        row.update(estimator=config.estimator, scorer=config.scorer)
        rows.append(row)
    table = pl.DataFrame(rows, schema_overrides=CELL_SCHEMA, infer_schema_length=None)
    # Every column of the schema, even when no cell got that far (e.g. every compression failed).
    table = table.with_columns(
        pl.lit(None, dtype).alias(name) for name, dtype in CELL_SCHEMA.items() if name not in table.columns
    )
    uncompressed: dict[str, list[float]] = {}
    for dataset, predictor in product(config.datasets, config.predictors):
        if parts.store.done(key := parts.uncompressed(dataset, predictor)):
            accuracy = parts.store.read(key)["accuracy"].mean()
            uncompressed.setdefault(predictor, []).append(float(accuracy))  # type: ignore[arg-type]
    return Sweep(
        table=table.select(
            [c for c in CELL_SCHEMA if c in table.columns]
            + [c for c in table.columns if c not in CELL_SCHEMA]
        ),
        answers=pl.concat(all_answers) if all_answers else pl.DataFrame(),
        notes=pl.concat(all_notes) if all_notes else pl.DataFrame(),
        terms=pl.concat(all_terms) if all_terms else pl.DataFrame(schema=TERMS_SCHEMA),
        uncompressed={p: sum(v) / len(v) for p, v in uncompressed.items()},
    )


def _flops(parameters: dict[str, int], model: str, frame: pl.DataFrame, columns: list[str]) -> float | None:
    if model not in parameters:
        return None
    return cost.flops(parameters[model], int(frame.select(pl.sum_horizontal(columns).sum()).item()))


CELL_SCHEMA = {
    "cell": pl.String,
    "dataset": pl.String,
    "compressor": pl.String,
    "predictor": pl.String,
    "budget": pl.Int64,
    "status": pl.String,
    "error": pl.String,
    "compressor_parameters": pl.Int64,
    "predictor_parameters": pl.Int64,
    "accuracy": pl.Float64,
    "accuracy_ci95_low": pl.Float64,
    "accuracy_ci95_high": pl.Float64,
    "exact_match": pl.Float64,
    "f1": pl.Float64,
    "notes_tokens": pl.Float64,
    "notes_answer_rate": pl.Float64,
    "mi_nats": pl.Float64,
    "mi_bits": pl.Float64,
    "mi_bits_ci95_low": pl.Float64,
    "mi_bits_ci95_high": pl.Float64,
    "mi_ceiling_bits": pl.Float64,
    "bits_per_token": pl.Float64,
    "compressor_flops": pl.Float64,
    "predictor_flops": pl.Float64,
    "flops": pl.Float64,
}
TERMS_SCHEMA = {
    "compression": pl.String,
    "dataset": pl.String,
    "item_id": pl.String,
    "nats": pl.Float64,
    "tokens": pl.Int32,
}
