"""`hashlens serve`: the API and the dashboard, optionally following a node and a price API."""

from __future__ import annotations

from typing import Annotated

import typer

from hashlens.cli.app import app, state
from hashlens.cli.stores import ready_store
from hashlens.errors import HashlensError


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
) -> None:
    """Serve the API (/v1, docs at /docs) and the dashboard (/) on this machine."""
    import uvicorn

    from hashlens.api.app import create_app

    if not 1 <= port <= 65535:
        raise HashlensError("--port must be between 1 and 65535")
    ready_store(False, miners=True).close()
    uvicorn.run(create_app(state.db_path), host=host, port=port, log_level="warning")
