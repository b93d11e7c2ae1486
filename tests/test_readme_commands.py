"""Every documented path works (issue 21.6): each ``hashlens …`` command shown in README.md's
shell blocks is run as a user runs it and must exit 0.

The commands are read from the README itself, so a command added there is run here. Each is
taken in its plainest documented form — optional parts in ``[…]`` left out — with its
placeholders filled from the shared data: ``D`` a day, ``H`` a height, ``FILE`` the shared file of
the kind the command imports, ``HOST`` the loopback replay of the shared chain and prices
(``tests/mempool_replay.py``, ``tests/price_replay.py``) in the API's documented format. They
run in a temporary folder against a store filled from the shared data (a copy of it for the
commands that write). A command that cannot run here is listed in :data:`EXCLUDED` with the
reason and the test that covers it; a README command neither runnable nor excluded fails.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mempool_replay import ChainFiles, MempoolReplay, serve_mempool
from tests.price_replay import PriceData, serve_prices

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

#: README commands (after their optional parts are dropped) that cannot run in the test, why,
#: and where they are tested instead.
EXCLUDED = {
    "hashlens serve --follow bitcoind://user:pass@127.0.0.1:8332 --prices mempool+https://HOST/api --poll 30s": (
        "a server that runs until stopped, following a Bitcoin Core node (tests/test_follow.py drives it "
        "against a replayed node)"
    ),
    "hashlens serve --port 8000": "a server that runs until stopped (tests/test_cli_served.py, tests/test_browser.py)",
    "hashlens serve --follow mempool+https://HOST/api --prices mempool+https://HOST/api": (
        "a server that runs until stopped, following a chain API "
        "(tests/test_update.py::test_the_server_follows_a_chain_api_with_updates_code drives its follower)"
    ),
    "hashlens serve --follow bitcoind://127.0.0.1:8332 --rpc-cookie ~/.bitcoin/.cookie": (
        "a server following a Bitcoin Core node (tests/test_follow.py)"
    ),
    "hashlens serve --workers 4 --port 8000 --follow bitcoind://127.0.0.1:8332 --rpc-cookie "
    "/var/lib/bitcoind/.cookie --prices mempool+https://HOST/api --poll 30s": (
        "servers on PostgreSQL following a node (tests/test_store_pg.py, tests/test_follow.py)"
    ),
    "hashlens sync bitcoind://user:pass@127.0.0.1:8332": "a Bitcoin Core node (tests/test_node_sync.py)",
    "hashlens sync bitcoind://127.0.0.1:8332 --periods-only": "a Bitcoin Core node (tests/test_node_sync.py)",
    "hashlens sync esplora+https://host/api": "an Esplora server (tests/test_remote_sync.py)",
    "hashlens sync bitcoind+rest://127.0.0.1:8332": "a Bitcoin Core node's REST (tests/test_node_sync.py)",
    "hashlens store copy ~/.local/share/hashlens/hashlens.duckdb postgresql://hashlens@db.internal/hashlens": (
        "a PostgreSQL server (tests/test_store_pg.py copies both ways)"
    ),
    "hashlens store copy postgresql://hashlens@db.internal/hashlens backup.duckdb --json": (
        "a PostgreSQL server (tests/test_store_pg.py)"
    ),
    'hashlens store copy ~/.local/share/hashlens/hashlens.duckdb "$HASHLENS_DB"': (
        "a PostgreSQL server (tests/test_store_pg.py)"
    ),
    "hashlens pools attribute BLOCK.bin --rules mempool-pools-v2.json": (
        "the shared data hold no raw block file (tests/test_pools_coinbase.py attributes real coinbases)"
    ),
}


def readme_commands() -> list[str]:
    """Every ``hashlens …`` line of README.md's shell blocks, continuation lines joined,
    comments and optional ``[…]`` parts removed; ``a | b | c`` alternatives split."""
    text = (ROOT / "README.md").read_text()
    out: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines = block.replace("\\\n", " ").splitlines()
        for line in lines:
            line = re.sub(r"\s+#.*$", "", line).strip()
            if not line.startswith("hashlens"):
                continue
            line = re.sub(r"\s*\[[^\]]*\]", "", line)  # optional parts
            line = re.sub(r"\s+", " ", line).strip()
            m = re.fullmatch(r"(hashlens \w+) (\w+(?: \| \w+)+)(.*)", line)
            if m:  # hashlens pools sources | check | attribute …
                head, alts, rest = m.groups()
                names = alts.split(" | ")
                out += [f"{head} {n}" for n in names[:-1]] + [f"{head} {names[-1]}{rest}"]
                continue
            out.append(line)
    return list(dict.fromkeys(out))


COMMANDS = readme_commands()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The folder the commands run in: a store filled from the shared data, and the files the
    README names (a fleet file, raw and CSV headers), made from the shared data."""
    folder = tmp_path_factory.mktemp("readme")
    r = run(folder, folder / "store.duckdb", "hashlens weekly --paths 200 --json", data_dir, {})
    assert r.returncode == 0, r.stderr
    (folder / "fleet.csv").write_text("model,count\nS21 Pro,100\nWhatsminer M60S,50\n")
    with open(data_dir / "chain-2026/mainnet-headers-2026-09.csv") as fh:
        rows = list(csv.DictReader(fh))
    # raw headers are a run of consecutive heights: the file's first run (965,004 and 965,005)
    rows = [r for i, r in enumerate(rows) if int(r["height"]) == int(rows[0]["height"]) + i]
    (folder / "headers.bin").write_bytes(b"".join(bytes.fromhex(r["header_hex"]) for r in rows))
    with open(folder / "headers.csv", "w") as fh:
        fh.write("height,header\n" + "".join(f"{r['height']},{r['header_hex']}\n" for r in rows))
    (folder / "first_height").write_text(rows[0]["height"])
    return folder


def run(cwd: Path, db: Path, command: str, data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)
    assert args[0] == "hashlens"
    full = {**os.environ, "HASHLENS_DATA": str(data_dir), "HASHLENS_DB": str(db), **env}
    return subprocess.run(
        [sys.executable, "-m", "hashlens", *args[1:]], cwd=cwd, env=full, capture_output=True, text=True, timeout=300
    )


def mempool_inputs(data_dir: Path) -> dict[str, str]:
    """mempool.space's method's inputs at height 933,608, 200 blocks into the period from
    933,408 (early in a period the method reads block height − 503, in the period before): the
    running period's first block time, block 933,105's, ten minutes after the tip's, and the
    adjustment that began the period (Electrum's targets of periods 462 and 463)."""
    import json

    want = {933_408, 933_608 - 503, 933_608}
    t: dict[int, str] = {}
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        for row in csv.DictReader(fh):
            if int(row["height"]) in want:
                t[int(row["height"])] = row["time"]
    targets = json.loads((data_dir / "chain/electrum-mainnet-checkpoints.json").read_text())
    change = int(targets[461][1]) / int(targets[462][1]) * 100 - 100
    return {
        "T": t[933_408],
        "T2": t[933_608 - 503],
        "NOW": str(int(t[933_608]) + 600),
        "H": "933608",
        "P": f"{change:.4f}",
    }


@pytest.fixture(scope="module")
def replays(data_dir: Path) -> Iterator[dict[str, str]]:
    """Loopback replays of the shared chain and prices: a mempool instance, an Esplora one, an
    exchange's OHLC API."""
    files = ChainFiles(data_dir)
    with (
        serve_mempool(MempoolReplay(files)) as mempool,
        serve_mempool(MempoolReplay(files, esplora=True)) as esplora,
        serve_prices(PriceData(data_dir)) as kraken,
    ):
        yield {"mempool": mempool, "esplora": esplora, "kraken": kraken}


def concrete(command: str, work: Path, data_dir: Path, replays: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The command with its placeholders filled, and the environment it needs."""
    env: dict[str, str] = {}
    c = command.replace("../shared/data", str(data_dir)).replace("examples/", f"{ROOT}/examples/")
    if c.startswith("hashlens update"):
        c = c.replace("mempool+https://HOST/api", f"mempool+{replays['mempool']}")
        c = c.replace("esplora+https://HOST/api", f"esplora+{replays['esplora']}")
        c = c.replace("kraken+https://HOST", f"kraken+{replays['kraken']}")
        # the documented default source, mempool.space's public API, is the replay here
        env = {
            "HASHLENS_CHAIN_SOURCE": f"mempool+{replays['mempool']}",
            "HASHLENS_PRICE_SOURCE": f"mempool+{replays['mempool']}",
        }
    if c.startswith("hashlens difficulty estimate --method mempool"):
        for k, v in mempool_inputs(data_dir).items():
            c = re.sub(rf"(?<=\s){k}(?=\s|$)", v, c)
    if c.startswith("hashlens sync headers.bin"):
        c = c.replace("--start-height H", f"--start-height {(work / 'first_height').read_text()}")
    if c.startswith("hashlens prices import FILE"):
        c = c.replace("FILE", f"{data_dir}/market/btc-daily-prices-multi-currency.csv --currency USD")
    if c.startswith("hashlens miners import FILE"):
        c = c.replace("FILE", f"{data_dir}/miners/monthly-production-2025-12_2026-01.csv")
    if c.startswith("hashlens pools import FILE"):
        c = c.replace("FILE", f"{data_dir}/pools/mempool-pools-v2.json")
    c = c.replace("hashlens --db PATH …", f"hashlens --db {work / 'store.duckdb'} summary")
    c = c.replace("hashlens --data DIR …", f"hashlens --data {data_dir} summary")
    left = [w for w in shlex.split(c) if w in PLACEHOLDERS]
    assert not left, f"placeholders {left} left in {c!r}: fill them here or exclude the command with a reason"
    return c, env


#: The README's placeholders: none may be left in a command run.
PLACEHOLDERS = {"D", "H", "T", "T2", "T3", "NOW", "P", "FILE", "HOST", "PATH", "DIR", "BLOCK.bin", "…"}

#: Commands that write to the store run on a copy of it, so that the reading ones see the
#: shared data alone.
WRITES = (
    "hashlens update",
    "hashlens sync",
    "hashlens prices import",
    "hashlens miners import",
    "hashlens pools import",
)


def test_the_readme_shows_commands() -> None:
    assert len(COMMANDS) > 50 and "hashlens report --out report" in COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_runs(
    command: str, work: Path, data_dir: Path, replays: dict[str, str], tmp_path: Path
) -> None:
    if command in EXCLUDED:
        assert EXCLUDED[command]
        return
    c, env = concrete(command, work, data_dir, replays)
    db = work / "store.duckdb"
    if c.startswith(WRITES):
        db = tmp_path / "copy.duckdb"
        shutil.copy(work / "store.duckdb", db)
    r = run(work, db, c, data_dir, env)
    assert r.returncode == 0, f"{c}\n{r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr


def test_every_exclusion_is_still_in_the_readme() -> None:
    assert set(EXCLUDED) <= set(COMMANDS), set(EXCLUDED) - set(COMMANDS)
