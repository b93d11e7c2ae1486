"""Every sentence the report writes is computed from the numbers it states (issue 21.5).

As of 2026-02-10, the storm week, on a store filled from the shared data as a user's is. Each
expected number is worked out here from the shared files themselves: targets from Electrum's
checkpoints (entry i holds period i + 1's target, PROVENANCE.md), block times from the block-stats
dump and ``chain-2026``, the miners' month-end hashrates from the monthly production file.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hashlens.report.build import build_report
from hashlens.store import Store
from tests.conftest import copy_db

DAY = date(2026, 2, 10)
PATHS = 200


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, shared_db: Path) -> Path:
    """The session's store of the automatic fill (chain, chain-extra, chain-2026, prices, sample)."""
    return copy_db(shared_db, tmp_path_factory, "sentences")


def report_text(db: Path, out: Path, price: float | None = None) -> str:
    with Store(db, read_only=True) as s:
        return build_report(s, out, DAY, price=price, paths=PATHS).markdown_path.read_text()


@pytest.fixture(scope="module")
def text(db: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return report_text(db, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def targets(data_dir: Path) -> dict[int, int]:
    entries = json.loads((data_dir / "chain/electrum-mainnet-checkpoints.json").read_text())
    return {i + 1: int(e[1]) for i, e in enumerate(entries)}


@pytest.fixture(scope="module")
def times(data_dir: Path) -> dict[int, int]:
    out: dict[int, int] = {}
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        for row in csv.DictReader(fh):
            if int(row["height"]) >= 933_408:
                out[int(row["height"])] = int(row["time"])
    with open(data_dir / "chain-2026/block-times-934576-942199.csv") as fh:
        out |= {int(r["height"]): int(r["time"]) for r in csv.DictReader(fh)}
    return out


def work(target: int) -> int:
    """Core's GetBlockProof: 2^256 / (target + 1)."""
    return 2**256 // (target + 1)


def ehs(x: float) -> str:
    return f"{x / 1e18:,.1f} EH/s"


def test_the_hashrate_sentence_names_the_running_periods_window(
    text: str, targets: dict[int, int], times: dict[int, int]
) -> None:
    # The running period began at 935,424 (period 464); its blocks to the end of the day:
    end = datetime(2026, 2, 11, tzinfo=UTC).timestamp()
    running_max, tip = 0, 935_424
    for h in range(935_424, 942_200):
        running_max = max(running_max, times[h])
        if running_max > end:
            break
        tip = h
    running = (tip - 935_424) * work(targets[464]) / (times[tip] - times[935_424])
    completed = 2016 * work(targets[463]) / (times[935_424] - times[933_408])
    assert tip == 935_967 and ehs(running) == "994.8 EH/s" and ehs(completed) == "900.4 EH/s"
    line = next(x for x in text.splitlines() if x.startswith("In the running period"))
    assert f"its {tip - 935_424 + 1} blocks from height 935,424 to {tip:,}" in line
    assert f"**{ehs(running)}**" in line
    assert f"above the last completed period's mean of {ehs(completed)} (heights 933,408 to 935,423)" in line
    # the mean of the period that ended on 02-07 is never given as the day's rate
    assert "network ran at **900.4" not in text


def test_the_streak_says_how_many_of_the_last_adjustments_fell(text: str, targets: dict[int, int]) -> None:
    # change = old target / new target - 1, periods 457 … 464 (heights 921,312 … 935,424)
    changes = [targets[p - 1] / targets[p] - 1 for p in range(457, 465)]
    signs = "".join("-" if c < 0 else "+" for c in changes)
    assert signs == "+---+---"  # 3 in a row; of the last 7, one rise (929,376)
    assert "3 drops in a row (6 of the last 7 fell)" in text


def test_the_all_time_low_comparison_is_made_on_the_values(db: Path, tmp_path: Path, targets: dict[int, int]) -> None:
    # At $30,000 the day's hashprice, subsidy only (chain-2026 holds times, not fees), is
    # 3.125 · 86,400 · 10^15 / (difficulty · 2^32) · 30,000 USD per PH/s per day.
    difficulty = 0xFFFF * 2**208 / targets[464]
    usd = 3.125 * 86_400e15 / (difficulty * 2**32) * 30_000
    assert f"{usd:.2f}" == "14.98"
    line = next(x for x in report_text(db, tmp_path / "p", 30_000).splitlines() if x.startswith("The all-time low"))
    low = float(re.search(r"The all-time low is \$([\d,.]+)", line).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert usd < low and f"today's value, ${usd:.2f}, is below it" in line and "above" not in line


def test_the_stored_price_keeps_today_above_the_low(text: str) -> None:
    line = next(x for x in text.splitlines() if x.startswith("The all-time low"))
    low = float(re.search(r"The all-time low is \$([\d,.]+)", line).group(1).replace(",", ""))  # type: ignore[union-attr]
    today = float(re.search(r"today's value, \$([\d,.]+)", line).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert today > low and "is above it" in line


def test_miners_notes_compare_month_ends(text: str, data_dir: Path) -> None:
    with open(data_dir / "miners/monthly-production-2025-12_2026-01.csv") as fh:
        end = {(r["ticker"], r["month"]): r["hashrate_month_end_ehs"] for r in csv.DictReader(fh)}
    rows: dict[str, str] = {}  # the production table's rows (the treasury table's come after it)
    for m in re.finditer(r"^\| \d+ \| [^|]*\((\w+)\) \|.*$", text, re.M):
        rows.setdefault(m.group(1), m.group(0))
    # Canaan's month-end hashrate fell: no note may say its fleet grew
    can = rows["CAN"]
    assert (end["CAN", "2025-12"], end["CAN", "2026-01"]) == ("7.6", "6.6")
    assert "fell 7.6 → 6.6 EH/s" in can and "grew" not in can and "rose" not in can
    cells = can.split("|")
    ratio = float(cells[3]) / float(cells[5])  # BTC mined / expected BTC, as the row states them
    assert f"between {ratio * 6.6 / 7.6:.2f} and {ratio:.2f}" in can
    # Bitdeer's rose 55.2 → 63.2: growth explains at most ratio × 63.2 / 55.2, named as such
    btdr = rows["BTDR"]
    assert (end["BTDR", "2025-12"], end["BTDR", "2026-01"]) == ("55.2", "63.2")
    cells = btdr.split("|")
    ratio = float(cells[3]) / float(cells[5])  # BTC mined / expected BTC, as the row states them
    assert "rose 55.2 → 63.2 EH/s" in btdr and f"explains at most {ratio:.2f} → {ratio * 63.2 / 55.2:.2f}" in btdr


def test_the_treasury_footnote_states_the_publication_lag(text: str) -> None:
    ref = re.search(r"Largest bitcoin treasuries held by listed miners\[\^(\d+)\]", text)
    assert ref is not None
    note = next(x for x in text.splitlines() if x.startswith(f"[^{ref.group(1)}]:"))
    assert "7 days after its month ends" in note and "on that day" in note


def test_the_largest_drop_since_names_its_height_and_day(text: str, targets: dict[int, int]) -> None:
    # the last earlier adjustment that fell at least as far as 935,424's −11.16 %
    change = {p: targets[p - 1] / targets[p] - 1 for p in range(2, 465)}
    since = max(p for p in range(2, 464) if change[p] <= change[464])
    assert since * 2016 == 689_472
    # its day (2021-07-03, the review's and the press's) beside the height
    assert "It is the largest drop since the adjustment at height 689,472 (2021-07-03)." in text
