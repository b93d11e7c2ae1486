"""Build hashlens' own starter dataset of listed miners from ../shared/data/miners.

Run once by a maintainer (`.venv/bin/python scripts/build_miners_sample.py`); the output,
src/hashlens/data/miners/sample.yaml, is committed. It keeps every figure as published and
adds where each came from.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "../shared/data/miners"
OUT = ROOT / "src/hashlens/data/miners/sample.yaml"
ROUNDUP = "figures as published by the company, gathered in a public weekly mining news roundup (February 2026)"


def num(v: str) -> float | int | None:
    if v == "":
        return None
    x = float(v)
    return int(x) if x.is_integer() else x


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
    doc = {
        "dataset": "hashlens starter sample of listed miners' monthly figures (Nov 2025 - Feb 2026, "
        "plus January 2024 and January 2025 press facts); built by scripts/build_miners_sample.py "
        "from ../shared/data/miners; see its README for column meanings",
        "reports": reports,
        "treasuries": treasuries,
        "facts": facts,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110))
    print(f"wrote {OUT.relative_to(ROOT)}: {len(reports)} reports, {len(treasuries)} treasuries, {len(facts)} facts")


if __name__ == "__main__":
    main()
