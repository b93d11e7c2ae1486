"""Report charts (matplotlib's Agg canvas, no display) written as PNG files.

Drawing is most of the report's own time, so each chart is laid out once, by hand: margins in
inches fixed for its kind of labels (no constrained or tight layout, which draws every figure
an extra time to measure it), a figure made without pyplot (no figure manager, nothing to
close) and no more tick labels than the axis needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
WIDTH_IN = 9.0
# Margins [in]: room for the title above, tick labels and an axis label on the left and below.
TOP_IN, BOTTOM_IN, RIGHT_IN = 0.42, 0.42, 0.2
LEFT_IN = 0.85  # y tick labels of up to ~7 characters and the y label
CHAR_IN = 0.08  # width of one 10-point label character, with some to spare [in]


def _figure(
    height_in: float, left_in: float = LEFT_IN, bottom_in: float = BOTTOM_IN, right_in: float = RIGHT_IN
) -> tuple[Figure, Axes]:
    """A figure of the report's width with one axes placed by fixed margins."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=left_in / WIDTH_IN,
        right=1 - right_in / WIDTH_IN,
        bottom=bottom_in / height_in,
        top=1 - TOP_IN / height_in,
    )
    return fig, fig.add_subplot()


#: zlib level of the PNG files: 1 encodes a chart in a fifth of the time of the default (6)
#: for files about a third larger (flat-coloured charts compress well either way).
PNG_COMPRESS_LEVEL = 1


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return path


def _date_axis(ax: Axes, first: date, last: date) -> None:
    """Year ticks (or month ticks on a span under three years), at most about ten labels."""
    from matplotlib.dates import DateFormatter, MonthLocator, YearLocator

    years = (last - first).days / 365.25
    if years >= 3:
        ax.xaxis.set_major_locator(YearLocator(max(1, int(np.ceil(years / 10)))))
        ax.xaxis.set_major_formatter(DateFormatter("%Y"))
    else:
        ax.xaxis.set_major_locator(MonthLocator(interval=max(1, int(np.ceil(years * 12 / 10)))))
        ax.xaxis.set_major_formatter(DateFormatter("%Y-%m"))


def _compact(value: float, _pos: object = None) -> str:
    """A log-axis tick label as plain text: 0.1, 1, 10, 100, 1k, 10k, 1M …"""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _plain_log_labels(ax: Axes) -> None:
    """Decade labels as plain text, no minor ticks. Matplotlib's default writes the labels as
    TeX (10^k), and parsing those through mathtext took over half of the report's drawing time."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.yaxis.set_minor_locator(NullLocator())  # dozens of unlabelled minor ticks, each a few artists


def line_chart(
    path: Path,
    title: str,
    ylabel: str,
    series: Sequence[tuple[str, Sequence[date], Sequence[float]]],
    band: tuple[Sequence[date], Sequence[float], Sequence[float]] | None = None,
    log: bool = False,
    marks: Sequence[tuple[date, float, str]] = (),
) -> Path:
    # A mark's label runs past its point: room for it on the right.
    fig, ax = _figure(3.6, right_in=0.8 if marks else RIGHT_IN)

    def days(xs: Sequence[date]) -> np.ndarray:
        return np.array(xs, dtype="datetime64[D]")

    if band is not None:
        ax.fill_between(
            days(band[0]), np.asarray(band[1]), np.asarray(band[2]), alpha=0.25, color="tab:blue", label="95 % interval"
        )
    for label, xs, ys in series:
        ax.plot(days(xs), np.asarray(ys, dtype=float), label=label, linewidth=1.4)
    for x, y, text in marks:
        ax.plot(days([x]), np.array([y]), "o", color="tab:red")
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8, color="tab:red")
    if log:
        ax.set_yscale("log")
        _plain_log_labels(ax)
    xs_all = [x for _, xs, _ in series for x in (xs[0], xs[-1]) if len(xs)]
    if xs_all:
        _date_axis(ax, min(xs_all), max(xs_all))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def bar_chart(
    path: Path,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    xlabel: str,
    colors: Sequence[str] | None = None,
) -> Path:
    # Room on the left for the longest label, below for the tick labels and the x label.
    left_in = 0.3 + CHAR_IN * max((len(s) for s in labels), default=4)
    fig, ax = _figure(0.28 * len(labels) + 1.2, left_in=left_in, bottom_in=0.62)
    ax.barh(list(labels), values, color=colors or "tab:blue")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x")
    ax.invert_yaxis()
    return _save(fig, path)


def adjustments_chart(path: Path, labels: Sequence[str], values: Sequence[float], title: str) -> Path:
    # Height labels turned 60 degrees need about 0.6 in below the axis.
    longest = max((len(s) for s in labels), default=7)
    fig, ax = _figure(3.2, bottom_in=0.25 + 0.055 * longest)
    ax.bar(list(labels), values, color=["tab:red" if v < 0 else "tab:green" for v in values])
    ax.set_title(title)
    ax.set_ylabel("% change")
    ax.grid(alpha=0.3, axis="y")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    return _save(fig, path)


__all__: list[Any] = ["adjustments_chart", "bar_chart", "line_chart"]
