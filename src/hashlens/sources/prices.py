"""Readers for daily BTC price series: CSV (long or wide), JSON, Parquet, with a column mapping.

Every row is checked: a parseable date no later than today (UTC), a positive finite price, no
duplicate day. Gaps (a missing calendar day inside the series) are refused unless the caller
allows them, so a series is never silently forward-filled. CSV and JSON are read by the one
reader (:mod:`hashlens.sources.reader`: size, depth, encoding and messages).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hashlens.errors import HashlensError
from hashlens.sources.reader import parse_csv, parse_json, read_bytes, read_text

#: Unix seconds from which a number in a date column is read as a time (2001-09-09).
UNIX_S_FROM = 10**9

DATE_NAMES = ("date", "day", "time", "timestamp")
PRICE_NAMES = ("price", "close", "value")


@dataclass(frozen=True)
class PricePoint:
    day: date
    currency: str
    price: float


def _parse_day(value: Any, where: str) -> date:
    s = str(value).strip()
    if s.isdigit() and len(s) >= 9:  # Unix seconds
        latest = int(datetime.now(UTC).timestamp()) + 86_400
        if len(s) > 12 or not UNIX_S_FROM <= int(s) <= latest:
            shown = s if len(s) <= 24 else s[:20] + "…"
            raise HashlensError(
                f"{where}: date {shown} read as Unix seconds is outside {UNIX_S_FROM:,} (2001) … now; write YYYY-MM-DD"
            )
        return datetime.fromtimestamp(int(s), tz=UTC).date()
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        shown = s if len(s) <= 24 else s[:20] + "…"
        raise HashlensError(f"{where}: date {shown!r} is not YYYY-MM-DD") from None


def _parse_price(value: Any, where: str) -> float:
    try:
        x = float(str(value).replace(",", "").strip())
    except ValueError:
        raise HashlensError(f"{where}: price {value!r} is not a number") from None
    if not math.isfinite(x) or x <= 0:
        raise HashlensError(f"{where}: price {value!r} must be positive")
    return x


def _pick(cols: list[str], wanted: str | None, names: tuple[str, ...], what: str, source: str) -> str:
    lower = {c.lower(): c for c in cols}
    if wanted:
        if wanted.lower() not in lower:
            raise HashlensError(f"{source}: no column {wanted!r} (columns: {', '.join(cols)})")
        return lower[wanted.lower()]
    for n in names:
        if n in lower:
            return lower[n]
    raise HashlensError(f"{source}: cannot tell the {what} column; pass --{what}-column (columns: {', '.join(cols)})")


def read_prices(
    path: str | Path,
    currency: str | None = None,
    date_column: str | None = None,
    price_column: str | None = None,
) -> list[PricePoint]:
    """Read a price file. Formats, detected from content:

    - CSV, long: a date column and a price column (names given or guessed), optional
      ``currency`` column, else ``currency`` (default USD);
    - CSV, wide: a date column and ``BTC_XXX`` columns, one currency each (the shared
      multi-currency file); ``currency`` picks one, else all are read;
    - JSON: ``{"YYYY-MM-DD": price}`` or a list of records (mapped like CSV);
    - Parquet: columns mapped like CSV.
    """
    p = Path(path)
    source = str(p)
    head = read_bytes(p, "price file")[:4]
    rows: list[dict[str, Any]]
    if head == b"PAR1":
        import duckdb

        con = duckdb.connect()
        try:
            rel = con.execute("SELECT * FROM read_parquet(?)", [source])
            cols = [d[0] for d in rel.description]
            rows = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
        except duckdb.Error as exc:
            raise HashlensError(f"{p}: not a readable Parquet file: {' '.join(str(exc).split())}") from None
        finally:
            con.close()
        first_line = 1
    elif (text := read_text(p, "price file")).lstrip()[:1] in ("[", "{"):
        data = parse_json(text, source)
        if isinstance(data, dict):
            cur = (currency or "").upper()
            if not cur:
                raise HashlensError(f"{p}: a {{date: price}} JSON file does not say its currency; pass --currency")
            return _check(
                [
                    PricePoint(_parse_day(k, f"{p}: key {k!r}"), cur, _parse_price(v, f"{p}: {k}"))
                    for k, v in data.items()
                ],
                source,
            )
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise HashlensError(f"{p}: expected a {{date: price}} object or a list of records")
        rows, first_line = data, 1
    else:
        rows = list(parse_csv(text, source))
        first_line = 2
    if not rows:
        raise HashlensError(f"{p}: no rows")
    cols = [str(c) for c in rows[0] if c is not None]
    dcol = _pick(cols, date_column, DATE_NAMES, "date", source)
    wide = [c for c in cols if c.upper().startswith("BTC_") and len(c) == 7]
    if wide and not price_column:
        pairs = [(c, c[4:].upper()) for c in wide if not currency or c[4:].upper() == currency.upper()]
        if not pairs:
            raise HashlensError(f"{p}: no BTC_{(currency or '').upper()} column (have {', '.join(wide)})")
    else:
        pairs = [(_pick(cols, price_column, PRICE_NAMES, "price", source), (currency or "USD").upper())]
    ccol = next((c for c in cols if c.lower() == "currency"), None)
    out = []
    for i, r in enumerate(rows):
        where = f"{p}: {'row' if first_line == 1 else 'line'} {i + first_line}"
        d = _parse_day(r.get(dcol), where)
        for col, cur in pairs:
            v = r.get(col)
            if v in (None, ""):
                raise HashlensError(f"{where}: {col} is empty")
            out.append(PricePoint(d, str(r[ccol]).upper() if ccol and not wide else cur, _parse_price(v, where)))
    return _check(out, source)


def _check(points: list[PricePoint], source: str) -> list[PricePoint]:
    """Points sorted by currency and day; refused: a day twice. (A day after today is refused by
    the import's contract, :class:`hashlens.economics.models.PricesImport`.)"""
    seen: set[tuple[date, str]] = set()
    for pt in points:
        key = (pt.day, pt.currency)
        if key in seen:
            raise HashlensError(f"{source}: {pt.day} {pt.currency} appears twice")
        seen.add(key)
    return sorted(points, key=lambda x: (x.currency, x.day))


def find_gaps(points: list[PricePoint]) -> dict[str, list[date]]:
    """Missing calendar days inside each currency's series."""
    by_cur: dict[str, list[date]] = {}
    for pt in points:
        by_cur.setdefault(pt.currency, []).append(pt.day)
    gaps: dict[str, list[date]] = {}
    for cur, days in by_cur.items():
        days.sort()
        missing = []
        for a, b in itertools.pairwise(days):
            d = a + timedelta(days=1)
            while d < b:
                missing.append(d)
                d += timedelta(days=1)
        if missing:
            gaps[cur] = missing
    return gaps
