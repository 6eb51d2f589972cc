"""reports/index.html: a `Page` as one self-contained file that displays offline.

Plots are embedded as base64 PNG data URIs and the CSS is inline: no scripts, fonts or other
files are fetched. The only links out are to the MLflow UI. Markdown (summaries, extra sections)
is rendered by markdown-it-py (already installed with rich) with raw HTML off.
"""

import base64
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from markdown_it import MarkdownIt

from tasks.report.markdown import demote
from tasks.report.page import Job, Page, Plot, Section
from tasks.report.table import Preview, cell

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330;
       background: #f6f7f9; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 8px 0 16px; }
h2 { font-size: 21px; margin: 0 0 8px; }
h3 { font-size: 16px; margin: 20px 0 8px; color: #3a4459; }
section.job, section.extra { background: #fff; border: 1px solid #dde1e8; border-radius: 8px;
       padding: 18px 22px; margin: 18px 0; }
section.missing { border-left: 6px solid #c98a00; }
.status { display: inline-block; font-size: 12px; padding: 2px 8px; border-radius: 10px;
       background: #e3efe5; color: #1f5e2c; margin-left: 8px; vertical-align: middle; }
.missing .status, .status.missing { background: #fbf0d6; color: #7a5200; }
.status.unmet { background: #f8dcdc; color: #8a1c1c; }
.run a, nav a { color: #1f5fbf; }
.norun { color: #7a8294; }
.scroll { overflow-x: auto; }
.summary { max-height: 560px; overflow: auto; border-top: 1px solid #eef1f5; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
th, td { border: 1px solid #dde1e8; padding: 3px 8px; text-align: left; white-space: nowrap; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-size: 12px; color: #5b6477; padding: 2px 0; }
figure { display: inline-block; margin: 6px 12px 6px 0; }
figure img { max-width: 540px; width: 100%; border: 1px solid #dde1e8; }
figcaption { font-size: 12px; color: #5b6477; }
ul.notes { color: #7a5200; }
code { font-size: 13px; }
"""


def render(page: Page) -> str:
    body = [f"<h1>{escape(page.title)}</h1>", _contents(page)]
    body += [_job(job) for job in page.jobs]
    body += [_extra(s) for s in page.extra]
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(page.title)}</title>\n<style>{CSS}</style>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def _contents(page: Page) -> str:
    rows = [[f'<a href="#{_id(j.name)}">{escape(j.name)}</a>', _status(j), _run(j)] for j in page.jobs]
    rows += [[f'<a href="#{_id(s.title)}">{escape(s.title)}</a>', "", ""] for s in page.extra]
    return f"<nav>{_table(['job', 'status', 'MLflow'], rows)}</nav>"


def _status(job: Job) -> str:
    return f'<span class="status {job.badge}">{escape(job.status)}</span>'


def _job(job: Job) -> str:
    parts = [
        f"<h2>{escape(job.name)}{_status(job)}</h2>",
        f'<p class="run">{_run(job)}</p>',
    ]
    if not job.ran:
        parts.append(f"<p><strong>Not run yet</strong> (<code>dvc repro {escape(job.name)}</code>).</p>")
    if job.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_inline(n)}</li>" for n in job.notes) + "</ul>")
    if job.headline:
        parts += ["<h3>Headline metrics</h3>", _metrics(job.headline)]
    if job.key is not None:
        parts += ["<h3>Key table</h3>", _preview(job.key)]
    if job.tables:
        listed = ", ".join(f"<code>{escape(t.size)}</code>" for t in job.tables)
        parts.append(f"<p>Other tables: {listed}</p>")
    if job.plots:
        parts += ["<h3>Plots</h3>", "<div>" + "".join(_figure(p) for p in job.plots) + "</div>"]
    if job.summary:
        parts += ["<h3>Summary</h3>", f'<div class="summary">{_markdown(job.summary)}</div>']
    kind = "job" if job.ran else "job missing"
    return f'<section class="{kind}" id="{_id(job.name)}">\n' + "\n".join(parts) + "\n</section>"


def _extra(section: Section) -> str:
    head = f'<section class="extra" id="{_id(section.title)}"><h2>{escape(section.title)}</h2>'
    return f"{head}{_markdown(section.markdown)}</section>"


def _run(job: Job) -> str:
    if job.run_url is None:
        return '<span class="norun">no MLflow run</span>'
    return f'<a href="{escape(job.run_url)}">MLflow run</a>'


def _metrics(metrics: Mapping[str, Any]) -> str:
    return _table(["metric", "value"], [[escape(k), escape(cell(v))] for k, v in metrics.items()])


def _preview(preview: Preview) -> str:
    rows = [[escape(v) for v in row] for row in preview.head]
    return f'<div class="scroll">{_table(preview.shown, rows, escape(preview.caption))}</div>'


def _figure(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    name = escape(plot.name)
    return (
        f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
        f"<figcaption>{name}</figcaption></figure>"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    """Cells are HTML already (escaped by the caller); numbers align right."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{_numeric(c)}>{c}</td>" for c in row) + "</tr>" for row in rows)
    caption = f"<caption>{caption}</caption>" if caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _numeric(text: str) -> str:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return ""
    return ' class="num"'


def _markdown(text: str) -> str:
    return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(demote(text)))


def _inline(text: str) -> str:
    return str(MarkdownIt("commonmark", {"html": False}).renderInline(text))


def _id(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower())
