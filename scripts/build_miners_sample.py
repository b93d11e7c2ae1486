"""Build hashlens' own starter dataset of listed miners from ../shared/data/miners.

Run once by a maintainer (`.venv/bin/python scripts/build_miners_sample.py`); the output,
src/hashlens/data/miners/sample.yaml, is committed. It keeps every figure as published and
adds where each came from.

Quarterly results (``results:``) are the rows of quarterly-results-2024-2026.csv, each with its
source (the file's ``same`` resolved to the row above's URL), the metric under its name in
hashlens' vocabulary, the company's name, and the day it was published where the source's
address names that day (a dated news path, a press-wire document key, a filing archive's
folder); the other rows are counted as published by the lag rule
(:data:`hashlens.miners.analysis.LAG_RULE`).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import yaml

from hashlens.miners.dataset import read_dataset
from hashlens.sources.datadir import require_data_dir

ROOT = Path(__file__).resolve().parents[1]
SRC = require_data_dir() / "miners"  # $HASHLENS_DATA or ../shared/data
OUT = ROOT / "src/hashlens/data/miners/sample.yaml"
ROUNDUP = "figures as published by the company, gathered in a public weekly mining news roundup (February 2026)"


def num(v: str) -> float | int | None:
    if v == "":
        return None
    x = float(v)
    return int(x) if x.is_integer() else x


COMPANIES = {
    "MARA": "MARA Holdings",
    "RIOT": "Riot Platforms",
    "CLSK": "CleanSpark",
    "IREN": "IREN",
    "CANG": "Cango",
    "BTDR": "Bitdeer Technologies",
    "WULF": "TeraWulf",
    "BTBT": "Bit Digital",
    "CAN": "Canaan",
}

# Addresses that name the day they were published: /YYYY/MM/DD/ paths, a press wire's document
# key (600-YYYYMMDDhhmm…), a filing archive's day folder (/YYYYMMDD/).
DATED_URL = (
    re.compile(r"/(20\d\d)/(\d\d)/(\d\d)/"),
    re.compile(r"dockey=\d+-(20\d\d)(\d\d)(\d\d)\d{4}"),
    re.compile(r"\.com/(20\d\d)(\d\d)(\d\d)/"),
)


def published_day(url: str | None) -> str | None:
    for pattern in DATED_URL:
        if url and (m := pattern.search(url)):
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return None


def results() -> list[dict[str, object]]:
    """The quarterly file through hashlens' own reader (which resolves ``same``, checks every
    row and names each metric as the vocabulary does), with company names and publication days."""
    out = []
    for f in read_dataset(SRC / "quarterly-results-2024-2026.csv").results:
        rec = f.model_dump(mode="json") | {"company": COMPANIES[f.ticker], "published": published_day(f.source_url)}
        out.append({k: v for k, v in rec.items() if v is not None})
    return out


def main() -> None:
    reports = []
    with open(SRC / "monthly-production-2025-12_2026-01.csv") as fh:
        for r in csv.DictReader(fh):
            rec = {
                "company": r["company"],
                "ticker": r["ticker"],
                "exchange": r["exchange"],
                "month": r["month"],
                "btc_mined": num(r["btc_mined"]),
                "btc_self_mined": num(r["btc_self_mined"]),
                "btc_cloud_mined": num(r["btc_cloud_mined"]),
                "hashrate_avg_ehs": num(r["hashrate_avg_ehs"]),
                "hashrate_month_end_ehs": num(r["hashrate_month_end_ehs"]),
                "hashrate_deployed_ehs": num(r["hashrate_deployed_ehs"]),
                "btc_sold": num(r["btc_sold"]),
                "treasury_btc": num(r["treasury_btc"]),
                "note": r["note"] or None,
                "source_title": f"{r['company']} production update for {r['month']}",
                "source_publisher": r["company"],
                "source_date": "2026-02",
                "source_url": None,
            }
            if "ETH" in (r["note"] or ""):
                rec["other_holdings"] = "3950 ETH (end of 2025)"
            reports.append({k: v for k, v in rec.items() if v is not None} | {"note": rec["note"] or ROUNDUP})
    treasuries = []
    with open(SRC / "treasuries-2026-02.csv") as fh:
        for r in csv.DictReader(fh):
            treasuries.append(
                {
                    "company": r["company"],
                    "ticker": r["ticker"],
                    "exchange": r["exchange"],
                    "as_of": r["as_of"],
                    "treasury_btc": num(r["treasury_btc"]),
                    "note": r["note"] or None,
                    "source_title": f"{r['company']} treasury disclosure, {ROUNDUP}",
                }
            )
    facts = []
    with open(SRC / "monthly-production-press-2024-01_2025-01.csv") as fh:
        for r in csv.DictReader(fh):
            facts.append({k: (num(v) if k == "value" else (v or None)) for k, v in r.items()})
    quarterly = results()
    doc = {
        "dataset": "hashlens starter sample of listed miners' monthly figures (Nov 2025 - Feb 2026, "
        "plus January 2024 and January 2025 press facts) and quarterly results (Q1 2024 - Q1 2026, nine "
        "companies); built by scripts/build_miners_sample.py from ../shared/data/miners; see its README "
        "for column meanings",
        "reports": reports,
        "treasuries": treasuries,
        "facts": facts,
        "results": quarterly,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110))
    print(
        f"wrote {OUT.relative_to(ROOT)}: {len(reports)} reports, {len(treasuries)} treasuries, {len(facts)} facts, "
        f"{len(quarterly)} results"
    )


if __name__ == "__main__":
    main()
