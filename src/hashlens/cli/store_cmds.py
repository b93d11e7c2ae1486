"""`hashlens store copy`: move a whole store between DuckDB and PostgreSQL, verified."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit
from hashlens.errors import HashlensError

store_app = typer.Typer(help="Whole-store operations (copy between DuckDB and PostgreSQL).", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("copy")
def copy_cmd(
    src: Annotated[str, typer.Argument(help="The source store: a DuckDB file or postgresql://user@host/db.")],
    dst: Annotated[str, typer.Argument(help="The destination store (created if new), same forms.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite a destination that already holds data.")
    ] = False,
    batch_rows: Annotated[int, typer.Option(min=1, max=10_000_000, help="Rows read and written per batch.")] = 50_000,
    as_json: JsonOpt = False,
) -> None:
    """Copy every table of SRC into DST in one transaction, then compare row counts and a
    content hash per table on both sides."""
    from hashlens.store.copy import copy_store

    result = copy_store(src, dst, replace=replace, batch_rows=batch_rows)
    data = {
        "source": result.source,
        "dest": result.dest,
        "seconds": round(result.seconds, 2),
        "equal": result.equal,
        "tables": [
            {
                "table": t.table,
                "source_rows": t.source_rows,
                "dest_rows": t.dest_rows,
                "source_sha256": t.source_sha256,
                "dest_sha256": t.dest_sha256,
                "equal": t.equal,
            }
            for t in result.tables
        ],
    }

    def render(d: dict[str, Any]) -> None:
        from rich.table import Table

        t = Table(title=f"store copy {d['source']} -> {d['dest']} ({d['seconds']} s)")
        for col in ("table", "rows (src)", "rows (dst)", "sha256 (src)", "sha256 (dst)", "equal"):
            t.add_column(col, overflow="fold")
        for r in d["tables"]:
            t.add_row(
                r["table"],
                str(r["source_rows"]),
                str(r["dest_rows"]),
                r["source_sha256"],
                r["dest_sha256"],
                "yes" if r["equal"] else "NO",
            )
        console.print(t)

    emit(data, as_json, render)
    if not result.equal:
        bad = ", ".join(t.table for t in result.tables if not t.equal)
        raise HashlensError(f"store copy: {bad} differ between {result.source} and {result.dest} after the copy")
