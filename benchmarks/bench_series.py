"""The daily hashprice series, 2012 to the last stored day, into a Parquet file: hashlens
beside polars and beside DuckDB SQL, each reading the same store.

Run: ``python benchmarks/bench_series.py [--smoke] [--rounds R]`` (or ``sh scripts/bench series``).

- hashlens: ``series_table(store, None, last_day)`` (the chain clock, each day's period, tip
  height, trailing fees, subsidy, price, hashprice in BTC, sats and USD, the lowest-since of
  every day and the all-time low) and ``write_series``: what ``hashlens hashprice --start …
  --out x.parquet`` does. Measured twice: on a new handle on the store (the clock read from
  its tables: a process's first series at that store version) and on the same handle (the
  clock kept for the store version: every later one, as in ``hashlens serve``).
- polars (the strongest dataframe peer): the same tables read from the store as Arrow and
  sorted by polars (faster than DuckDB's ORDER BY), the period in force and the tip height by
  as-of joins on time, fees by a rolling 144-block mean, the subsidy by the halving shift, the
  next day's price by a join, ``write_parquet``.
- DuckDB SQL: the same computation as one query with ASOF JOINs and a window, ``COPY … TO``
  Parquet.

Every contender writes the same numeric columns (height, difficulty, period start height,
subsidy, fees, price, hashprice in BTC/PH, sats/TH, BTC/TH, USD/PH, USD/TH, after the halving
in BTC and USD) for the same days into a Snappy-compressed Parquet file (hashlens' and
DuckDB's default; polars' is zstd, so it is asked for Snappy). The peers do less than hashlens:
they date periods by stored start times only (interpolated where missing) and write none of
the texts (the three sources, the lowest-since day) nor whether the height is exact.

Every contender runs once untimed before the rounds (polars' import, DuckDB's first plan),
and each round writes a new file (the last round's removed untimed: on ext4, overwriting a
file just written waits for it to be flushed); the rounds interleave (the order reversed
every other round) and the ratios are of medians (above 1: hashlens faster), with the spread
of each round's own ratio beside the extremes' (the worst and best pair times from different
rounds, so they measure the load's swings as much as the code). The three files
are checked to agree on the days, columns and compression and, wherever polars dates the day
by the same period, on the BTC hashprice.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/bench_series.py`

import duckdb
import numpy as np
import pyarrow.parquet as pq

from benchmarks.common import Row, compare, interleave, parser
from hashlens.chain.prices import import_prices
from hashlens.chain.sync import sync
from hashlens.economics.daily import latest_day, series_table, write_series
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.prices import read_prices
from hashlens.store import Store

NAME = "series"

SQL = """
WITH p AS (
    SELECT p.period, p.bits, b.time AS start_time FROM periods p JOIN blocks b ON b.height = p.start_height
), pd AS (
    SELECT start_time, period * 2016 AS period_start_height,
           65535.0 / (bits & 16777215) * pow(256.0, 29 - (bits >> 24)) AS difficulty FROM p
), tip AS (
    SELECT height, max(time) OVER (ORDER BY height) AS tmax FROM blocks WHERE time IS NOT NULL
), fee AS (
    SELECT height, CASE WHEN count(*) OVER w = 144 THEN sum(totalfee_sat) OVER w / 144 / 1e8 END AS fees_btc
    FROM block_stats WINDOW w AS (ORDER BY height ROWS BETWEEN 143 PRECEDING AND CURRENT ROW)
), days AS (
    SELECT d::DATE AS day, epoch(d::DATE + 1) AS ts FROM range(?::DATE, ?::DATE + 1, INTERVAL 1 DAY) t(d)
), j AS (
    SELECT days.day, pd.difficulty, pd.period_start_height, tip.height FROM days
    ASOF LEFT JOIN pd ON days.ts >= pd.start_time
    ASOF LEFT JOIN tip ON days.ts >= tip.tmax
), k AS (
    SELECT j.day, j.height, j.difficulty, j.period_start_height, coalesce(fee.fees_btc, 0.0) AS fees_btc,
           50.0 / pow(2, j.height // 210000) AS subsidy_btc, 50.0 / pow(2, j.height // 210000 + 1) AS next_subsidy_btc,
           pr.price AS price_usd
    FROM j LEFT JOIN fee ON fee.height = j.height
    LEFT JOIN prices pr ON pr.currency = 'USD' AND pr.day = j.day + 1
), h AS (
    SELECT *, (subsidy_btc + fees_btc) * 86400e15 / (difficulty * 4294967296.0) AS btc_per_ph_day,
           (next_subsidy_btc + fees_btc) * 86400e15 / (difficulty * 4294967296.0) AS after_halving_btc_per_ph_day
    FROM k
)
SELECT day, height, difficulty, period_start_height, subsidy_btc, fees_btc, btc_per_ph_day,
       btc_per_ph_day / 1000 * 1e8 AS sats_per_th_day, btc_per_ph_day / 1000 AS btc_per_th_day, price_usd,
       btc_per_ph_day * price_usd AS usd_per_ph_day, btc_per_ph_day * price_usd / 1000 AS usd_per_th_day,
       after_halving_btc_per_ph_day, after_halving_btc_per_ph_day * price_usd AS after_halving_usd_per_ph_day
FROM h ORDER BY day
"""


def polars_series(con: duckdb.DuckDBPyConnection, first: str, last: str, out: Path) -> None:
    import polars as pl

    def read(sql: str) -> pl.DataFrame:
        df = pl.from_arrow(con.sql(sql).to_arrow_table())
        assert isinstance(df, pl.DataFrame)
        return df

    periods = read(
        "SELECT p.period, p.bits, b.time AS start_time FROM periods p LEFT JOIN blocks b ON b.height = p.start_height"
    ).sort("period")
    blocks = read("SELECT height, time FROM blocks WHERE time IS NOT NULL").sort("height")
    fees = read("SELECT height, totalfee_sat FROM block_stats").sort("height")
    prices = read("SELECT day, price AS price_usd FROM prices WHERE currency = 'USD'")
    periods = periods.with_columns(
        pl.col("start_time").cast(pl.Float64).interpolate().cast(pl.Int64),
        (pl.col("period").cast(pl.Int64) * 2016).alias("period_start_height"),
        (
            65535.0
            / (pl.col("bits") % 16777216).cast(pl.Float64)
            * pl.lit(256.0).pow(29 - (pl.col("bits") // 16777216).cast(pl.Int64))
        ).alias("difficulty"),
    ).sort("start_time")
    tips = blocks.with_columns(pl.col("time").cum_max().alias("tmax")).select("height", "tmax")
    fee = fees.with_columns(
        (pl.col("totalfee_sat").rolling_sum(144) / 144 / 1e8).alias("fees_btc"),
        (pl.col("height") - pl.col("height").shift(143)).alias("span"),
    ).filter(pl.col("span") == 143)
    days = pl.DataFrame({"day": pl.date_range(pl.lit(first).str.to_date(), pl.lit(last).str.to_date(), eager=True)})
    days = days.with_columns(((pl.col("day").cast(pl.Int64) + 1) * 86400).alias("ts"))
    reward = 86400e15 / (pl.col("difficulty") * 4294967296.0)
    df = (
        days.join_asof(
            periods.select("start_time", "difficulty", "period_start_height"), left_on="ts", right_on="start_time"
        )
        .join_asof(tips, left_on="ts", right_on="tmax")
        .join(fee.select("height", "fees_btc"), on="height", how="left")
        .join(prices.with_columns(pl.col("day") - pl.duration(days=1)), on="day", how="left")
        .with_columns(
            pl.col("fees_btc").fill_null(0.0),
            (50.0 / pl.lit(2.0).pow(pl.col("height") // 210000)).alias("subsidy_btc"),
            (50.0 / pl.lit(2.0).pow(pl.col("height") // 210000 + 1)).alias("next_subsidy_btc"),
        )
        .with_columns(
            ((pl.col("subsidy_btc") + pl.col("fees_btc")) * reward).alias("btc_per_ph_day"),
            ((pl.col("next_subsidy_btc") + pl.col("fees_btc")) * reward).alias("after_halving_btc_per_ph_day"),
        )
        .select(
            "day",
            "height",
            "difficulty",
            "period_start_height",
            "subsidy_btc",
            "fees_btc",
            "btc_per_ph_day",
            (pl.col("btc_per_ph_day") / 1000 * 1e8).alias("sats_per_th_day"),
            (pl.col("btc_per_ph_day") / 1000).alias("btc_per_th_day"),
            "price_usd",
            (pl.col("btc_per_ph_day") * pl.col("price_usd")).alias("usd_per_ph_day"),
            (pl.col("btc_per_ph_day") * pl.col("price_usd") / 1000).alias("usd_per_th_day"),
            "after_halving_btc_per_ph_day",
            (pl.col("after_halving_btc_per_ph_day") * pl.col("price_usd")).alias("after_halving_usd_per_ph_day"),
        )
        .sort("day")
    )
    df.write_parquet(out, compression="snappy")


def main() -> None:
    args = parser(__doc__).parse_args()
    rounds = args.rounds or (3 if args.smoke else 11)
    data = require_data_dir()
    tmp = Path(tempfile.mkdtemp(prefix="hashlens-bench-series-"))
    db = tmp / "series.duckdb"
    with Store(db) as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
    with Store(db, read_only=True) as s:
        con = s._con
        last = latest_day(s)
        first = s.first_price_day()
        assert first is not None
        outs = {k: tmp / f"{k}.parquet" for k in ("ours", "polars", "duckdb")}

        def ours() -> None:  # the clock kept for this store version (latest_day built it)
            table, _ = series_table(s, None, last)
            write_series(table, outs["ours"])

        def ours_cold() -> None:  # a new handle on the store: its clock built from the tables
            cur = s.cursor()
            table, _ = series_table(cur, None, last)
            write_series(table, outs["ours"])
            cur.close()

        def duck() -> None:
            con.execute(f"COPY ({SQL}) TO '{outs['duckdb']}' (FORMAT parquet)", [first, last])

        def fresh(run: Callable[[], None], out: Path) -> Callable[[], float]:
            """``run`` timed writing a new file: the last round's is removed untimed (overwriting
            it would have ext4 flush it first, ~1.5 ms that no contender's work accounts for)."""

            def timed() -> float:
                out.unlink(missing_ok=True)
                t0 = time.perf_counter()
                run()
                return time.perf_counter() - t0

            return timed

        contenders = {
            "ours": fresh(ours, outs["ours"]),
            "cold": fresh(ours_cold, outs["ours"]),
            "polars": fresh(
                lambda: polars_series(con, first.isoformat(), last.isoformat(), outs["polars"]), outs["polars"]
            ),
            "duckdb": fresh(duck, outs["duckdb"]),
        }
        for run in contenders.values():  # untimed: imports, first plans, the files created
            run()
        t = interleave(dict(contenders), rounds)
        days = (last - first).days + 1
        a, b, c = (pq.read_table(outs[k]) for k in ("ours", "polars", "duckdb"))
        assert a.num_rows == b.num_rows == c.num_rows == days, (a.num_rows, b.num_rows, c.num_rows)
        peer_columns = b.column_names[1:]  # the day is text in hashlens' file, a date in the peers'
        assert c.column_names == b.column_names and set(peer_columns) <= set(a.column_names), (b.schema, c.schema)
        for k in outs.values():  # one compression for all three
            meta = pq.ParquetFile(k).metadata
            codecs = {meta.row_group(0).column(i).compression for i in range(meta.num_columns)}
            assert codecs == {"SNAPPY"}, (k, codecs)
        ours_hp = np.asarray(a["btc_per_ph_day"])
        same_period = np.isclose(np.asarray(a["difficulty"]), np.asarray(b["difficulty"]), rtol=0, atol=0)
        agree = np.isclose(ours_hp, np.asarray(b["btc_per_ph_day"]), rtol=1e-9) | ~same_period
        print(
            f"{days:,} days from {first} to {last}; polars dates {same_period.mean():.1%} of days by the same period; "
            f"where it does, the BTC hashprice agrees on {agree.mean():.1%} of days"
        )
    shutil.rmtree(tmp, ignore_errors=True)
    for peer, label in (("polars", "polars (as-of joins, rolling fees)"), ("duckdb", "DuckDB SQL (ASOF JOIN, COPY)")):
        for mine, how in (("cold", "clock read from the store"), ("ours", "clock kept for the store version")):
            compare(
                Row(
                    NAME,
                    f"hashprice series, {days:,} days to Parquet ({how})",
                    "series_table + write_series",
                    label,
                    t[mine],
                    t[peer],
                    1.0,
                    days,
                    "days",
                )
            )
            # The same round's two times (run next to each other) share the machine's moment:
            # their ratio's spread is the comparison's own, not the load's swings between rounds.
            paired = sorted(p / o for o, p in zip(t[mine], t[peer], strict=True))
            print(
                f"  per round: ratio min {paired[0]:.2f}x, median {statistics.median(paired):.2f}x, "
                f"max {paired[-1]:.2f}x"
            )


if __name__ == "__main__":
    main()
