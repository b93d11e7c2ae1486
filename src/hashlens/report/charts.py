"""Report charts (matplotlib, no display) written as PNG files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def line_chart(
    path: Path,
    title: str,
    ylabel: str,
    series: Sequence[tuple[str, Sequence[date], Sequence[float]]],
    band: tuple[Sequence[date], Sequence[float], Sequence[float]] | None = None,
    log: bool = False,
    marks: Sequence[tuple[date, float, str]] = (),
) -> Path:
    fig, ax = plt.subplots(figsize=(9, 3.6), constrained_layout=True)

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
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(labels) + 1.2), constrained_layout=True)
    ax.barh(labels, values, color=colors or "tab:blue")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x")
    ax.invert_yaxis()
    return _save(fig, path)


def adjustments_chart(path: Path, labels: Sequence[str], values: Sequence[float], title: str) -> Path:
    fig, ax = plt.subplots(figsize=(9, 3.2), constrained_layout=True)
    ax.bar(labels, values, color=["tab:red" if v < 0 else "tab:green" for v in values])
    ax.set_title(title)
    ax.set_ylabel("% change")
    ax.grid(alpha=0.3, axis="y")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    return _save(fig, path)
