"""Loads on loopback against a real `hashlens serve`: a bounded load answers without errors,
and a short flood soak (benchmarks/soak.py; the full one is `sh scripts/bench soak`) leaves
/v1/health answering while the flood's idle and slow connections are closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.load import run_load
from benchmarks.soak import run_soak

from tests.helpers import start_serve

pytestmark = pytest.mark.slow  # the whole module runs in the slow tier (sh scripts/test -m slow)


def test_bounded_load_on_loopback(live_server: str) -> None:
    run_load(live_server, 100, 4)  # warm
    result = run_load(live_server, 1500, 16)
    assert result.requests == 1500 and result.errors == 0
    assert result.p99_ms < 3000
    print(
        f"\nload: {result.requests} requests, {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, errors {result.errors}"
    )


def test_health_answers_beside_a_short_flood(full_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 idle connections (from five other loopback addresses), 20 slow senders and 4
    clients posting 1.7 MB imports one after another, for 14 s. Before this branch (the code of
    main, in `sh scripts/bench soak`'s full flood) /v1/health answered 503 on 141 of 142 probes
    and closed no idle connection. Now: every probe answered 200 (the full soak holds each
    under 1 s on the 2-core machine; here, beside other work, 2 s), every idle connection
    closed by the server at the 10 s head deadline, every half-sent head answered 408, every
    upload answered."""
    db = tmp_path / "soak.duckdb"
    db.write_bytes(full_db.read_bytes())
    monkeypatch.setenv("HASHLENS_API_TOKEN", "soak-token")
    proc, url = start_serve(db)
    try:
        r = run_soak(url, proc.pid, idle=300, slow=20, large=4, seconds=14, sources=5, token="soak-token")
    finally:
        proc.terminate()
        proc.wait(30)
    d = r.as_dict()
    print(f"\nsoak: {d}")
    assert r.health_failed == 0 and len(r.health_s) >= 20, d["health_ms"]
    assert r.quantile_s(0.5) < 0.25 and max(r.health_s) < 2.0, d["health_ms"]
    assert r.idle_opened == 300 and r.idle_closed_by_server == 300, d
    assert set(r.statuses["slow"]) == {408} and r.statuses["slow"][408] >= 10, d["statuses"]
    assert r.statuses["large"] and -1 not in r.statuses["large"], d["statuses"]  # each upload answered
    assert set(r.statuses["large"]) <= {400, 503}, d["statuses"]  # refused once parsed, or told to wait
    if r.rss_before_mb is not None and r.rss_peak_mb is not None:
        assert r.rss_peak_mb - r.rss_before_mb < 150, d["server_rss_mb"]
