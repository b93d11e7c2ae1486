"""Write a validated dataset into the store in one transaction."""

from __future__ import annotations

from dataclasses import asdict, fields
from importlib import resources
from pathlib import Path
from typing import Any

from hashlens.errors import HashlensError
from hashlens.miners.dataset import Dataset, Report, read_dataset, reconcile_treasuries
from hashlens.miners.models import QuarterFact
from hashlens.store import Store
from hashlens.store.miners import RESULT_COLS

# The store columns are the Report fields, in the same order.
REPORT_COLS = tuple(f.name for f in fields(Report))


def stored_reports(store: Store) -> list[Report]:
    rows = store.miner_report_rows(REPORT_COLS)
    return [Report(**dict(zip(REPORT_COLS, r, strict=True))) for r in rows]


def stored_results(store: Store) -> list[QuarterFact]:
    """Every stored quarterly (or monthly) result, as the facts that were imported."""
    out = []
    for row in store.miner_result_rows():
        rec = {k: v for k, v in zip(RESULT_COLS, row, strict=True) if k != "period_start" and v is not None}
        out.append(QuarterFact.model_validate(rec))
    return out


def _result_row(f: QuarterFact) -> dict[str, Any]:
    return f.model_dump() | {"period_start": f.period_start}


def _result_conflicts(store: Store, results: list[QuarterFact], replace: bool) -> list[str]:
    """Stored results the new ones would change: refused (naming the first) unless ``replace``."""
    stored = {f.key(): f for f in stored_results(store)} if results else {}
    differ = [(stored[f.key()], f) for f in results if f.key() in stored and stored[f.key()].value != f.value]
    if differ and not replace:
        old, new = differ[0]
        raise HashlensError(
            f"{len(differ)} stored result(s) differ from this file (first {new.ticker} {new.period} {new.metric}: "
            f"stored {old.value:,g} {old.unit} from {old.source_url or old.source_kind}, file {new.value:,g}); "
            "nothing imported; pass --replace to overwrite them"
        )
    return [f"{new.ticker} {new.period} {new.metric}" for _, new in differ]


def _figures(r: Report) -> dict[str, Any]:
    """A report's content without where it was read from (the same figures from another file agree)."""
    return {k: v for k, v in asdict(r).items() if not k.startswith("source_")}


def import_dataset(store: Store, ds: Dataset, source: str, replace: bool = False) -> dict[str, Any]:
    """Insert (or replace, by ticker and month) every row at once; the treasury check runs
    over stored and new reports together and its warnings are returned.

    A report already stored for the same ticker and month is compared first: identical ones
    are counted as unchanged, differing ones are replaced and named in ``replaced`` (the
    newer file wins), so a second source never overwrites a month without saying so. A result
    (one number of a quarter) that differs from the stored one is refused, and nothing is
    written, unless ``replace``."""
    results_replaced = _result_conflicts(store, ds.results, replace)
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
        [_result_row(f) for f in ds.results],
    )
    return {
        "source": source,
        "reports": len(ds.reports),
        "treasuries": len(ds.treasuries),
        "facts": len(ds.facts),
        "results": len(ds.results),
        "results_replaced": results_replaced,
        "unchanged": len(old_by_key) - len(replaced),
        "replaced": replaced,
        "warnings": warnings
        + ([f"{len(replaced)} stored report(s) replaced by {source}: {', '.join(replaced[:10])}"] if replaced else []),
    }


def bundled_sample_path() -> Path:
    return Path(str(resources.files("hashlens.data").joinpath("miners/sample.yaml")))


def ensure_sample(store: Store) -> None:
    """Load the bundled starter dataset into a store that has no miner data yet, and its
    quarterly results into a store that has none (one filled before results existed)."""
    if store.miner_report_count() == 0:
        import_dataset(store, read_dataset(bundled_sample_path()), "bundled sample.yaml")
    elif store.miner_result_count() == 0:
        results = read_dataset(bundled_sample_path()).results
        import_dataset(store, Dataset(results=results), "bundled sample.yaml")
