"""Typed reads and writes of pool attribution: sources, per-block pools, per-day counts,
coinbases and the rules files used (migration 9).

Each source's rows are kept under its own name (``coinbase``, ``mempool-api``, ``canhui``,
``btl``, …) and never merged: a figure reads one source. An import replaces its source's rows
in one transaction, so a failed import leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np

from hashlens.store.db import Database, hash_hex

SOURCE_COLS = ("source", "kind", "origin", "sha256", "rows")
BLOCK_COLS = ("source", "height", "hash", "pool", "method", "rules_id")
DAY_COLS = ("source", "day", "pool", "blocks")
COINBASE_COLS = ("height", "hash", "script_sig", "outputs", "txid", "origin")
RULES_COLS = ("rules_id", "name", "sha256", "body")


class PoolQueries(Database):
    """``pool_sources``, ``pool_blocks``, ``pool_days``, ``block_coinbases``, ``pool_rules``."""

    # -- writes -----------------------------------------------------------------------------
    def _set_source(self, source: str, kind: str, origin: str, sha256: str | None) -> None:
        table = "pool_blocks" if kind == "blocks" else "pool_days"
        rows = int(self._scalar(f"SELECT count(*) FROM {table} WHERE source = ?", [source]))
        self._execute("DELETE FROM pool_sources WHERE source = ?", [source])
        self._execute(
            "INSERT INTO pool_sources (source, kind, origin, sha256, rows) VALUES (?, ?, ?, ?, ?)",
            [source, kind, origin, sha256, rows],
        )

    def write_pool_blocks(
        self,
        source: str,
        kind: str,
        origin: str,
        sha256: str | None,
        heights: Sequence[int],
        hashes: Sequence[str | None],
        pools: Sequence[str],
        methods: Sequence[str],
        replace_source: bool = True,
        rules_id: str | None = None,
    ) -> None:
        """Per-block pools of one source, in one transaction: with ``replace_source`` the
        source's old rows go first (a re-import), else rows are upserted by height."""
        import pyarrow as pa

        n = len(heights)
        tbl = pa.table(
            {
                "source": [source] * n,
                "height": pa.array(heights, pa.int32()),
                "hash": pa.array([None if h is None else bytes.fromhex(h) for h in hashes], pa.binary()),
                "pool": list(pools),
                "method": list(methods),
                "rules_id": pa.array([rules_id] * n, pa.string()),
            }
        )
        with self.transaction():
            if replace_source:
                self._execute("DELETE FROM pool_blocks WHERE source = ?", [source])
            self._insert_arrow("pool_blocks", tbl, BLOCK_COLS)
            self._set_source(source, "blocks", origin, sha256)
            self.log(source, "pool-blocks", n, origin)

    def write_pool_days(
        self,
        source: str,
        origin: str,
        sha256: str | None,
        days: Sequence[date],
        pools: Sequence[str],
        blocks: Sequence[int],
    ) -> None:
        """Blocks per pool per UTC day of one source, replacing the source's rows (one transaction)."""
        import pyarrow as pa

        n = len(days)
        tbl = pa.table(
            {
                "source": [source] * n,
                "day": pa.array(days, pa.date32()),
                "pool": list(pools),
                "blocks": pa.array(blocks, pa.int32()),
            }
        )
        with self.transaction():
            self._execute("DELETE FROM pool_days WHERE source = ?", [source])
            self._insert_arrow("pool_days", tbl, DAY_COLS, replace=False)
            self._set_source(source, "days", origin, sha256)
            self.log(source, "pool-days", n, origin)

    def write_attributions(
        self,
        source: str,
        origin: str | None,
        rules_id: str,
        rules_name: str,
        rules_sha256: str,
        rules_text: str,
        order: str,
        coinbases: Sequence[Any],
        pools: Sequence[str],
        methods: Sequence[str],
    ) -> int:
        """Store attributed blocks in one transaction: the rules file (once), the coinbases
        (when ``origin`` is given: new blocks; None: the stored ones, attributed again) and
        each block's pool, method and rules id. Returns how many stored pools changed."""
        import pyarrow as pa

        from hashlens.sources.coinbase import encode_outputs

        old = {
            int(h): (str(p), r)
            for h, p, r in self._rows("SELECT height, pool, rules_id FROM pool_blocks WHERE source = ?", [source])
        }
        changed = sum(1 for c, p in zip(coinbases, pools, strict=True) if c.height in old and old[c.height][0] != p)
        n = len(coinbases)
        with self.transaction():
            self._insert_arrow(
                "pool_rules",
                pa.table(
                    {"rules_id": [rules_id], "name": [rules_name], "sha256": [rules_sha256], "body": [rules_text]}
                ),
                RULES_COLS,
            )
            if origin is not None:
                self._insert_arrow(
                    "block_coinbases",
                    pa.table(
                        {
                            "height": pa.array([c.height for c in coinbases], pa.int32()),
                            "hash": pa.array([bytes.fromhex(c.block_hash) for c in coinbases], pa.binary()),
                            "script_sig": pa.array([c.script_sig for c in coinbases], pa.binary()),
                            "outputs": pa.array([encode_outputs(c.output_scripts) for c in coinbases], pa.binary()),
                            "txid": pa.array([c.txid for c in coinbases], pa.string()),
                            "origin": [origin] * n,
                        }
                    ),
                    COINBASE_COLS,
                )
            self._insert_arrow(
                "pool_blocks",
                pa.table(
                    {
                        "source": [source] * n,
                        "height": pa.array([c.height for c in coinbases], pa.int32()),
                        "hash": pa.array([bytes.fromhex(c.block_hash) for c in coinbases], pa.binary()),
                        "pool": list(pools),
                        "method": list(methods),
                        "rules_id": [rules_id] * n,
                    }
                ),
                BLOCK_COLS,
            )
            self._set_source(source, "blocks", f"coinbase rules {rules_id} ({order})", rules_sha256)
            self.log(source, "pool-attribution", n, f"{rules_id} {order}; {changed} changed")
        return changed

    # -- reads ------------------------------------------------------------------------------
    def pool_sources(self) -> list[dict[str, Any]]:
        """Every pool source: name, kind (``blocks`` or ``days``), origin, SHA-256, rows."""
        rows = self._rows(f"SELECT {', '.join(SOURCE_COLS)} FROM pool_sources ORDER BY source")
        return [dict(zip(SOURCE_COLS, r, strict=True)) for r in rows]

    def pool_block_labels(self, source: str) -> tuple[np.ndarray, list[str]]:
        """(heights, pools) of a per-block source, by height."""
        cols = self._numpy("SELECT height, pool FROM pool_blocks WHERE source = ? ORDER BY height", [source])
        return np.asarray(cols["height"], dtype=np.int64), [str(p) for p in cols["pool"]]

    def pool_block_rows(self, source: str, lo: int, hi: int) -> list[tuple[int, str | None, str, str, str | None]]:
        """(height, hash, pool, method, rules_id) of a per-block source's blocks lo … hi."""
        rows = self._rows(
            "SELECT height, hash, pool, method, rules_id FROM pool_blocks WHERE source = ? AND height BETWEEN ? AND ? "
            "ORDER BY height",
            [source, lo, hi],
        )
        return [(int(h), hash_hex(x), str(p), str(m), r) for h, x, p, m, r in rows]

    def pool_day_counts(self, source: str) -> tuple[np.ndarray, list[str], np.ndarray]:
        """(days, pools, blocks) of a per-day source, by day."""
        cols = self._numpy("SELECT day, pool, blocks FROM pool_days WHERE source = ? ORDER BY day, pool", [source])
        return (
            np.asarray(cols["day"], dtype="datetime64[D]"),
            [str(p) for p in cols["pool"]],
            np.asarray(cols["blocks"], dtype=np.int64),
        )

    def stored_coinbase_rows(self) -> list[tuple[int, str, bytes, bytes, str | None]]:
        """(height, hash, scriptSig, encoded output scripts, txid) of every stored coinbase."""
        rows = self._rows("SELECT height, hash, script_sig, outputs, txid FROM block_coinbases ORDER BY height")
        return [(int(h), str(hash_hex(x)), bytes(s), bytes(o), t) for h, x, s, o, t in rows]

    def coinbase_hashes(self, lo: int, hi: int) -> dict[int, str]:
        """Block hashes of the stored coinbases with ``lo <= height <= hi`` (the blocks
        hashlens has attributed from their coinbases)."""
        rows = self._rows("SELECT height, hash FROM block_coinbases WHERE height BETWEEN ? AND ?", [lo, hi])
        return {int(h): str(hash_hex(x)) for h, x in rows}

    def record_pool_rules(self, rules_id: str, name: str, sha256: str, body: str) -> None:
        """Record a rules file (one transaction) before any block is attributed with it: the
        rules the next blocks synced from a node are attributed with."""
        import pyarrow as pa

        with self.transaction():
            self._insert_arrow(
                "pool_rules",
                pa.table({"rules_id": [rules_id], "name": [name], "sha256": [sha256], "body": [body]}),
                RULES_COLS,
            )
            self._execute("UPDATE pool_rules SET used_at = current_timestamp WHERE rules_id = ?", [rules_id])

    def latest_pool_rules_id(self) -> str | None:
        """The rules file recorded last (``pool_rules.used_at``), or None."""
        v = self._scalar("SELECT rules_id FROM pool_rules ORDER BY used_at DESC, rules_id DESC LIMIT 1")
        return None if v is None else str(v)

    def pool_rules_file(self, rules_id: str) -> tuple[str, str, str] | None:
        """(name, SHA-256, text) of a recorded rules file, or None."""
        rows = self._rows("SELECT name, sha256, body FROM pool_rules WHERE rules_id = ?", [rules_id])
        return None if not rows else (str(rows[0][0]), str(rows[0][1]), str(rows[0][2]))

    def pool_rules_ids(self, source: str) -> list[str]:
        """The rules files a per-block source's attributions were made with, the one recorded
        last (``pool_rules.used_at``) last."""
        rows = self._rows(
            "SELECT b.rules_id FROM (SELECT DISTINCT rules_id FROM pool_blocks WHERE source = ? "
            "AND rules_id IS NOT NULL) b LEFT JOIN pool_rules r ON r.rules_id = b.rules_id "
            "ORDER BY r.used_at NULLS FIRST, b.rules_id",
            [source],
        )
        return [str(r) for (r,) in rows]

    def pool_rules_text(self, rules_id: str) -> str | None:
        v = self._scalar("SELECT body FROM pool_rules WHERE rules_id = ?", [rules_id])
        return None if v is None else str(v)

    def block_tx_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(heights, transactions per block) of every block with stored statistics."""
        cols = self._numpy("SELECT height, txs FROM block_stats WHERE txs IS NOT NULL ORDER BY height")
        return np.asarray(cols["height"], dtype=np.int64), np.asarray(cols["txs"], dtype=np.int64)
