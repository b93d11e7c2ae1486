"""`hashlens` command line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from platformdirs import user_data_dir
from rich.table import Table
from typer._click.exceptions import NoArgsIsHelpError

from hashlens import __version__
from hashlens.cli.output import console, emit
from hashlens.errors import HashlensError

app = typer.Typer(
    name="hashlens",
    help="Bitcoin mining economics computed from the chain itself.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def default_db_path() -> Path:
    return Path(user_data_dir("hashlens", appauthor=False)) / "hashlens.duckdb"


class State:
    db_path: Path = default_db_path()
    data_dir: str | None = None


state = State()


def _version(value: bool) -> None:
    if value:
        print(f"hashlens {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[
        Path | None,
        typer.Option("--db", envvar="HASHLENS_DB", help="Database file (default: user data dir)."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", envvar="HASHLENS_DATA", help="Shared data folder (holding chain/)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    state.db_path = db or default_db_path()
    state.data_dir = data


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kv_table(title: str, rows: dict[str, Any]) -> Table:
    t = Table(title=title, show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    for k, v in rows.items():
        t.add_row(k, "" if v is None else str(v))
    return t


def _register() -> None:
    # Command modules attach themselves to `app` on import.
    from hashlens.cli import chain_cmds, consensus_cmds, economics_cmds, face_cmds, miners_cmds, sim_cmds  # noqa: F401


def _fail(message: str) -> None:
    """One line on stderr, whatever the terminal width."""
    print("error: " + " ".join(message.split()), file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors and a non-zero exit, never a traceback."""
    _register()
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="hashlens", standalone_mode=False)
    except HashlensError as exc:
        _fail(str(exc))
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted")
        sys.exit(130)
    except NoArgsIsHelpError:
        sys.exit(0)
    except typer.TyperException as exc:
        _fail(exc.format_message())
        sys.exit(exc.exit_code or 2)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        _fail("interrupted")
        sys.exit(130)


__all__ = ["app", "console", "emit", "iso", "kv_table", "main", "state"]
