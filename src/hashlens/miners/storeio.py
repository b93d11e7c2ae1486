"""Write a validated dataset into the store in one transaction."""

from __future__ import annotations

from dataclasses import asdict, fields
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from hashlens.miners.dataset import Dataset, Report, read_dataset, reconcile_treasuries
from hashlens.store import Store

# The store columns are the Report fields, in the same order.
REPORT_COLS = tuple(f.name for f in fields(Report))


def stored_reports(store: Store) -> list[Report]:
    cols = ", ".join(REPORT_COLS)
    rows = store.rows(f"SELECT {cols} FROM miner_reports ORDER BY ticker, month")
    return [Report(**dict(zip(REPORT_COLS, r, strict=True))) for r in rows]


def import_dataset(store: Store, ds: Dataset, source: str) -> dict[str, Any]:
    """Insert (or replace, by ticker and month) every row at once; the treasury check runs
    over stored and new reports together and its warnings are returned."""
    new_keys = {(r.ticker, r.month) for r in ds.reports}
    merged = [r for r in stored_reports(store) if (r.ticker, r.month) not in new_keys] + ds.reports
    warnings = reconcile_treasuries(merged)
    with store.transaction():
        if ds.reports:
            tbl = pa.Table.from_pylist([asdict(r) for r in ds.reports])
            store.insert_arrow("miner_reports", tbl, REPORT_COLS)
        if ds.treasuries:
            store.insert_arrow(
                "miner_treasuries",
                pa.Table.from_pylist([asdict(t) for t in ds.treasuries]),
                ("ticker", "as_of", "company", "treasury_btc", "note", "source_title"),
            )
        if ds.facts:
            store.insert_arrow(
                "miner_facts",
                pa.Table.from_pylist([asdict(f) for f in ds.facts]),
                ("ticker", "month", "company", "metric", "value", "unit", "source_url", "note"),
            )
        store.log(source, "miners", len(ds.reports) + len(ds.treasuries) + len(ds.facts))
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
    if store.scalar("SELECT count(*) FROM miner_reports") == 0:
        import_dataset(store, read_dataset(bundled_sample_path()), "bundled sample.yaml")
