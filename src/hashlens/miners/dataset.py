"""The monthly-report dataset: parse and validate CSV, JSON and YAML files.

Formats accepted (detected from the columns):

- hashlens' own format (CSV/JSON/YAML): one report per company and month with the columns of
  :data:`REPORT_COLUMNS`; YAML/JSON may hold ``reports:``, ``treasuries:``, ``facts:`` and
  ``results:`` lists.
- the shared folder's CSVs as they are: the wide monthly file (``btc_mined``, ``hashrate_*``,
  ``treasury_btc`` …), the long press file (``metric``, ``value``, ``source_url``), the
  treasury snapshots (``as_of``, ``treasury_btc``) and the quarterly results (``period``,
  ``period_end``, ``metric``, ``value``, ``unit``: :class:`hashlens.miners.models.QuarterFact`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hashlens.errors import HashlensError, Refused
from hashlens.miners.models import QuarterFact

NUMERIC = (
    "btc_mined",
    "btc_self_mined",
    "btc_hosted_mined",
    "btc_cloud_mined",
    "hashrate_avg_ehs",
    "hashrate_month_end_ehs",
    "hashrate_deployed_ehs",
    "btc_sold",
    "treasury_btc",
)
TEXT = (
    "company",
    "ticker",
    "exchange",
    "other_holdings",
    "note",
    "source_title",
    "source_publisher",
    "source_date",
    "source_url",
)
REPORT_COLUMNS = ("month", *TEXT, *NUMERIC)
TREASURY_COLUMNS = ("company", "ticker", "exchange", "as_of", "treasury_btc", "note", "source_title")
FACT_COLUMNS = ("company", "ticker", "month", "metric", "value", "unit", "source_url", "note")
RESULT_COLUMNS = tuple(QuarterFact.model_fields)
KINDS = ("reports", "treasuries", "facts", "results")


@dataclass(frozen=True)
class Report:
    ticker: str
    month: date
    company: str
    exchange: str | None = None
    btc_mined: float | None = None
    btc_self_mined: float | None = None
    btc_hosted_mined: float | None = None
    btc_cloud_mined: float | None = None
    hashrate_avg_ehs: float | None = None
    hashrate_month_end_ehs: float | None = None
    hashrate_deployed_ehs: float | None = None
    btc_sold: float | None = None
    treasury_btc: float | None = None
    other_holdings: str | None = None
    note: str | None = None
    source_title: str = ""
    source_publisher: str | None = None
    source_date: str | None = None
    source_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["month"] = self.month.strftime("%Y-%m")
        return d


@dataclass(frozen=True)
class Treasury:
    ticker: str
    as_of: date
    company: str
    treasury_btc: float
    note: str | None
    source_title: str


@dataclass(frozen=True)
class Fact:
    ticker: str
    month: date
    company: str
    metric: str
    value: float
    unit: str | None
    source_url: str
    note: str | None


@dataclass
class Dataset:
    reports: list[Report] = field(default_factory=list)
    treasuries: list[Treasury] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    results: list[QuarterFact] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_month(value: Any, where: str) -> date:
    s = str(value or "").strip()
    try:
        y, m = s.split("-")[:2]
        return date(int(y), int(m), 1)
    except (ValueError, OverflowError):
        raise HashlensError(f"{where}: month {s!r} must be YYYY-MM") from None


#: Plausibility bounds: no company has run more than the whole network (about 1,100 EH/s at
#: its 2026 high; 3,000 leaves room) or mined, sold or held more than the 21 M coins.
LIMITS = {"ehs": 3_000.0, "btc": 21_000_000.0}


def _number(rec: dict[str, Any], col: str, where: str) -> float | None:
    v = rec.get(col)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        raise HashlensError(f"{where}: {col} {v!r} is not a number") from None
    if not math.isfinite(x) or x < 0:
        raise HashlensError(f"{where}: {col} must be a non-negative number (got {v!r})")
    limit = LIMITS["ehs"] if col.endswith("_ehs") else LIMITS["btc"] if col.startswith(("btc_", "treasury_")) else None
    if limit is not None and x > limit:
        unit = "EH/s, more than the whole network" if col.endswith("_ehs") else "BTC, more than will ever exist"
        raise HashlensError(f"{where}: {col} {x:,g} is implausible (over {limit:,.0f} {unit}); check the unit")
    return x


def _text(rec: dict[str, Any], col: str) -> str | None:
    v = rec.get(col)
    return None if v is None or str(v).strip() == "" else str(v).strip()


def _check_columns(cols: list[str], allowed: tuple[str, ...], source: str) -> None:
    unknown = [c for c in cols if c not in allowed]
    if unknown:
        raise HashlensError(f"{source}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")


def report_from(rec: dict[str, Any], where: str, default_source: str) -> Report:
    for req in ("company", "ticker", "month"):
        if not _text(rec, req):
            raise HashlensError(f"{where}: {req} is required")
    nums = {c: _number(rec, c, where) for c in NUMERIC}
    parts: list[float] = [
        v for c in ("btc_self_mined", "btc_hosted_mined", "btc_cloud_mined") if (v := nums[c]) is not None
    ]
    if nums["btc_mined"] is not None and parts and sum(parts) > nums["btc_mined"] * 1.05 + 1:
        raise HashlensError(
            f"{where}: btc_self_mined + btc_hosted_mined + btc_cloud_mined ({sum(parts):g}) "
            f"exceed btc_mined ({nums['btc_mined']:g})"
        )
    return Report(
        ticker=str(rec["ticker"]).strip().upper(),
        month=parse_month(rec["month"], where),
        company=str(rec["company"]).strip(),
        exchange=_text(rec, "exchange"),
        **nums,
        other_holdings=_text(rec, "other_holdings"),
        note=_text(rec, "note"),
        source_title=_text(rec, "source_title") or default_source,
        source_publisher=_text(rec, "source_publisher"),
        source_date=_text(rec, "source_date"),
        source_url=_text(rec, "source_url"),
    )


def treasury_from(rec: dict[str, Any], where: str, default_source: str) -> Treasury:
    for req in ("company", "ticker", "as_of"):
        if _text(rec, req) is None:
            raise HashlensError(f"{where}: {req} is required")
    try:
        as_of = date.fromisoformat(str(rec["as_of"]).strip())
    except ValueError:
        raise HashlensError(f"{where}: as_of {rec['as_of']!r} must be YYYY-MM-DD") from None
    value = _number(rec, "treasury_btc", where)
    if value is None:  # blank, or only spaces: a snapshot without its figure is no snapshot
        raise HashlensError(
            f"{where}: treasury_btc is required (the BTC held on {as_of}); fill the cell or drop the row"
        )
    return Treasury(
        str(rec["ticker"]).strip().upper(),
        as_of,
        str(rec["company"]).strip(),
        value,
        _text(rec, "note"),
        _text(rec, "source_title") or default_source,
    )


def fact_from(rec: dict[str, Any], where: str) -> Fact:
    for req in ("company", "ticker", "month", "metric", "value", "source_url"):
        if rec.get(req) in (None, ""):
            raise HashlensError(f"{where}: {req} is required")
    try:
        value = float(rec["value"])  # a fact may be a negative change in %
    except (TypeError, ValueError):
        raise HashlensError(f"{where}: value {rec['value']!r} is not a number") from None
    if rec["metric"] != "btc_mined_mom_change" and value < 0:
        raise HashlensError(f"{where}: value of {rec['metric']} must not be negative")
    return Fact(
        str(rec["ticker"]).strip().upper(),
        parse_month(rec["month"], where),
        str(rec["company"]).strip(),
        str(rec["metric"]).strip(),
        value,
        _text(rec, "unit"),
        str(rec["source_url"]).strip(),
        _text(rec, "note"),
    )


def result_from(rec: dict[str, Any], where: str, previous: QuarterFact | None) -> QuarterFact:
    """One quarterly fact from a row: blank cells are absent; ``source_url: same`` (the shared
    file's convention) is the URL of the row above, which must be the same company's period."""
    clean = {k: v for k, v in rec.items() if not (v is None or (isinstance(v, str) and not v.strip()))}
    if str(clean.get("source_url", "")).strip().lower() == "same":
        if previous is None or previous.source_url is None:
            raise HashlensError(f"{where}: source_url 'same' but no row above with a source_url")
        if str(clean.get("ticker", "")).strip().upper() != previous.ticker or str(clean.get("period", "")).strip() != (
            previous.period
        ):
            raise HashlensError(f"{where}: source_url 'same' but the row above is another company's or period's")
        clean["source_url"] = previous.source_url
    try:
        return QuarterFact.parse(clean)
    except Refused as exc:
        raise HashlensError(f"{where}: {exc}") from None


def _records_from_file(path: Path) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """Group a file's records as reports/treasuries/facts/results by their columns; says the row unit."""
    from hashlens.sources.reader import parse_csv, parse_json, parse_yaml, read_text

    text = read_text(path, "miners file")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):
        data = parse_json(text, str(path)) if suffix == ".json" else parse_yaml(text, str(path))
        if isinstance(data, list):
            data = {"reports": data}
        if not isinstance(data, dict):
            raise HashlensError(f"{path}: expected reports:, treasuries: and/or facts: lists")
        unknown = [k for k in data if k not in (*KINDS, "dataset")]
        if unknown:
            raise HashlensError(f"{path}: unknown top-level key(s) {', '.join(unknown)}")
        out: dict[str, list[dict[str, Any]]] = {}
        for k in KINDS:
            value = data.get(k) or []
            if not isinstance(value, list):
                raise HashlensError(f"{path}: {k}: must be a list of entries, not {type(value).__name__}")
            out[k] = value
        for k, rows in out.items():
            if not all(isinstance(r, dict) for r in rows):
                raise HashlensError(f"{path}: every entry of {k}: must be a mapping")
        return out, "entry"
    rows = list(parse_csv(text, str(path)))
    cols = list(rows[0].keys()) if rows else []
    kind = (
        "results"
        if "period_end" in cols or "period" in cols
        else "facts"
        if "metric" in cols
        else "treasuries"
        if "as_of" in cols
        else "reports"
    )
    return {k: rows if k == kind else [] for k in KINDS}, "line"


def read_dataset(path: str | Path) -> Dataset:
    """Parse and validate one file. Errors name the file, row and field."""
    p = Path(path)
    try:
        groups, unit = _records_from_file(p)
    except OSError as exc:
        raise HashlensError(f"{p}: {exc.strerror}") from None
    ds = Dataset()
    default_source = p.name
    kinds = (
        ("reports", REPORT_COLUMNS),
        ("treasuries", TREASURY_COLUMNS),
        ("facts", FACT_COLUMNS),
        ("results", RESULT_COLUMNS),
    )
    first_of: dict[tuple[str, date, date, str], tuple[QuarterFact, str]] = {}
    for kind, allowed in kinds:
        rows = groups[kind]
        previous: QuarterFact | None = None
        for i, rec in enumerate(rows):
            rec = {str(k).strip(): v for k, v in rec.items() if k is not None}
            n = i + 2 if unit == "line" else i + 1
            where = f"{p}: {kind} {unit} {n}" if unit == "entry" else f"{p}: {unit} {n}"
            _check_columns(list(rec), allowed, where)
            if kind == "reports":
                ds.reports.append(report_from(rec, where, default_source))
            elif kind == "treasuries":
                ds.treasuries.append(treasury_from(rec, where, default_source))
            elif kind == "facts":
                ds.facts.append(fact_from(rec, where))
            else:
                fact = previous = result_from(rec, where, previous)
                first = first_of.get(fact.key())
                if first is None:
                    first_of[fact.key()] = (fact, where)
                    ds.results.append(fact)
                elif first[0].value != fact.value:
                    raise HashlensError(
                        f"{where}: {fact.ticker} {fact.period} {fact.metric} {fact.value:,g} {fact.unit} differs from "
                        f"{first[1].removeprefix(str(p) + ': ')} ({first[0].value:,g}): one fact has one value; "
                        "keep the row you trust"
                    )
    seen: set[tuple[str, date]] = set()
    for r in ds.reports:
        if (r.ticker, r.month) in seen:
            raise HashlensError(f"{p}: {r.ticker} {r.month:%Y-%m} appears twice")
        seen.add((r.ticker, r.month))
    return ds


def reconcile_treasuries(
    reports: list[Report], tolerance_btc: float = 25.0, tolerance_share: float = 0.02
) -> list[str]:
    """Warnings where month-end treasury ≠ last month's + mined − sold beyond a tolerance
    (max of ``tolerance_btc`` and ``tolerance_share`` of the holding): purchases, loans,
    pledges and transfers are common reasons, so it is a warning naming the row, not an error."""
    out = []
    by_ticker: dict[str, list[Report]] = {}
    for r in reports:
        by_ticker.setdefault(r.ticker, []).append(r)
    for ticker, rs in by_ticker.items():
        rs.sort(key=lambda r: r.month)
        for prev, cur in itertools.pairwise(rs):
            consecutive = (cur.month.year * 12 + cur.month.month) - (prev.month.year * 12 + prev.month.month) == 1
            if not consecutive or prev.treasury_btc is None or cur.treasury_btc is None or cur.btc_mined is None:
                continue
            expected = prev.treasury_btc + cur.btc_mined - (cur.btc_sold or 0.0)
            gap = cur.treasury_btc - expected
            if abs(gap) > max(tolerance_btc, tolerance_share * max(expected, cur.treasury_btc)):
                out.append(
                    f"{ticker} {cur.month:%Y-%m}: treasury {cur.treasury_btc:,.0f} BTC but {prev.month:%Y-%m}'s "
                    f"{prev.treasury_btc:,.0f} + mined {cur.btc_mined:,.0f} - sold {cur.btc_sold or 0:,.0f} = "
                    f"{expected:,.0f} ({gap:+,.0f} BTC unexplained: purchases, sales not reported, loans or pledges?)"
                )
    return out
