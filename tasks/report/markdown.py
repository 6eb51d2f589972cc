"""reports/index.md: a `Page` as markdown; plots are linked relative to reports/."""

from collections.abc import Mapping, Sequence
from typing import Any

from tasks.report.page import Job, Page
from tasks.report.table import Preview, cell

BADGE = {"met": "🟢", "unmet": "🔴", "missing": "🟠"}  # Job.badge: met, not met, not run or no rule


def render(page: Page) -> str:
    lines = [f"# {page.title}", "", *_contents(page), ""]
    for job in page.jobs:
        lines += _job(job, page)
    for section in page.extra:
        lines += [f"## {section.title}", "", demote(section.markdown).strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def _contents(page: Page) -> list[str]:
    rows = [
        [
            f"[{j.name}](#{j.name})",
            f"{BADGE[j.badge]} {j.status}",
            f"[run]({j.run_url})" if j.run_url else "no MLflow run",
        ]
        for j in page.jobs
    ]
    return table(["job", "status", "MLflow"], rows)


def _job(job: Job, page: Page) -> list[str]:
    lines = [f"## {job.name}", ""]
    lines += [f"[MLflow run]({job.run_url})" if job.run_url else "no MLflow run", ""]
    if not job.ran:
        lines += [f"**Not run yet** (`dvc repro {job.name}`).", ""]
    lines += [f"- {note}" for note in job.notes] + ([""] if job.notes else [])
    if job.headline:
        lines += ["### Headline metrics", "", *metrics_table(job.headline), ""]
    if job.key is not None:
        lines += ["### Key table", "", f"`{job.key.caption}`", "", *preview_table(job.key), ""]
    if job.tables:
        lines += ["Other tables: " + ", ".join(f"`{t.size}`" for t in job.tables), ""]
    if job.plots:
        lines += ["### Plots", ""]
        lines += [f"![{p.name}]({p.path.relative_to(page.root).as_posix()})" for p in job.plots] + [""]
    if job.summary:
        lines += ["### Summary", "", demote(job.summary).strip(), ""]
    return lines


def metrics_table(metrics: Mapping[str, Any]) -> list[str]:
    return table(["metric", "value"], [[k, cell(v)] for k, v in metrics.items()])


def preview_table(preview: Preview) -> list[str]:
    return table(preview.shown, preview.head)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(r) for r in rows)]


def demote(markdown: str, levels: int = 2) -> str:
    """Push a document's headings `levels` down, so that it nests under a job's heading."""
    out, fenced = [], False
    for text in markdown.splitlines():
        if text.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and text.startswith("#"):
            text = "#" * levels + text
        out.append(text)
    return "\n".join(out)
