"""The nightly regression check: each job's latest run against its last successful run of the same
profile in MLflow. A metric moved when its new value lies outside the 95% bootstrap interval of the
baseline (`<metric>_ci95_low` .. `<metric>_ci95_high`, logged next to every accuracy-like metric of
a run or of its sweep cells); a move inside the interval is noise and is not flagged."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOW, HIGH = "_ci95_low", "_ci95_high"
# Two runs of the same code on the same inputs may differ by summation order alone: float32
# log-probabilities summed in another order move a mean of a few hundred terms by ~n * 2**-24
# relative, under 1e-5. A value that close to an end of the interval has not left it (an interval
# of width 0, as MI's [6, 6] bits at its ceiling, flagged 6 -> 6 "up" before).
REL_TOL, ABS_TOL = 1e-5, 1e-9


@dataclass(frozen=True)
class Move:
    job: str
    where: str  # "run" or the child run's name (a sweep cell, a checkpoint)
    metric: str
    baseline: float
    low: float
    high: float
    value: float

    @property
    def direction(self) -> str:
        return "down" if self.value < self.low else "up"

    def label(self) -> str:
        return f"{self.where}/{self.metric} {self.direction}"


@dataclass(frozen=True)
class Check:
    job: str
    run_id: str | None  # the latest run; None when the job has no finished run
    baseline_id: str | None  # its last successful predecessor of the same profile
    compared: int  # metrics with an interval in both runs
    moves: tuple[Move, ...]

    def tag(self) -> str:
        return ", ".join(m.label() for m in self.moves) or "none"


def moves(job: str, where: str, baseline: Mapping[str, float], current: Mapping[str, float]) -> list[Move]:
    """Metrics of `current` outside the baseline's interval, for every metric that has one."""
    found = []
    for name, value in baseline.items():
        if name.endswith((LOW, HIGH)) or name + LOW not in baseline or name + HIGH not in baseline:
            continue
        if name not in current:
            continue
        low, high, now = baseline[name + LOW], baseline[name + HIGH], current[name]
        if outside(now, low, high):
            found.append(Move(job, where, name, value, low, high, now))
    return found


def outside(value: float, low: float, high: float) -> bool:
    """`value` beyond [low, high] by more than summation order explains."""

    def near(bound: float) -> bool:
        return math.isclose(value, bound, rel_tol=REL_TOL, abs_tol=ABS_TOL)

    return (value < low and not near(low)) or (value > high and not near(high))


def compared(baseline: Mapping[str, float], current: Mapping[str, float]) -> int:
    return sum(1 for n in baseline if n + LOW in baseline and n + HIGH in baseline and n in current)


def check(job: str, runs: list[dict[str, Any]]) -> Check:
    """`runs`: the job's finished runs of one profile, newest first (tracking.finished_runs)."""
    if len(runs) < 2:
        return Check(job, runs[0]["run_id"] if runs else None, None, 0, ())
    current, baseline = runs[0], runs[1]
    pairs = [("run", baseline["metrics"], current["metrics"])]
    pairs += [
        (name, metrics, current["children"][name])
        for name, metrics in sorted(baseline["children"].items())
        if name in current["children"]
    ]
    found = [m for where, old, new in pairs for m in moves(job, where, old, new)]
    count = sum(compared(old, new) for _, old, new in pairs)
    return Check(job, current["run_id"], baseline["run_id"], count, tuple(found))


def markdown(checks: list[Check], profile: str) -> str:
    lines = [
        f"# Regressions ({profile} profile)",
        "",
        "Each job's latest run against its last successful run of the same profile. A metric is listed",
        "when its new value lies outside the previous run's 95% bootstrap interval.",
        "",
        "| job | latest run | baseline | metrics compared | moved |",
        "|---|---|---|---|---|",
    ]
    for c in checks:
        if c.baseline_id is None:
            lines.append(f"| {c.job} | {_short(c.run_id)} | none yet | 0 | - |")
        else:
            moved = "; ".join(m.label() for m in c.moves) or "none"
            lines.append(
                f"| {c.job} | {_short(c.run_id)} | {_short(c.baseline_id)} | {c.compared} | {moved} |"
            )
    details = [m for c in checks for m in c.moves]
    if details:
        lines += ["", "| job | where | metric | baseline [95% CI] | now |", "|---|---|---|---|---|"]
        lines += [
            f"| {m.job} | {m.where} | {m.metric} | {m.baseline:.4g} [{m.low:.4g}, {m.high:.4g}] | "
            f"{m.value:.4g} ({m.direction}) |"
            for m in details
        ]
    return "\n".join(lines) + "\n"


def _short(run_id: str | None) -> str:
    return run_id[:8] if run_id else "-"
