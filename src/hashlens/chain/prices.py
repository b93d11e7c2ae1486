"""Importing a daily price series into the store: gaps refused unless allowed, stored prices
compared first, nothing written before the report is complete.

The one owner of a price import (:func:`store_prices`), for the CLI, the API, ``hashlens
update`` and the server's follower; and a price API's new days (:func:`fetch_prices`: read,
screened against the stored neighbours, then stored by :func:`store_price_news`), the price
half of ``hashlens update`` and of the follower's poll.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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


#: Stored prices on each side of a new one that the outlier screen compares it with.
PRICE_NEIGHBOURS = 3


class PriceUpdateResult(Result):
    """What one price update did (only days after the last stored one are taken)."""

    source: str
    currency: str
    days_added: int
    first_day: date | None
    last_day: date | None
    notes: list[str]


# -- a price API's new days ---------------------------------------------------------------------
@dataclass
class PriceNews:
    """New days of prices read and screened, not yet stored."""

    source: str
    currency: str
    points: list[PricePoint]
    notes: list[str]


def download_prices(url: str, currency: str, last: date | None) -> list[PricePoint]:
    """The days after ``last`` (every day if None) in ``currency`` from a price API
    (``mempool+…`` or ``kraken+…``, :mod:`hashlens.sources.price_apis`): the network part of
    :func:`fetch_prices`, which touches no store (the follower runs it outside the server's
    read lock)."""
    from hashlens.sources.price_apis import KrakenOHLC, open_price_source

    client = open_price_source(url, currency)
    cur = currency.upper()
    if isinstance(client, KrakenOHLC):
        since = 0 if last is None else int(datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp())
        points = client.daily_prices(since)
    else:
        points = client.daily_prices()
    return [p for p in points if p.currency == cur and (last is None or p.day > last)]


def screen_prices_news(
    store: Store, url: str, currency: str, points: list[PricePoint], now: int | None = None
) -> PriceNews:
    """New days read from ``url`` screened against the store: none after today, none more than
    10× off its neighbours (the last stored days included), gaps noted. Nothing is written."""
    from hashlens.sources.price_apis import screen_prices
    from hashlens.sources.prices import find_gaps

    cur = currency.upper()
    last = store.last_price_day(cur)
    points = [p for p in points if last is None or p.day > last]  # a day stored meanwhile stays as it is
    today = datetime.fromtimestamp(time.time() if now is None else now, UTC).date()
    late = [p for p in points if p.day > today]
    if late:
        raise HashlensError(f"{url}: a price for {late[0].day}, after today ({today}); the source is wrong")
    notes: list[str] = []
    if points:
        from hashlens.sources.prices import PricePoint

        before = []
        if last is not None:
            kept = store.prices_between(last - timedelta(days=PRICE_NEIGHBOURS * 2), last, cur)
            before = [PricePoint(d, cur, p) for d, p in sorted(kept.items())][-PRICE_NEIGHBOURS:]
        screen = screen_prices(before + points)
        new_days = {p.day for p in points}
        outliers = [o for o in screen.outliers if o[0] in new_days]
        if outliers:
            d, c, px, med = outliers[0]
            raise HashlensError(
                f"{url}: {len(outliers)} price(s) more than 10x off their neighbours, first {d} {c} "
                f"{px:,.2f} against {med:,.2f}; nothing stored"
            )
        gaps = find_gaps(([] if last is None else [PricePoint(last, cur, 1.0)]) + points).get(cur, [])
        if gaps:
            notes.append(f"{len(gaps)} day(s) without a price at the source, first {gaps[0]}: left as gaps")
    return PriceNews(url, cur, points, notes)


def fetch_prices(store: Store, url: str, currency: str = "USD", now: int | None = None) -> PriceNews:
    """The days after the last stored one from a price API, screened
    (:func:`download_prices`, then :func:`screen_prices_news`). Nothing is written."""
    points = download_prices(url, currency, store.last_price_day(currency.upper()))
    return screen_prices_news(store, url, currency, points, now)


def store_price_news(store: Store, news: PriceNews) -> PriceUpdateResult:
    """Store screened new days in one transaction (a stored price is never overwritten)."""
    pts = news.points
    if pts:
        store.write_prices([p.day for p in pts], [p.currency for p in pts], [p.price for p in pts], news.source)
    return PriceUpdateResult(
        source=news.source,
        currency=news.currency,
        days_added=len(pts),
        first_day=pts[0].day if pts else None,
        last_day=pts[-1].day if pts else None,
        notes=news.notes,
    )


def update_prices(store: Store, url: str, currency: str = "USD", now: int | None = None) -> PriceUpdateResult:
    """:func:`fetch_prices` then :func:`store_price_news` (the follower's price poll)."""
    return store_price_news(store, fetch_prices(store, url, currency, now))
