"""A bounded loopback load on the running server: no errors, bounded tail latency."""

from __future__ import annotations

from benchmarks.load import run_load


def test_bounded_load_on_loopback(live_server: str) -> None:
    run_load(live_server, 100, 4)  # warm
    result = run_load(live_server, 1500, 16)
    assert result.requests == 1500 and result.errors == 0
    assert result.p99_ms < 3000
    print(
        f"\nload: {result.requests} requests, {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, errors {result.errors}"
    )
