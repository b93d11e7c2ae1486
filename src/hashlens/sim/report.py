"""A fan chart of a simulation summary (PNG, matplotlib with no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def fan_chart(summary: dict[str, Any], out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ser = summary["series"]
    days = ser["day"]
    panels = [
        ("difficulty", "difficulty [T]", 1e-12),
        ("hashrate_ehs", "hashrate [EH/s]", 1.0),
        ("hashprice_usd_per_ph_day", "hashprice [USD/PH/day]", 1.0),
        ("price_usd", "BTC price [USD]", 1.0),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    for ax, (key, label, scale) in zip(axes.flat, panels, strict=True):
        q = {k: [v * scale for v in vals] for k, vals in ser[key].items()}
        ax.fill_between(days, q["p5"], q["p95"], alpha=0.2, color="tab:blue", label="5-95 %")
        ax.fill_between(days, q["p25"], q["p75"], alpha=0.35, color="tab:blue", label="25-75 %")
        ax.plot(days, q["p50"], color="tab:blue", label="median")
        ax.set_title(label)
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(loc="best", fontsize=8)
    fig.suptitle(f"{summary['scenario']}: {summary['paths']:,} paths, {summary['days']:g} days")
    out = Path(out)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
