"""`infopipe compare <job>`: a job's latest flow runs side by side, as a plain-text table.

One column per run (newest first), one row per metric and per param that differs between the runs;
params equal across all runs are counted in one line. Sweep cells (child runs) are left out.
"""

from datetime import datetime
from typing import Any

from tasks import tracking
from tasks.errors import InfopipeError

MISSING = "-"
CELL = 40  # longest cell; a longer param value is cut with "..."


def side_by_side(job: str, n: int) -> str:
    if n < 1:
        raise InfopipeError("compare -n", f"must be at least 1, got {n}")
    runs = tracking.parent_runs(job, n)
    if runs is None:
        known = ", ".join(tracking.experiments()) or "none yet"
        raise InfopipeError(
            f"compare {job}", f"no MLflow experiment {job!r} in {tracking.tracking_uri()} (known: {known})"
        )
    if not runs:
        raise InfopipeError(f"compare {job}", f"MLflow experiment {job!r} has no runs")
    rows: list[list[str]] = [
        ["run", *(r["run_id"][:8] for r in runs)],
        ["start", *(_time(r["start_time"]) for r in runs)],
        ["status", *(r["status"] for r in runs)],
        ["profile", *(r["tags"].get("profile", MISSING) for r in runs)],
        ["git commit", *(_commit(r["tags"]) for r in runs)],
    ]
    metrics = sorted({k for r in runs for k in r["metrics"]})
    rows += [[k, *(_number(r["metrics"].get(k)) for r in runs)] for k in metrics]
    params = sorted({k for r in runs for k in r["params"]})
    differing = [k for k in params if len({r["params"].get(k) for r in runs}) > 1]
    rows += [[k, *(r["params"].get(k, MISSING) for r in runs)] for k in differing]
    table = _render(rows, rules_after=(4, 4 + len(metrics)))
    same = len(params) - len(differing)
    footer = f"{job}: {len(runs)} run(s); {same} param(s) equal across them not shown"
    return f"{table}\n{footer}"


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else MISSING


def _commit(tags: dict[str, str]) -> str:
    commit = tags.get("git.commit", MISSING)[:8]
    return f"{commit}+dirty" if tags.get("git.dirty") == "true" else commit


def _number(value: float | None) -> str:
    return MISSING if value is None else f"{value:.6g}"


def _cut(text: Any) -> str:
    text = str(text).replace("\n", " ")
    return text if len(text) <= CELL else text[: CELL - 3] + "..."


def _render(rows: list[list[str]], rules_after: tuple[int, ...]) -> str:
    """Columns padded to their widest cell; a rule under the header block and the metrics."""
    cells = [[_cut(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    rule = "  ".join("-" * w for w in widths)
    lines = []
    for i, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i in rules_after and i < len(cells) - 1:
            lines.append(rule)
    return "\n".join(lines)
