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


def import_dataset(store: Store, ds: Dataset, source: str) -> dict[str, Any]:
    """Insert (or replace, by ticker and month) every row at once; the treasury check runs
    over stored and new reports together and its warnings are returned."""
    new_keys = {(r.ticker, r.month) for r in ds.reports}
    merged = [r for r in stored_reports(store) if (r.ticker, r.month) not in new_keys] + ds.reports
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
        "warnings": warnings,
    }


def bundled_sample_path() -> Path:
    return Path(str(resources.files("hashlens.data").joinpath("miners/sample.yaml")))


def ensure_sample(store: Store) -> None:
    """Load the bundled starter dataset into a store that has no miner data yet."""
    if store.miner_report_count() == 0:
        import_dataset(store, read_dataset(bundled_sample_path()), "bundled sample.yaml")
