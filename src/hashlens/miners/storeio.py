"""Write a validated dataset into the store in one transaction."""

from __future__ import annotations

from dataclasses import asdict, fields
from importlib import resources
from pathlib import Path
from typing import Any

from hashlens.miners.dataset import Dataset, Report, read_dataset, reconcile_treasuries
from hashlens.store import Store

# The store columns are the Report fields, in the same order.
REPORT_COLS = tuple(f.name for f in fields(Report))


def stored_reports(store: Store) -> list[Report]:
    rows = store.miner_report_rows(REPORT_COLS)
    return [Report(**dict(zip(REPORT_COLS, r, strict=True))) for r in rows]


def _figures(r: Report) -> dict[str, Any]:
    """A report's content without where it was read from (the same figures from another file agree)."""
    return {k: v for k, v in asdict(r).items() if not k.startswith("source_")}


def import_dataset(store: Store, ds: Dataset, source: str) -> dict[str, Any]:
    """Insert (or replace, by ticker and month) every row at once; the treasury check runs
    over stored and new reports together and its warnings are returned.

    A report already stored for the same ticker and month is compared first: identical ones
    are counted as unchanged, differing ones are replaced and named in ``replaced`` (the
    newer file wins), so a second source never overwrites a month without saying so."""
    new_keys = {(r.ticker, r.month) for r in ds.reports}
    stored = stored_reports(store)
    old_by_key = {(r.ticker, r.month): r for r in stored if (r.ticker, r.month) in new_keys}
    replaced = sorted(
        f"{r.ticker} {r.month:%Y-%m}"
        for r in ds.reports
        if (r.ticker, r.month) in old_by_key and _figures(old_by_key[(r.ticker, r.month)]) != _figures(r)
    )
    merged = [r for r in stored if (r.ticker, r.month) not in new_keys] + ds.reports
    warnings = reconcile_treasuries(merged)
    store.write_miner_dataset(
        [asdict(r) for r in ds.reports],
        REPORT_COLS,
        [asdict(t) for t in ds.treasuries],
        [asdict(f) for f in ds.facts],
        source,
    )
    return {
        "source": source,
        "reports": len(ds.reports),
        "treasuries": len(ds.treasuries),
        "facts": len(ds.facts),
        "unchanged": len(old_by_key) - len(replaced),
        "replaced": replaced,
        "warnings": warnings
        + ([f"{len(replaced)} stored report(s) replaced by {source}: {', '.join(replaced[:10])}"] if replaced else []),
    }


def bundled_sample_path() -> Path:
    return Path(str(resources.files("hashlens.data").joinpath("miners/sample.yaml")))


def ensure_sample(store: Store) -> None:
    """Load the bundled starter dataset into a store that has no miner data yet."""
    if store.miner_report_count() == 0:
        import_dataset(store, read_dataset(bundled_sample_path()), "bundled sample.yaml")
