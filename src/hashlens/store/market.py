"""Typed reads and writes of daily prices."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from hashlens.store.db import Database


class MarketQueries(Database):
    """The ``prices`` table: one price per UTC day and currency."""

    def write_prices(self, days: list[date], currency: list[str], price: list[float], source: str) -> None:
        """Insert or replace prices by (day, currency), with the import logged, in one transaction."""
        import pyarrow as pa

        tbl = pa.table(
            {
                "day": pa.array(days, pa.date32()),
                "currency": currency,
                "price": pa.array(price, pa.float64()),
                "source": [source] * len(days),
            }
        )
        with self.transaction():
            self._insert_arrow("prices", tbl, ("day", "currency", "price", "source"))
            self.log(source, "prices", len(days))

    def stored_prices(self, currencies: list[str], start: date, end: date) -> dict[tuple[date, str], float]:
        """Stored prices of the given currencies between two days, by (day, currency)."""
        if not currencies:
            return {}
        rows = self._rows(
            "SELECT day, currency, price FROM prices WHERE currency IN (SELECT unnest(?::VARCHAR[])) "
            "AND day BETWEEN ? AND ?",
            [sorted(set(currencies)), start, end],
        )
        return {(d, str(c)): float(x) for d, c, x in rows}

    def price_on(self, day: date, currency: str = "USD") -> float | None:
        v = self._scalar("SELECT price FROM prices WHERE day = ? AND currency = ?", [day, currency.upper()])
        return None if v is None else float(v)

    def prices_between(self, start: date, end: date, currency: str = "USD") -> dict[date, float]:
        rows = self._rows(
            "SELECT day, price FROM prices WHERE currency = ? AND day BETWEEN ? AND ?", [currency.upper(), start, end]
        )
        return {d: float(p) for d, p in rows}

    def price_series(self, currency: str = "USD") -> tuple[np.ndarray, np.ndarray]:
        """(days as datetime64[D], prices) of one currency, by day."""
        cols: dict[str, Any] = self._numpy("SELECT day, price FROM prices WHERE currency = ?", [currency.upper()])
        days, prices = np.asarray(cols["day"], dtype="datetime64[D]"), np.asarray(cols["price"], dtype=float)
        if not bool((days[1:] > days[:-1]).all()):  # ordered here only where stored out of order
            order = np.argsort(days)
            days, prices = days[order], prices[order]
        return days, prices

    def last_price_day(self, currency: str = "USD") -> date | None:
        d: date | None = self._scalar("SELECT max(day) FROM prices WHERE currency = ?", [currency.upper()])
        return d

    def first_price_day(self, currency: str = "USD") -> date | None:
        d: date | None = self._scalar("SELECT min(day) FROM prices WHERE currency = ?", [currency.upper()])
        return d
