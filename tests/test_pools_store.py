"""The pool datasets in the store: imports kept per source, the daily totals against the
store's blocks per day, two sources side by side, and bad input refused whole.

Expected values are computed here from the shared CSV files with the csv module."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hashlens.pools.dataset import import_pool_file
from hashlens.store import Store
from tests.helpers import run_cli

WINDOW = (date(2017, 12, 26), date(2018, 2, 18))


@pytest.fixture(scope="module")
def pools_db(full_db: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full store (the shared pool datasets imported, the fixture coinbases attributed)."""
    path = tmp_path_factory.mktemp("pools") / "pools.duckdb"
    shutil.copy(full_db, path)
    with Store(path) as s:
        assert {x["source"] for x in s.pool_sources()} == {"canhui", "btl", "coinbase"}
    return path


def _block_times(data_dir: Path) -> dict[int, int]:
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        return {int(r["height"]): int(r["time"]) for r in csv.DictReader(fh)}


def _btl(data_dir: Path) -> tuple[list[date], dict[str, list[int]]]:
    with open(data_dir / "pools/btl-blocks-per-entity-daily-2018-2023.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    days = [datetime.strptime(d.strip(), "%d/%m/%Y").date() for d in rows[0][1:]]
    return days, {r[0]: [int(x) for x in r[1:]] for r in rows[1:]}


def test_daily_totals_equal_the_stores_blocks_per_utc_day(pools_db: Path, data_dir: Path) -> None:
    """Wherever both exist (whole UTC days inside a run of stored block times), btl's blocks per
    day over all its entities equal the store's blocks per day (times from the block-stats file)."""
    from hashlens.pools.days import daily_totals_check

    times = _block_times(data_dir)
    heights = sorted(times)
    per_day: Counter[date] = Counter()
    whole: set[date] = set()
    runs: list[list[int]] = [[heights[0]]]
    for h in heights[1:]:
        (runs[-1].append(h) if h == runs[-1][-1] + 1 else runs.append([h]))
    for run in runs:
        ts = [times[h] for h in run]
        for t in ts:
            per_day[datetime.fromtimestamp(t, tz=UTC).date()] += 1
        # a day is whole when the run's times reach two hours past both its edges
        first = datetime.fromtimestamp(min(ts) + 7200, tz=UTC).date().toordinal() + 1
        last = datetime.fromtimestamp(max(ts) - 7200, tz=UTC).date().toordinal() - 1
        whole |= {date.fromordinal(o) for o in range(first, last + 1)}
    days, table = _btl(data_dir)
    btl_total = {d: sum(v[i] for v in table.values()) for i, d in enumerate(days)}
    shared = sorted(d for d in whole if d in btl_total)
    assert len(shared) == 256  # PROVENANCE.md: 256 whole UTC days shared
    assert all(btl_total[d] == per_day[d] for d in shared)
    with Store(pools_db, read_only=True) as s:
        check = daily_totals_check(s, "btl")
    assert check["days_compared"] == 256 and check["days_differing"] == 0
    assert check["days"] == [str(d) for d in shared]
    assert check["store_blocks"] == [per_day[d] for d in shared]


def _expected_counts(data_dir: Path) -> tuple[Counter[str], Counter[str]]:
    """Blocks per name in the window, from the two files: canhui by block time, btl by day."""
    times = _block_times(data_dir)
    t0 = datetime(2017, 12, 26, tzinfo=UTC).timestamp()
    t1 = datetime(2018, 2, 19, tzinfo=UTC).timestamp()
    with open(data_dir / "pools/canhui-pool-label-per-block-400000-546235.csv") as fh:
        canhui = Counter(r["miningpool"] for r in csv.DictReader(fh) if t0 <= times.get(int(r["blockid"]), 0) < t1)
    days, table = _btl(data_dir)
    sel = [i for i, d in enumerate(days) if WINDOW[0] <= d <= WINDOW[1]]
    btl = Counter({k: sum(v[i] for i in sel) for k, v in table.items()})
    return canhui, +btl


@pytest.mark.slow
def test_two_sources_side_by_side_each_with_its_interval(pools_db: Path, data_dir: Path) -> None:
    canhui, btl = _expected_counts(data_dir)
    out = run_cli(
        pools_db,
        "pools",
        "--start",
        "2017-12-26",
        "--end",
        "2018-02-18",
        "--source",
        "canhui,btl",
        "--level",
        "cluster",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["sources"] == ["canhui", "btl"] and d["level"] == "cluster"
    rows = {r["pool"]: r["shares"] for r in d["rows"]}
    n_c, n_b = sum(canhui.values()), sum(btl.values())
    assert d["coverage"]["canhui"]["blocks"] == n_c and d["coverage"]["btl"]["blocks"] == n_b
    assert d["coverage"]["btl"]["days_covered"] == 49  # btl starts 2018-01-01
    # the one name table: canhui's AntPool + BTC.com are btl's Bitmain
    bitmain = rows["Bitmain"]
    assert bitmain["canhui"]["blocks"] == canhui["AntPool"] + canhui["BTC.com"]
    assert bitmain["btl"]["blocks"] == btl["Bitmain"]
    assert rows["BWPool"]["canhui"]["blocks"] == canhui["BW.COM"] and rows["BWPool"]["btl"]["blocks"] == btl["BWPool"]
    for src, n in (("canhui", n_c), ("btl", n_b)):
        x = bitmain[src]
        assert x["share"] == pytest.approx(x["blocks"] / n)
        assert x["share_low"] < x["share"] < x["share_high"]
    # --source selects either
    for src, counts in (("canhui", canhui), ("btl", btl)):
        one = run_cli(pools_db, "pools", "--start", "2017-12-26", "--end", "2018-02-18", "--source", src, "--json")
        assert one.returncode == 0, one.stderr
        r = json.loads(one.stdout)
        assert r["source"] == src
        assert sum(p["blocks"] for p in r["pools"]) + r["coverage"]["unknown_blocks"] == sum(counts.values())


@pytest.mark.parametrize(
    ("make", "args", "words"),
    [
        (
            lambda p: p.write_text('[{"id": 1, "name": "A", "addresses": [], "tags": ["/a/"]}'),
            ("import",),
            "not valid JSON",
        ),
        (
            lambda p: p.write_text(
                '[{"id": 1, "name": "A", "addresses": ["1NS4gbx1G2D5rc9PnvVsPys12nKxGiQg73"], "tags": []}]'
            ),
            ("import",),
            "checksum",
        ),
        (
            lambda p: p.write_text("blockid,miningpool\n400000,AntPool\n400001,F2Pool\n400000,BTCC\n"),
            ("import",),
            "labelled twice",
        ),
        (lambda p: p.write_text("Entity,01/01/2018\nA,x\n"), ("import",), "not a whole number"),
        (None, ("--source", "nosuch"), "unknown pool source"),
        (None, ("--source", "canhui", "--start", "2020-01-01", "--end", "2020-01-07"), "no blocks in"),
        (None, ("--source", "btl", "--window", "1008"), "per day"),
        (None, ("luck", "--source", "btl", "--start", "2030-01-01", "--end", "2030-01-07"), "no blocks in"),
    ],
)
def test_bad_input_one_error_line_exit_2_nothing_written(
    pools_db: Path, tmp_path: Path, make: Callable[[Path], object] | None, args: tuple[str, ...], words: str
) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(pools_db, db)
    with Store(db, read_only=True) as s:
        before = s.pool_sources()
    argv = ["pools", *args]
    if make is not None:
        f = tmp_path / ("bad.json" if words in ("not valid JSON", "checksum") else "bad.csv")
        make(f)
        argv.append(str(f))
    out = run_cli(db, *argv)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], out.stderr
    with Store(db, read_only=True) as s:
        assert s.pool_sources() == before


def test_a_reimport_replaces_its_source_and_keeps_the_other(tmp_path: Path, data_dir: Path) -> None:
    f = tmp_path / "mine.csv"
    rows = ["blockid,miningpool", *(f"{h},{'AntPool' if h % 3 else 'F2Pool'}" for h in range(501000, 501100))]
    f.write_text("\n".join(rows) + "\n")
    with Store(":memory:") as s:
        a = import_pool_file(s, f, "mine")
        import_pool_file(s, data_dir / "pools/btl-blocks-per-entity-daily-2018-2023.csv")
        b = import_pool_file(s, f, "mine")
        assert a.rows == b.rows == 100
        assert {x["source"]: x["rows"] for x in s.pool_sources()} == {"mine": 100, "btl": 31808}
        with pytest.raises(Exception, match="hashlens' own attribution"):
            import_pool_file(s, f, "coinbase")


@pytest.mark.slow
def test_pool_tables_on_both_backends(new_store: Callable[[], Store], data_dir: Path, tmp_path: Path) -> None:
    """The same import and window on DuckDB and PostgreSQL."""
    from hashlens.chain.sync import sync
    from hashlens.pools.analysis import pool_shares
    from hashlens.pools.models import PoolsRequest

    labels = tmp_path / "labels.csv"
    with open(data_dir / "pools/canhui-pool-label-per-block-400000-546235.csv") as fh:
        keep = [r for r in csv.DictReader(fh) if 500000 <= int(r["blockid"]) < 502000]
    labels.write_text("blockid,miningpool\n" + "".join(f"{r['blockid']},{r['miningpool']}\n" for r in keep))
    with new_store() as s:
        sync(s, str(data_dir / "chain"))
        import_pool_file(s, labels, "slice")
        r = pool_shares(s, PoolsRequest.build(source="slice", start="2017-12-20", end="2017-12-31"))
        expect = Counter(row["miningpool"] for row in keep)
        got = {p.pool: p.blocks for p in r.pools}
        assert got["AntPool"] <= expect["AntPool"] and r.coverage.heights_basis == "stored block times"
        assert r.network is not None and r.network.hashrate_ehs > 0


@pytest.mark.slow
def test_the_api_answers_what_the_library_computes(pools_db: Path) -> None:
    """/v1/pools/… take the request models as queries and return the library's result."""
    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app
    from hashlens.pools.analysis import compare_sources, pool_concentration, pool_luck, pool_shares
    from hashlens.pools.models import ConcentrationRequest, LuckRequest, PoolsRequest

    q = {"source": "canhui", "start": "2017-12-26", "end": "2018-02-18"}
    with Store(pools_db, read_only=True) as s:
        lib = pool_shares(s, PoolsRequest.build(**q)).to_json()
        both = compare_sources(s, PoolsRequest.build(**{**q, "source": "canhui,btl", "level": "cluster"})).to_json()
        luck = pool_luck(s, LuckRequest.build(source="btl", window="30d", as_of="2020-06-30")).to_json()
        conc = pool_concentration(
            s, ConcentrationRequest.build(source="btl", window="30d", as_of="2020-06-30")
        ).to_json()
    with TestClient(create_app(pools_db)) as c:
        assert c.get("/v1/pools", params=q).json() == json.loads(json.dumps(lib))
        assert c.get(
            "/v1/pools/compare", params={**q, "source": "canhui,btl", "level": "cluster"}
        ).json() == json.loads(json.dumps(both))
        assert c.get("/v1/pools/luck", params={"source": "btl", "window": "30d", "as_of": "2020-06-30"}).json() == (
            json.loads(json.dumps(luck))
        )
        assert c.get(
            "/v1/pools/concentration", params={"source": "btl", "window": "30d", "as_of": "2020-06-30"}
        ).json() == json.loads(json.dumps(conc))
        dom = c.get("/v1/pools/dominance", params={"source": "btl", "end": "2018-02-18"}).json()
        assert (
            dom["bin_start"][0] == "2018-01-01"
            and dom["blocks"][0]
            == sum(
                x["blocks"]
                for x in c.get(
                    "/v1/pools", params={"source": "btl", "start": "2018-01-01", "end": "2018-01-07"}
                ).json()["pools"]
            )
            + c.get("/v1/pools", params={"source": "btl", "start": "2018-01-01", "end": "2018-01-07"}).json()[
                "coverage"
            ]["unknown_blocks"]
        )
        bad = c.get("/v1/pools", params={"source": "nosuch"})
        assert bad.status_code == 400 and "unknown pool source" in bad.json()["detail"]
        refused = c.get("/v1/pools", params={"window": "0d"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["window"]
        assert {s["source"] for s in c.get("/v1/pools/sources").json()} == {"canhui", "btl", "coinbase"}


@pytest.mark.slow
def test_the_weekly_figures_say_who_mined_or_what_the_store_covers(pools_db: Path, tmp_path: Path) -> None:
    from hashlens.report.build import write_report
    from hashlens.weekly import WeeklyFigures

    with Store(pools_db, read_only=True) as s:
        covered = WeeklyFigures.compute(s, date(2018, 2, 18), paths=200)
        later = WeeklyFigures.compute(s, date(2026, 1, 31), paths=200)
    assert covered.pools is not None and covered.pools.covered and covered.pools.source in ("btl", "canhui")
    assert covered.pools.shares is not None
    assert later.pools is not None and not later.pools.covered
    text = write_report(covered, tmp_path / "a").markdown_path.read_text()
    section = text[text.index("## Who mined") :].split("\n## ")[0]
    first = covered.pools.shares.pools[0]
    assert f"{first.pool} found the most blocks, {first.blocks:,} of" in section
    text = write_report(later, tmp_path / "b").markdown_path.read_text()
    section = text[text.index("## Who mined") :].split("\n## ")[0]
    assert (
        "No pool attribution covers 2026-01-25 … 2026-01-31" in section
        and "btl (per day, 2018-01-01 … 2023-12-31)" in section
    )


@pytest.mark.slow
def test_the_benchmark_runs_in_its_smoke_mode() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_pools", "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "attribution of 6,000 coinbases" in out.stdout and out.stdout.count("ratio") == 4
    # each beside its strongest peer, and beside the loop
    assert "regular expression" in out.stdout and "SciPy" in out.stdout and out.stdout.count("(loop)") == 2
