"""Every benchmark in one run, and one table of their ratios: ``sh scripts/bench all [--smoke]``.

Runs each ``benchmarks/bench_*.py`` as its own process (``--smoke`` passed on), one after the
other so that none competes with another for the cores; each prints its own comparisons and
records one row per comparison (:mod:`benchmarks.common`). The table of every row, with the
machine's load average (``uptime``) before and after, is printed as Markdown and written to
``--out``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/all.py`

from benchmarks.common import TABLE_ENV, parser

HERE = Path(__file__).resolve().parent


def uptime() -> str:
    """``uptime``'s line (its load averages), or /proc/loadavg's figures where it is missing."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def benchmarks(only: list[str] | None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [f for f in found if f.stem.removeprefix("bench_") in only]
    return found


def table(
    rows: list[dict], failed: dict[str, int], seconds: dict[str, float], load: tuple[str, str], smoke: bool
) -> str:
    lines = [
        f"# hashlens benchmarks{' (smoke sizes)' if smoke else ''}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- before: `{load[0]}`",
        f"- after:  `{load[1]}`",
        "- ratio: the peer's median time / hashlens' median time over interleaved rounds (above 1: hashlens faster)",
        "",
        "| benchmark | what | hashlens | strongest peer | hashlens median | peer median | ratio | worst..best | goal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(xs: list[float], work: float, unit: str) -> str:
        med = sorted(xs)[len(xs) // 2] if len(xs) % 2 else sum(sorted(xs)[len(xs) // 2 - 1 : len(xs) // 2 + 1]) / 2
        return f"{work / med:,.0f} {unit}/s" if unit else f"{med * 1e3:,.1f} ms"

    for r in rows:
        worst = min(r["peer_s"]) / max(r["ours_s"])
        best = max(r["peer_s"]) / min(r["ours_s"])
        goal = "" if r["goal"] is None else f"≥ {r['goal']:g}× {'met' if r['ratio'] >= r['goal'] else '**NOT met**'}"
        lines.append(
            f"| {r['benchmark']} | {r['what']} | {r['ours']} | {r['peer']} | {cell(r['ours_s'], r['work'], r['unit'])} "
            f"| {cell(r['peer_s'], r['work'], r['unit'])} | **{r['ratio']:.2f}×** | {worst:.2f}–{best:.2f} | {goal} |"
        )
    recorded = {r["benchmark"] for r in rows}
    for name, s in seconds.items():
        if name in failed:
            lines.append(f"| {name} | **failed** (exit {failed[name]}) | | | | | | | |")
        elif name not in recorded:
            lines.append(f"| {name} | ran ({s:.0f} s); no ratio recorded in the common table | | | | | | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--only", nargs="*", help="names of benchmarks (store, api, ...)")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "hashlens-bench-all.md")
    args = ap.parse_args()
    rows_file = Path(tempfile.mkstemp(prefix="hashlens-bench-rows-", suffix=".jsonl")[1])
    env = dict(os.environ, **{TABLE_ENV: str(rows_file)})
    before = uptime()
    failed: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for f in benchmarks(args.only):
        name = f.stem.removeprefix("bench_")
        cmd = [sys.executable, str(f), *(["--smoke"] if args.smoke else [])]
        if args.rounds:
            cmd += ["--rounds", str(args.rounds)]
        print(f"\n== {name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, env=env, check=False).returncode
        seconds[name] = time.perf_counter() - t0
        if rc != 0:
            failed[name] = rc
    after = uptime()
    rows = [json.loads(line) for line in rows_file.read_text().splitlines() if line.strip()]
    text = table(rows, failed, seconds, (before, after), args.smoke)
    args.out.write_text(text)
    print("\n" + text)
    print(f"(written to {args.out})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
