"""The matplotlib adapter: PNG plots for reports and MLflow (DVC plots read the JSON beside them)."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from tasks.io import atomic_path


def line_plot(
    series: Mapping[str, Sequence[tuple[float, float]]],
    path: Path | str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    xscale: str = "linear",
    markers_only: bool = False,
    lines: Sequence[str] = (),
) -> Path:
    """One line per series; `markers_only` draws points instead, except for the series in `lines`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    for label, points in series.items():
        xs, ys = zip(*points, strict=True) if points else ((), ())
        ax.plot(
            xs,
            ys,
            marker="o" if markers_only and label not in lines else ".",
            linestyle="none" if markers_only and label not in lines else "-",
            label=label,
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xscale=xscale)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)
