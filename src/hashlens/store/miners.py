"""Typed reads and writes of listed miners' reports, treasuries and press facts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from hashlens.store.db import Database

TREASURY_COLS = ("ticker", "as_of", "company", "treasury_btc", "note", "source_title")
FACT_COLS = ("ticker", "month", "company", "metric", "value", "unit", "source_url", "note")


class MinerQueries(Database):
    """``miner_reports`` (one per ticker and month), ``miner_treasuries``, ``miner_facts``."""

    def miner_report_rows(self, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        cols = ", ".join(columns)
        return self._rows(f"SELECT {cols} FROM miner_reports ORDER BY ticker, month")

    def miner_report_count(self) -> int:
        return int(self._scalar("SELECT count(*) FROM miner_reports"))

    def miner_months(self) -> list[date]:
        return [m for (m,) in self._rows("SELECT DISTINCT month FROM miner_reports ORDER BY month")]

    def miner_treasury_rows(self) -> list[tuple[Any, ...]]:
        """(ticker, as_of, company, treasury_btc, note, source_title) of every snapshot."""
        return self._rows(f"SELECT {', '.join(TREASURY_COLS)} FROM miner_treasuries ORDER BY ticker, as_of")

    def write_miner_dataset(
        self,
        reports: list[dict[str, Any]],
        report_cols: Sequence[str],
        treasuries: list[dict[str, Any]],
        facts: list[dict[str, Any]],
        source: str,
    ) -> None:
        """Insert (or replace by key) reports, treasuries and facts in one transaction."""
        import pyarrow as pa

        with self.transaction():
            if reports:
                self._insert_arrow("miner_reports", pa.Table.from_pylist(reports), report_cols)
            if treasuries:
                self._insert_arrow("miner_treasuries", pa.Table.from_pylist(treasuries), TREASURY_COLS)
            if facts:
                self._insert_arrow("miner_facts", pa.Table.from_pylist(facts), FACT_COLS)
            self.log(source, "miners", len(reports) + len(treasuries) + len(facts))
