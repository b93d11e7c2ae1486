"""`hashlens serve --follow`: the server follows a node and a price API by itself, as a user
starts it, while another process reads the same store.

The node is the loopback replay of real headers (tests/replay.py): the real 8-block stale
chain at 961,632-961,639, linked and with real proof of work. Mainnet has no real linked
competitor to it, so the branch the follower must abandon is written into the store before
the server starts: three other real headers at 961,634-961,636, as a node on another branch
would have given them. The node's branch (four blocks from 961,634) has more work, so the
follower replaces those three blocks (a 3-block reorganisation), then takes two plain new
blocks. The price API is the loopback replay of the shared USD series in mempool's
historical-price format, first without its last 7 days.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hashlens.chain.sync import sync
from hashlens.consensus import BlockHeader
from hashlens.store import Store
from tests.facts import SharedChain, chain_folder_counts
from tests.helpers import free_port
from tests.price_replay import PriceData, serve_prices
from tests.replay import ReplayChain, ReplayServer
from tests.test_remote_sync import periods_chain

pytestmark = pytest.mark.slow  # the whole module runs in the slow tier (sh scripts/test -m slow)


def _get(url: str, timeout: float = 30) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def _wait(what: str, cond: Any, timeout_s: float = 90) -> Any:
    deadline = time.time() + timeout_s
    last = None
    while time.time() < deadline:
        try:
            last = cond()
            if last:
                return last
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def _stale(data_dir: Path) -> dict[int, BlockHeader]:
    out = {}
    for row in (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]:
        h, _, hdr = row.split(",")
        out[int(h)] = BlockHeader.from_hex(hdr)
    return out


def test_serve_follows_the_node_and_prices_beside_a_reader(
    full_db: Path, data_dir: Path, shared_chain: SharedChain, tmp_path: Path
) -> None:
    stale = _stale(data_dir)
    run = {h: stale[h] for h in range(961632, 961640)}
    # The run's links, checked here from the raw headers: each names the previous one's hash.
    for h in range(961633, 961640):
        assert run[h].prev_hash_hex == run[h - 1].hash_hex
    # The node also knows the real headers the store already has (bitcoinj's period starts and
    # Electrum's period ends), so it agrees with the store below the run.
    known = periods_chain(shared_chain)
    chain = ReplayChain(
        hashes={**known.hashes, **{h: x.hash_hex for h, x in run.items()}},
        headers={**known.headers, **{x.hash_hex: x.serialize() for x in run.values()}},
        tip=961633,
    )
    db = tmp_path / "follow.duckdb"
    db.write_bytes(full_db.read_bytes())
    others = [stale[h] for h in (961324, 960761, 959137)]  # real headers from elsewhere
    with ReplayServer(chain) as node:
        with Store(db) as s:
            sync(s, node.rpc_url, start_height=961632)
            s.insert_headers(
                [(961634 + i, x, x.hash_hex) for i, x in enumerate(others)], "a node on another branch", "test"
            )
            assert s.tip_height() == 961636
            # The store's prices end where the price API's answers will first end.
            last_day = everything_days(data_dir)[-8]
            s._execute("DELETE FROM prices WHERE day > ?", [last_day])
        chain.tip = 961637  # the node's branch: 961,634-961,637, one block more than the stored one
        chain.dead_after = 0  # ... but the node is down when the server starts
        prices = PriceData(data_dir)
        everything = prices.daily
        prices.daily = everything[:-7]
        with serve_prices(prices) as price_url:
            proc, url = _serve(
                str(db), "--follow", node.rpc_url, "--prices", f"mempool+{price_url}/api", "--poll", "0.3s"
            )
            try:
                _follow_phases(url, db, chain, prices, everything, run, chain_folder_counts(data_dir).periods)
            finally:
                proc.terminate()
                _, err = proc.communicate(timeout=30)
            assert "Traceback" not in err.decode(), err.decode()[-2000:]


def everything_days(data_dir: Path) -> list[Any]:
    return [d for d, _ in PriceData(data_dir).daily]


def _serve(db: str, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """`hashlens --db DB serve --port P ARGS…` as a user starts it; (process, base URL)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashlens", "--db", db, "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    return proc, f"http://127.0.0.1:{port}"


def _source(health: dict[str, Any], kind: str) -> dict[str, Any]:
    src: dict[str, Any] = next(x for x in health["follow"]["sources"] if x["kind"] == kind)
    return src


def _follow_phases(
    url: str,
    db: Path,
    chain: ReplayChain,
    prices: PriceData,
    everything: list[Any],
    run: dict[int, BlockHeader],
    periods: int,
) -> None:
    """``periods``: the store's period rows, counted from the shared chain folder's files."""
    # 1. The node is down: the server is up anyway, says so, and retries with back-off; the
    #    price API is up: the stored series (to 2026-08-22) has nothing newer than the replay's.
    health = _wait("a failing node on /v1/health", lambda: (h := _get(url + "/v1/health"))["follow"] and h)
    node_state = _wait(
        "the node's error",
        lambda: (s := _source(_get(url + "/v1/health"), "chain"))["failures_in_a_row"] >= 2 and s,
    )
    assert node_state["last_error"] and node_state["last_contact_utc"] is None
    assert "replay" not in node_state["source"]  # the RPC password is not shown
    assert health["read_only"] is False
    before_diff = _get(url + "/v1/difficulty")
    before_weekly = _get(url + "/v1/weekly")

    # 2. A reader in another process while the server holds the store as its writer.
    reader = subprocess.run(
        [sys.executable, "-m", "hashlens", "--db", str(db), "difficulty", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reader.returncode == 0, reader.stderr
    assert json.loads(reader.stdout) == before_diff
    # A second writer is refused at once, naming the server, not itself.
    writer = subprocess.run(
        [sys.executable, "-m", "hashlens", "--db", str(db), "sync", "snapshot"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert writer.returncode == 5 and writer.stderr.count("\n") == 1, writer.stderr
    assert "`hashlens serve --follow`" in writer.stderr

    # 3. The node comes back with a branch of more work: a 3-block reorganisation.
    version = _get(url + "/v1/health")["store_version"]
    chain.dead_after = None
    _wait("the reorganisation", lambda: _source(_get(url + "/v1/health"), "chain")["tip_height"] == 961637)
    _wait("the write", lambda: _get(url + "/v1/health")["store_version"] > version)
    with Store(db, read_only=True) as s:
        assert s.hashes_at(range(961632, 961638)) == {h: run[h].hash_hex for h in range(961632, 961638)}
    # The reorganisation replaced three blocks above 961,633 and nothing else: the periods the
    # difficulty figures rest on (the stale-inferred 478 and 479 above the fork included) stay,
    # so the figures, read again after the commit, are the same.
    # Only the tip moves: counted from the periods before, the stored blocks' own after (the last
    # of the new branch dated before the day's end).
    after_reorg = _get(url + "/v1/difficulty")
    tip_keys = ("tip_height", "tip_height_exact")
    assert {k: v for k, v in after_reorg.items() if k not in tip_keys} == {
        k: v for k, v in before_diff.items() if k not in tip_keys
    }
    end = datetime.fromisoformat(after_reorg["as_of_instant"].replace("Z", "+00:00")).timestamp()
    assert after_reorg["tip_height_exact"] and not before_diff["tip_height_exact"]
    assert after_reorg["tip_height"] == max(h for h in range(961632, 961638) if run[h].time < end)
    with Store(db, read_only=True) as s:
        assert s.counts()["periods"] == periods

    # 4. Two new blocks, then seven new days of prices: /v1/difficulty and /v1/weekly (what the
    #    dashboard draws) change without a restart; the reader still agrees with the API.
    blocks = _get(url + "/v1/health")["counts"]["blocks"]
    chain.tip = 961639
    _wait("two new blocks", lambda: _get(url + "/v1/health")["counts"]["blocks"] == blocks + 2)
    with Store(db, read_only=True) as s:
        assert s.hashes_at([961638, 961639]) == {h: run[h].hash_hex for h in (961638, 961639)}
    # (These two blocks lie beyond the store's contiguous per-block data, which the difficulty
    # figures are taken as of, so those figures stay as they were after the reorganisation.)
    diff = _get(url + "/v1/difficulty")
    # The week's figures (what the dashboard draws) as of the same day now count the followed
    # blocks: the height at 24:00 UTC is the stored one, no longer an estimate.
    weekly = _wait("new weekly figures", lambda: (w := _get(url + "/v1/weekly")) != before_weekly and w, 120)
    today, before_today = weekly["hashprice"]["today"], before_weekly["hashprice"]["today"]
    assert weekly["as_of"] == before_weekly["as_of"] and not before_today["height_exact"]
    with Store(db, read_only=True) as s:
        end = datetime.fromisoformat(weekly["as_of"]).replace(tzinfo=UTC).timestamp() + 86400
        timed = {h: t for h, t in s.times_at(range(961632, 961640)).items() if t is not None and t <= end}
    assert today["height_exact"] and today["height"] == max(timed)
    # Seven new days of prices from the price API, stored and counted.
    prices_before = _get(url + "/v1/health")["counts"]["prices"]
    prices.daily = everything
    _wait("new prices", lambda: _get(url + "/v1/health")["counts"]["prices"] == prices_before + 7)
    reader = subprocess.run(
        [sys.executable, "-m", "hashlens", "--db", str(db), "difficulty", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reader.returncode == 0, reader.stderr
    # The reader agrees with the API; both answer for the new report day (the as-of rule: the
    # last day with a price), a week on, with the same adjustment in force.
    now_diff = _get(url + "/v1/difficulty")
    assert json.loads(reader.stdout) == now_diff
    assert now_diff["as_of"] > diff["as_of"] and now_diff["latest_adjustment"] == diff["latest_adjustment"]
    node_state = _source(_get(url + "/v1/health"), "chain")
    assert node_state["last_error"] is None and node_state["last_contact_utc"] is not None


@pytest.mark.parametrize("poll", ["0", "x", "-1s"])
def test_a_bad_poll_is_one_line(tmp_path: Path, poll: str) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hashlens",
            "--db",
            str(tmp_path / "s.duckdb"),
            "serve",
            "--follow",
            "snapshot",
            "--poll",
            poll,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: --poll"), r.stderr


# -- several server processes on one PostgreSQL store ------------------------------------------
def test_workers_on_postgresql_elect_one_follower_and_replace_it(
    full_db: Path, data_dir: Path, shared_chain: SharedChain, pg_server: Any
) -> None:
    """`serve --workers 2 --follow` on PostgreSQL: both processes answer; exactly one follows
    (an advisory lock); every process's cache follows the other's commits (LISTEN/NOTIFY);
    the follower killed with SIGKILL is replaced by the other, which takes the next blocks."""
    import signal

    from hashlens.store.copy import copy_store

    url = pg_server.url(pg_server.new_db())
    copy_store(full_db, url)
    stale = _stale(data_dir)
    run = {h: stale[h] for h in range(961632, 961640)}
    known = periods_chain(shared_chain)
    chain = ReplayChain(
        hashes={**known.hashes, **{h: x.hash_hex for h, x in run.items()}},
        headers={**known.headers, **{x.hash_hex: x.serialize() for x in run.values()}},
        tip=961635,
    )
    with ReplayServer(chain) as node:
        proc, base = _serve(
            url, "--workers", "2", "--follow", node.rpc_url, "--start-height", "961632", "--poll", "0.3s"
        )
        try:

            def roles() -> dict[int, dict[str, Any]]:
                seen: dict[int, dict[str, Any]] = {}
                for _ in range(40):
                    h = _get(base + "/v1/health")
                    seen[h["pid"]] = h
                return seen

            def settled(blocks: int) -> dict[int, dict[str, Any]] | None:
                seen = roles()
                kinds = sorted(h["follow"]["role"].split()[0] for h in seen.values())
                ok = len(seen) == 2 and kinds == ["follower", "standby"]
                return seen if ok and all(h["counts"]["blocks"] == blocks for h in seen.values()) else None

            with Store(url, read_only=True) as s:
                blocks = s.counts()["blocks"]
            seen = _wait("two processes, one follower, four new blocks seen by both", lambda: settled(blocks + 4), 120)
            follower = next(pid for pid, h in seen.items() if h["follow"]["role"] == "follower")
            os.kill(follower, signal.SIGKILL)
            chain.tip = 961639
            # The survivor wins the election and takes the four next blocks (uvicorn may also start
            # a fresh process in place of the killed one: it stands by).
            _wait(
                "the standby to take over",
                lambda: any(
                    h["follow"]["role"] == "follower" and h["counts"]["blocks"] == blocks + 8 for h in roles().values()
                ),
                120,
            )
            with Store(url, read_only=True) as s:
                assert s.hashes_at(range(961632, 961640)) == {h: x.hash_hex for h, x in run.items()}
        finally:
            proc.terminate()
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
