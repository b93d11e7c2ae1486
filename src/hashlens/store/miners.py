"""Typed reads and writes of listed miners' reports, treasuries, press facts and results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from hashlens.store.db import Database

TREASURY_COLS = ("ticker", "as_of", "company", "treasury_btc", "note", "source_title")
FACT_COLS = ("ticker", "month", "company", "metric", "value", "unit", "source_url", "note")
RESULT_COLS = (
    "ticker",
    "company",
    "period",
    "period_start",
    "period_end",
    "metric",
    "value",
    "unit",
    "source_url",
    "source_kind",
    "note",
    "published",
)


class MinerQueries(Database):
    """``miner_reports`` (one per ticker and month), ``miner_treasuries``, ``miner_facts``,
    ``miner_results`` (one value per ticker, period and metric)."""

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

    def miner_result_rows(self) -> list[tuple[Any, ...]]:
        """Every stored result as a tuple of :data:`RESULT_COLS`, by ticker, period and metric."""
        return self._rows(
            f"SELECT {', '.join(RESULT_COLS)} FROM miner_results ORDER BY ticker, period_end, period_start, metric"
        )

    def miner_result_count(self) -> int:
        return int(self._scalar("SELECT count(*) FROM miner_results"))

    def write_miner_dataset(
        self,
        reports: list[dict[str, Any]],
        report_cols: Sequence[str],
        treasuries: list[dict[str, Any]],
        facts: list[dict[str, Any]],
        source: str,
        results: list[dict[str, Any]] | None = None,
    ) -> None:
        """Insert (or replace by key) reports, treasuries, facts and results (dicts of
        :data:`RESULT_COLS`) in one transaction."""
        import pyarrow as pa

        results = results or []
        with self.transaction():
            if reports:
                self._insert_arrow("miner_reports", pa.Table.from_pylist(reports), report_cols)
            if treasuries:
                self._insert_arrow("miner_treasuries", pa.Table.from_pylist(treasuries), TREASURY_COLS)
            if facts:
                self._insert_arrow("miner_facts", pa.Table.from_pylist(facts), FACT_COLS)
            if results:
                self._insert_arrow("miner_results", pa.Table.from_pylist(results), RESULT_COLS)
            self.log(source, "miners", len(reports) + len(treasuries) + len(facts) + len(results))
