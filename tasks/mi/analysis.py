"""The paper's analyses over a sweep's cells, with confidence from resampling the contexts.

Every cell of a dataset answers the same N items, and every compression is scored on them, so one
bootstrap resample of a dataset's items moves every cell's accuracy and every compression's MI
together (a paired bootstrap): the interval of a statistic over cells is the spread of that
statistic over resamples.

spearman    rank correlation of MI (bits) and accuracy over cells
slope       bits per notes token against log10(compressor parameters), least squares within
            budgets (one intercept per budget)
per_flop    accuracy gained per added GFLOP when scaling the compressor (the smallest predictor
            kept) and when scaling the predictor (the smallest compressor kept), as He et al.
            compare the two axes
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from tasks.stats import spearman

RESAMPLES = 1000
LEVEL = 0.95


@dataclass(frozen=True)
class Resampled:
    """Per item, aligned on each dataset's item ids: accuracy per cell, MI term and notes tokens
    per compression; `draw` gives one bootstrap resample's per-cell and per-compression means."""

    items: dict[str, list[str]]  # dataset -> item ids
    accuracy: dict[str, np.ndarray]  # cell -> per item (mean over samples)
    nats: dict[str, np.ndarray]  # compression -> per item
    tokens: dict[str, np.ndarray]  # compression -> per item
    dataset_of: dict[str, str]  # cell or compression -> dataset

    @classmethod
    def build(cls, table: pl.DataFrame, answers: pl.DataFrame, terms: pl.DataFrame) -> "Resampled":
        items = {str(d): sorted(set(g["item_id"].to_list())) for (d,), g in terms.group_by("dataset")}
        dataset_of: dict[str, str] = {}
        for r in table.iter_rows(named=True):
            dataset_of[r["cell"]] = dataset_of[_compression(r)] = r["dataset"]

        def aligned(frame: pl.DataFrame, key: str, value: str) -> dict[str, np.ndarray]:
            out = {}
            for (k,), g in frame.group_by(key):
                means = dict(g.group_by("item_id").agg(pl.col(value).mean()).rows())
                order = items.get(dataset_of.get(str(k), ""), [])
                if order and all(i in means for i in order):
                    out[str(k)] = np.array([means[i] for i in order], dtype=float)
            return out

        return cls(
            items=items,
            accuracy=aligned(answers, "cell", "accuracy") if answers.height else {},
            nats=aligned(terms, "compression", "nats"),
            tokens=aligned(terms, "compression", "tokens"),
            dataset_of=dataset_of,
        )

    def draw(self, rng: np.random.Generator | None) -> tuple[dict[str, float], dict[str, float]]:
        """(accuracy per cell, bits per token per compression, MI bits per compression folded in
        as `bits:<compression>`) on one resample of the items, or on the items as they are."""
        picks = {
            d: (rng.integers(0, len(ids), len(ids)) if rng is not None else np.arange(len(ids)))
            for d, ids in self.items.items()
        }
        accuracy = {c: float(v[picks[self.dataset_of[c]]].mean()) for c, v in self.accuracy.items()}
        mi: dict[str, float] = {}
        for c, v in self.nats.items():
            pick = picks[self.dataset_of[c]]
            bits = float(v[pick].mean()) / math.log(2)
            mi[f"bits:{c}"] = bits
            mi[c] = bits / float(self.tokens[c][pick].mean())
        return accuracy, mi


def _compression(row: Mapping[str, object]) -> str:
    return f"{row['dataset']}-{row['compressor']}-{row['budget']}"


def interval(
    data: Resampled, statistic: "Statistic", seed: int = 0
) -> tuple[float, tuple[float, float] | None]:
    """The statistic on the items as they are, and its percentile bootstrap interval over
    resamples of the items (None when it is undefined on too many resamples)."""
    value = statistic(*data.draw(None))
    rng = np.random.default_rng(seed)
    values = [statistic(*data.draw(rng)) for _ in range(RESAMPLES)]
    finite = np.array([v for v in values if math.isfinite(v)])
    if not math.isfinite(value) or finite.size < 0.9 * RESAMPLES:
        return value, None
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return value, (float(low), float(high))


Statistic = Callable[[dict[str, float], dict[str, float]], float]


def spearman_over(cells: Sequence[Mapping[str, object]]) -> Statistic:
    """Spearman rho of MI bits and accuracy over `cells` (rows of the cell table)."""

    def statistic(accuracy: dict[str, float], mi: dict[str, float]) -> float:
        keys = [(str(r["cell"]), _compression(r)) for r in cells]
        keys = [(c, z) for c, z in keys if c in accuracy and f"bits:{z}" in mi]
        return spearman([mi[f"bits:{z}"] for _, z in keys], [accuracy[c] for c, _ in keys])

    return statistic


def slope_over(compressions: Sequence[Mapping[str, object]], parameters: Mapping[str, int]) -> Statistic:
    """Slope of bits per token against log10(parameters) over `compressions`, within budgets:
    least squares with one intercept per budget (bits per token depends on the notes' length,
    so compressors are compared at equal budgets; a budget with one compressor adds nothing)."""

    def statistic(_: dict[str, float], mi: dict[str, float]) -> float:
        groups: dict[object, list[tuple[float, float]]] = {}
        for r in compressions:
            if _compression(r) in mi and str(r["compressor"]) in parameters:
                x = math.log10(parameters[str(r["compressor"])])
                groups.setdefault(r["budget"], []).append((x, mi[_compression(r)]))
        sxy = sxx = 0.0
        for points in groups.values():
            xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
            sxy += float(((xs - xs.mean()) * (ys - ys.mean())).sum())
            sxx += float(((xs - xs.mean()) ** 2).sum())
        return sxy / sxx if sxx > 0 else float("nan")

    return statistic


def per_flop(ok: pl.DataFrame, parameters: Mapping[str, int]) -> dict[str, object]:
    """Accuracy gained per added GFLOP along each axis, from the cell of the smallest compressor
    and predictor: to the largest compressor (same predictor) and to the largest predictor (same
    compressor); cells averaged over datasets and budgets."""
    sized = list(parameters)
    known = ok.filter(pl.col("compressor").is_in(sized) & pl.col("predictor").is_in(sized))
    compressors = sorted(set(known["compressor"].to_list()), key=lambda m: parameters[m])
    predictors = sorted(set(known["predictor"].to_list()), key=lambda m: parameters[m])
    if not compressors or not predictors:
        return {}

    def cell(c: str, p: str) -> tuple[float, float]:
        g = known.filter((pl.col("compressor") == c) & (pl.col("predictor") == p))
        return float(g["accuracy"].mean()), float(g["flops"].mean()) / 1e9  # type: ignore[arg-type]

    base = cell(compressors[0], predictors[0])
    out: dict[str, object] = {
        "baseline": {"compressor": compressors[0], "predictor": predictors[0], "accuracy": base[0]},
        "series": {
            "scale_compressor": [
                dict(zip(("accuracy", "gflops"), cell(c, predictors[0]), strict=True), model=c)
                for c in compressors
            ],
            "scale_predictor": [
                dict(zip(("accuracy", "gflops"), cell(compressors[0], p), strict=True), model=p)
                for p in predictors
            ],
        },
    }
    for axis, (c, p) in {
        "scale_compressor": (compressors[-1], predictors[0]),
        "scale_predictor": (compressors[0], predictors[-1]),
    }.items():
        if (c, p) == (compressors[0], predictors[0]):
            continue
        accuracy, gflops = cell(c, p)
        out[axis] = {
            "to": c if axis == "scale_compressor" else p,
            "accuracy": accuracy,
            "accuracy_gain": accuracy - base[0],
            "added_gflops": gflops - base[1],
            "accuracy_gain_per_gflop": (accuracy - base[0]) / (gflops - base[1])
            if gflops != base[1]
            else float("nan"),
        }
    return out
