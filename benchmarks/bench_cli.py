"""The CLI as whole processes: ``difficulty --json`` computed locally beside a bare DuckDB query
process, and the report's own work.

Run: ``python benchmarks/bench_cli.py [--smoke] [--rounds R]`` (or ``sh scripts/bench cli``);
``--against-baseline`` adds the older comparison with commit 3f2c98e (issue 12 item 6).

1. ``hashlens --no-server difficulty --json`` on a warm store, as whole processes, rounds
   interleaved with the peer: a bare DuckDB query process (``python -c`` importing duckdb,
   opening the store read-only and printing the latest two periods' bits as JSON: the least
   a process answering from the store does). hashlens twice: on a store state it has answered
   before (the answer kept for that state, :mod:`hashlens.cli.kept`) and computing it (an
   empty cache folder each run). Both are byte-compiled first, as an installed package is.
   A fourth contender bounds the computed row: a process that only imports numpy, duckdb,
   pydantic and typer, which every computing path loads (the arrays, the store, the request
   models, the command line).
2. The report's own work (importing matplotlib, drawing the charts, writing Markdown and HTML)
   apart from computing the week's figures, in one process on the same store; goal <= 1 s.

CPU time (user + system of the child) is printed beside wall time: this machine is shared.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `python benchmarks/bench_cli.py`

from benchmarks.common import Row, compare, interleave, parser  # noqa: E402

BASELINE_COMMIT = "3f2c98e"
PY = sys.executable

# The report's phases, timed inside one process (the same script for both versions).
PHASES = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter(); c0 = time.process_time()
marks = {}
def mark(name):
    global t0, c0
    marks[name] = (time.perf_counter() - t0, time.process_time() - c0)
    t0 = time.perf_counter(); c0 = time.process_time()
from hashlens.store import Store
from hashlens.weekly import WeeklyFigures
mark("imports")
with Store(Path(sys.argv[1]), read_only=True) as s:
    fig = WeeklyFigures.compute(s, None, None, int(sys.argv[3]), 1)
mark("figures")
from hashlens.report.build import write_report
mark("report imports (matplotlib)")
write_report(fig, Path(sys.argv[2]))
mark("charts, Markdown, HTML")
print(json.dumps(marks))
"""


def run(argv: list[str], src: Path | None, cwd: Path | None = None) -> tuple[float, float, bytes]:
    """One whole process: (wall [s], CPU of the child [s], stdout)."""
    env = dict(os.environ, COLUMNS="100", TERM="dumb")
    env.pop("PYTHONPATH", None)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def baseline_src(path: Path) -> Path:
    """The baseline's src/, checked out as a detached worktree on first use."""
    if not (path / "src/hashlens").is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), BASELINE_COMMIT], check=True)
    return path / "src"


STORE = "bench.duckdb"  # each version's store, in its own folder


def warm(folder: Path, src: Path, month: str) -> None:
    """Fill a version's store once (chain, prices, miners' sample), as the first use of each does."""
    folder.mkdir(parents=True, exist_ok=True)
    for args in (["summary"], ["hashprice"], ["miners", "expected", "--month", month]):
        subprocess.run(
            [PY, "-m", "hashlens", "--db", STORE, *args, "--json"],
            env=dict(os.environ, PYTHONPATH=str(src)),
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


def compile_tree(src: Path) -> None:
    subprocess.run([PY, "-m", "compileall", "-q", str(src)], stdout=subprocess.DEVNULL, check=True)


def median_ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


class Serving:
    """``hashlens serve`` on ours' store for as long as the block runs."""

    def __init__(self, folder: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        self.proc = subprocess.Popen(
            [PY, "-m", "hashlens", "--db", STORE, "serve", "--port", str(port)],
            env=dict(os.environ, PYTHONPATH=str(ROOT / "src")),
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        mark = folder / f"{STORE}.server-{self.proc.pid}"
        deadline = time.time() + 60
        while not mark.exists() and time.time() < deadline:
            time.sleep(0.2)

    def __enter__(self) -> Serving:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _table(out: bytes) -> bytes:
    """stdout without the line naming the server that answered."""
    return b"\n".join(line for line in out.split(b"\n") if b"answered by `hashlens serve`" not in line)


def cli(folders: dict[str, Path], base: Path, runs: int, day: str, month: str) -> None:
    hl = [PY, "-m", "hashlens", "--db", STORE]
    queries = {
        "--help": ["--help"],
        "difficulty": ["difficulty"],
        f"hashprice --date {day}": ["hashprice", "--date", day],
        "summary": ["summary"],
        f"miners expected --month {month}": ["miners", "expected", "--month", month],
    }
    floors = {"python -c pass": [PY, "-c", "pass"], "import numpy, duckdb": [PY, "-c", "import numpy, duckdb"]}
    # (source tree, folder, options before the command)
    variants = {
        "here": (ROOT / "src", folders["ours"], ["--no-server"]),
        "served": (ROOT / "src", folders["ours"], []),
        "baseline": (base, folders["baseline"], []),
    }

    def argv(name: str, opts: list[str]) -> list[str]:
        return [PY, "-m", "hashlens", *queries[name]] if name == "--help" else [*hl, *opts, *queries[name]]

    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    same: dict[str, str] = {}
    with Serving(folders["ours"]):
        for name in queries:
            outs = {v: run(argv(name, o), src, cwd)[2] for v, (src, cwd, o) in variants.items()}  # warms caches
            ok = bool(outs["here"]) and outs["here"] == outs["baseline"] == _table(outs["served"])
            same[name] = "yes" if ok else "NO"
        # --help lists the commands, and commands were added since the baseline: not compared.
        same["--help"] = "n/a"
        for _ in range(runs):  # interleaved, so a busy moment hits every variant alike
            for name, cmd in floors.items():
                w, c, _ = run(cmd, None)
                wall.setdefault((name, ""), []).append(w)
                cpu.setdefault((name, ""), []).append(c)
            for name in queries:
                for v, (src, cwd, o) in variants.items():
                    w, c, _ = run(argv(name, o), src, cwd)
                    wall.setdefault((name, v), []).append(w)
                    cpu.setdefault((name, v), []).append(c)
    f_pass = (median_ms(wall[("python -c pass", "")]), median_ms(cpu[("python -c pass", "")]))
    f_np = (median_ms(wall[("import numpy, duckdb", "")]), median_ms(cpu[("import numpy, duckdb", "")]))
    print(f"CLI, whole processes on a warm store, median of {runs} runs [ms] (wall / CPU)")
    print(f"  floor python -c pass          {f_pass[0]:7.0f} / {f_pass[1]:5.0f}")
    print(f"  floor import numpy, duckdb    {f_np[0]:7.0f} / {f_np[1]:5.0f}")
    print(
        f"  {'query':32s}{'here':>13s}{'served':>13s}{'baseline':>13s}   here/base  served/base"
        "  here/np+duckdb  same stdout"
    )
    for name in queries:
        m = {v: (median_ms(wall[(name, v)]), median_ms(cpu[(name, v)])) for v in variants}
        cells = "".join(f"{w:7.0f} /{c:4.0f}" for w, c in m.values())
        here, served, basel = (m[v][0] for v in variants)
        print(
            f"  {name:32s}{cells}   {here / basel:9.2f}  {served / basel:11.2f}  {here / f_np[0]:14.2f}"
            f"  {same[name]:>11s}"
        )
    print("  (here: computed in the process, --no-server; served: asked of `hashlens serve` on the same store)")


def report(folders: dict[str, Path], base: Path, runs: int, paths: int) -> None:
    versions = {"ours": ROOT / "src", "baseline": base}
    with tempfile.TemporaryDirectory() as tmp:
        wall: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        phases: dict[str, list[dict[str, list[float]]]] = {}
        for i in range(runs):
            for v, src in versions.items():
                out = Path(tmp) / f"{v}-{i}"
                w, c, _ = run(
                    [
                        PY,
                        "-m",
                        "hashlens",
                        "--db",
                        str(folders[v] / STORE),
                        "report",
                        "--out",
                        str(out),
                        "--paths",
                        str(paths),
                        "--json",
                    ],
                    src,
                )
                wall.setdefault(v, []).append(w)
                cpu.setdefault(v, []).append(c)
                ph = run(
                    [PY, "-c", PHASES, str(folders[v] / STORE), str(Path(tmp) / f"{v}-phases-{i}"), str(paths)], src
                )[2]
                phases.setdefault(v, []).append(json.loads(ph))
        md = {v: (Path(tmp) / f"{v}-0" / "report.md").read_text() for v in versions}
        # The header names the minute the report was generated; everything else must match.
        md = {v: re.sub(r"Generated [^;]*;", "", t) for v, t in md.items()}
    print(f"\nReport (--paths {paths}), median of {runs} runs [ms] (wall / CPU)")
    ow, oc, bw, bc = (median_ms(d[v]) for v in ("ours", "baseline") for d in (wall, cpu))
    print(
        f"  whole process          ours {ow:6.0f} / {oc:5.0f}   baseline {bw:6.0f} / {bc:5.0f}   ours/base {ow / bw:.2f}"
    )
    own = {}
    for v in versions:
        names = phases[v][0].keys()
        own[v] = {n: (median_ms([p[n][0] for p in phases[v]]), median_ms([p[n][1] for p in phases[v]])) for n in names}
    for n in own["ours"]:
        (a, b), (c, d) = own["ours"][n], own["baseline"][n]
        print(f"  {n:29s}   ours {a:6.0f} / {b:5.0f}   baseline {c:6.0f} / {d:5.0f}   ours/base {a / c:.2f}")
    mine = [own[v]["report imports (matplotlib)"][0] + own[v]["charts, Markdown, HTML"][0] for v in versions]
    print(
        f"  the report's own work (matplotlib + charts + text): ours {mine[0]:.0f} ms, baseline {mine[1]:.0f} ms, "
        f"ours/base {mine[0] / mine[1]:.2f}"
    )
    print(f"  report.md identical: {'yes' if md['ours'] == md['baseline'] else 'NO'}")


PEER = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute("SELECT period, start_height, bits FROM periods ORDER BY period DESC LIMIT 2").fetchall()
print(json.dumps([{"period": p, "height": h, "bits": f"{b:08x}"} for p, h, b in rows], indent=2))
"""


FLOOR = "import numpy, duckdb, pydantic, typer"


def difficulty_vs_duckdb(folder: Path, rounds: int) -> None:
    """``difficulty --json`` (kept, and computed) beside a bare DuckDB query process."""
    db = str(folder / STORE)
    cmd = [PY, "-m", "hashlens", "--db", db, "--no-server", "difficulty", "--json"]
    kept_dir = Path(tempfile.mkdtemp(prefix="hashlens-kept-"))
    env_kept = dict(os.environ, HASHLENS_CACHE_DIR=str(kept_dir), PYTHONPATH=str(ROOT / "src"))
    subprocess.run(cmd, env=env_kept, stdout=subprocess.DEVNULL, check=True)  # kept for this state
    cpu: dict[str, list[float]] = {"kept": [], "computed": [], "floor": [], "peer": []}
    outs: dict[str, bytes] = {}

    def whole(name: str, argv: list[str], env: dict[str, str]) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[name].append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        outs[name] = out
        return wall

    def computed() -> float:
        env = dict(env_kept, HASHLENS_CACHE_DIR=tempfile.mkdtemp(prefix="hashlens-cold-"))
        return whole("computed", cmd, env)

    t = interleave(
        {
            "kept": lambda: whole("kept", cmd, env_kept),
            "computed": computed,
            "floor": lambda: whole("floor", [PY, "-c", FLOOR], dict(os.environ)),
            "peer": lambda: whole("peer", [PY, "-c", PEER, db], dict(os.environ)),
        },
        rounds,
    )
    assert outs["kept"] == outs["computed"], "the kept answer differs from the computed one"
    for name in cpu:
        print(f"  CPU {name:9s} median {statistics.median(cpu[name]) * 1e3:6.0f} ms")
    what = "difficulty --json as a whole process"
    peer = "bare DuckDB query process (python -c)"
    compare(Row(NAME, f"{what}, store state answered before", "kept answer", peer, t["kept"], t["peer"], 1.0))
    compare(Row(NAME, f"{what}, computed here", "computed (empty cache)", peer, t["computed"], t["peer"], None))
    # The bound on the row above: no computing path can beat the process that only loads the
    # libraries every such path needs (the contract's models, the arrays, the store, the CLI).
    floor = "a process importing numpy, duckdb, pydantic and typer, doing nothing"
    compare(Row(NAME, "the floor of any computing path", floor, peer, t["floor"], t["peer"], None))


def report_own_work(folder: Path, rounds: int, paths: int) -> None:
    """The report's own work (matplotlib, charts, Markdown, HTML) apart from the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        phases = []
        for i in range(rounds):
            out = run([PY, "-c", PHASES, str(folder / STORE), str(Path(tmp) / f"r-{i}"), str(paths)], ROOT / "src")[2]
            phases.append(json.loads(out))
    names = list(phases[0])
    print(f"report (--paths {paths}), median of {rounds} runs [ms] (wall / CPU):")
    for n in names:
        w = statistics.median(p[n][0] for p in phases) * 1e3
        c = statistics.median(p[n][1] for p in phases) * 1e3
        print(f"  {n:32s} {w:7.0f} / {c:6.0f}")
    own = [p["report imports (matplotlib)"][0] + p["charts, Markdown, HTML"][0] for p in phases]
    med = statistics.median(own)
    print(
        f"  the report's own work (matplotlib + charts + text): min {min(own):.2f}  median {med:.2f}  "
        f"max {max(own):.2f} s; goal <= 1 s warm: {'met' if med <= 1.0 else 'NOT met'}"
    )


NAME = "cli"


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--report-paths", type=int, default=None)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "hashlens-bench-cli", help="the stores")
    ap.add_argument("--against-baseline", action="store_true", help="also the comparison with commit 3f2c98e")
    ap.add_argument("--baseline", type=Path, default=Path(tempfile.gettempdir()) / "clibase")
    ap.add_argument("--date", default="2025-06-01", help="Day for `hashprice --date`.")
    ap.add_argument("--month", default="2025-12", help="Month for `miners expected` (the bundled sample's).")
    a = ap.parse_args()
    rounds = a.rounds or (3 if a.smoke else 11)
    paths = a.report_paths or (2_000 if a.smoke else 20_000)
    compile_tree(ROOT / "src")
    ours = a.dir / "ours"
    warm(ours, ROOT / "src", a.month)
    difficulty_vs_duckdb(ours, rounds)
    report_own_work(ours, 2 if a.smoke else 3, paths)
    if a.against_baseline:
        base = baseline_src(a.baseline)
        folders = {"ours": ours, "baseline": a.dir / "baseline"}
        compile_tree(base)
        warm(folders["baseline"], base, a.month)
        cli(folders, base, rounds, a.date, a.month)
        report(folders, base, 3, paths)


if __name__ == "__main__":
    main()
