"""Importing a daily price series into the store: gaps refused unless allowed, stored prices
compared first, nothing written before the report is complete.

The one owner of a price import (:func:`store_prices`), for the CLI, the API, ``hashlens
update`` and the server's follower.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from hashlens.contracts import Result
from hashlens.errors import HashlensError
from hashlens.sources.prices import PricePoint, find_gaps
from hashlens.store import Store


class PricesImported(Result):
    """What a price import stored and found (``hashlens prices import``, ``POST /v1/import/prices``)."""

    source: str
    rows: int = Field(..., description="Prices in the import [-].")
    currencies: list[str]
    gaps: dict[str, list[str]] = Field(..., description="Missing days per currency (the first ten, then '...').")
    new: int = Field(..., description="Prices stored for the first time [-].")
    unchanged: int = Field(..., description="Prices equal to the stored ones [-].")
    replaced: int = Field(..., description="Stored prices overwritten (with replace) [-].")
    replaced_days: list[str] = Field(..., description="Their days and currencies (the first ten, then '...').")


def store_prices(
    store: Store, points: list[PricePoint], source: str, allow_gaps: bool = False, replace: bool = False
) -> PricesImported:
    """Store a price series in one transaction; refuse gaps unless allowed (they are then
    left as gaps, never filled).

    Prices already stored for a day and currency are compared first: equal ones are counted
    as unchanged; differing ones refuse the import (naming how many and which days) unless
    ``replace``, when they are overwritten and the report says which. Nothing is written
    before the report is complete. ``allow_gaps``, ``replace`` and ``source`` are
    :class:`~hashlens.economics.models.PricesImport`'s fields
    (:func:`hashlens.economics.daily.price_points` gives its points)."""
    gaps = find_gaps(points)
    if gaps and not allow_gaps:
        cur, days = next(iter(gaps.items()))
        raise HashlensError(
            f"{source}: {sum(len(v) for v in gaps.values())} missing day(s), first {cur} {days[0]}; "
            "pass --allow-gaps to store the series with its gaps"
        )
    stored = (
        store.stored_prices([p.currency for p in points], min(p.day for p in points), max(p.day for p in points))
        if points
        else {}
    )
    differ = []
    unchanged = 0
    for p in points:
        old = stored.get((p.day, p.currency))
        if old is None:
            continue
        if old == p.price:
            unchanged += 1
        else:
            differ.append((p.day, p.currency, old, p.price))
    differ.sort()

    def days_of(rows: list[tuple[date, str, float, float]]) -> list[str]:
        return [f"{d.isoformat()} {c}" for d, c, _, _ in rows[:10]] + (["..."] if len(rows) > 10 else [])

    if differ and not replace:
        d, c, old, new = differ[0]
        raise HashlensError(
            f"{source}: {len(differ)} stored price(s) differ from this file (first {c} {d.isoformat()}: "
            f"stored {old:g}, file {new:g}); nothing imported; pass --replace to overwrite them"
        )
    result = PricesImported(
        source=source,
        rows=len(points),
        currencies=sorted({p.currency for p in points}),
        gaps={k: [d.isoformat() for d in v[:10]] + (["..."] if len(v) > 10 else []) for k, v in gaps.items()},
        new=len(points) - unchanged - len(differ),
        unchanged=unchanged,
        replaced=len(differ),
        replaced_days=days_of(differ),
    )
    store.write_prices([p.day for p in points], [p.currency for p in points], [p.price for p in points], source)
    return result


def import_prices(
    store: Store, points: list[PricePoint], source: str, allow_gaps: bool = False, replace: bool = False
) -> dict[str, Any]:
    """:func:`store_prices` as plain data (its JSON)."""
    return store_prices(store, points, source, allow_gaps, replace).to_json()


__all__ = ["PricesImported", "import_prices", "store_prices"]
