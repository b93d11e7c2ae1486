"""FastAPI application: thin handlers that validate, call the library and return its data.

Read-only by default. Imports (POST /v1/import/…) need ``Authorization: Bearer <token>`` where
the token is set by ``HASHLENS_API_TOKEN`` (no token set: imports are refused). Results are
cached per request parameters and the cache is dropped after every import.

Layout: this module builds the app (store holder, error handlers, dashboard);
:mod:`hashlens.api.models` holds the request/response models and bounds;
:mod:`hashlens.api.deps` the store holder with its cache and the token check;
:mod:`hashlens.api.routers` one router per subject (chain, economics, miners, simulate, imports).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from hashlens import __version__
from hashlens.api.deps import Holder, StoreHolder
from hashlens.api.models import ERRORS, Health
from hashlens.api.routers import chain, economics, forecast, imports, miners, simulate, weekly
from hashlens.errors import HashlensError
from hashlens.store import Store


async def _bad_input(_: Request, exc: Exception) -> JSONResponse:
    """A library error (bad input, data the store lacks) is the client's 400, with its message."""
    return JSONResponse(status_code=400, content={"detail": str(exc)})


def create_app(db_path: str | Path | None = None, token: str | None = None) -> FastAPI:
    """The hashlens API and dashboard over the store at ``db_path``.

    Parameters
    ----------
    db_path : the store (default ``$HASHLENS_DB``, else ``hashlens.duckdb``); created and
        migrated if missing
    token : bearer token that enables imports (default ``$HASHLENS_API_TOKEN``); without one
        the store is opened read-only and imports answer 403
    """
    path = Path(db_path or os.environ.get("HASHLENS_DB") or "hashlens.duckdb")
    token = token if token is not None else os.environ.get("HASHLENS_API_TOKEN") or None
    if not path.exists():
        Store(path).close()  # create and migrate, so a read-only open works
    app = FastAPI(
        title="hashlens",
        version=__version__,
        description="Bitcoin mining economics computed from the chain itself. Read-only unless a token is set.",
    )
    app.state.holder = StoreHolder(path, read_only=token is None)
    app.state.token = token
    app.add_exception_handler(HashlensError, _bad_input)
    app.add_exception_handler(ValueError, _bad_input)

    @app.get("/v1/health", responses=ERRORS, tags=["health"])
    def health(holder: Holder) -> Health:
        """Server version, whether imports are enabled, and the store's row counts."""
        return Health(status="ok", version=__version__, read_only=token is None, counts=holder.run(Store.counts))

    for r in (
        chain.router,
        economics.router,
        miners.router,
        simulate.router,
        imports.router,
        weekly.router,
        forecast.router,
    ):
        app.include_router(r)

    static = Path(str(resources.files("hashlens.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(static / "index.html")

    return app


def app_from_env() -> FastAPI:
    """For `uvicorn --factory hashlens.api.app:app_from_env`."""
    return create_app()


__all__ = ["StoreHolder", "app_from_env", "create_app"]
