"""FastAPI application: thin handlers that validate, call the library and return its data.

Read-only by default. Imports (POST /v1/import/…) need ``Authorization: Bearer <token>`` where
the token is set by ``HASHLENS_API_TOKEN`` (no token set: imports are refused). With a
:class:`~hashlens.chain.follow.Follower` the server is its store's one writer and keeps it
current by itself. Results are cached per request parameters as encoded bytes and dropped
after every write.

Limits (each request's cost is bounded; see :mod:`hashlens.api.middleware` and
:mod:`hashlens.api.pool`): bodies of at most 2 MiB, refused before they are read or parsed and
before any token work; heavy work (simulations, forecasts, outlooks, a new day's weekly
figures) in separate worker processes, one at a time, 64 waiting, 60 s and 512 MB each;
uncached reads in 4 threads; ``/v1/health`` and cached reads on the event loop, never queued.

Layout: this module builds the app (store holder, limits, error handlers, dashboard, offline
docs); :mod:`hashlens.api.models` holds the request/response models and bounds;
:mod:`hashlens.api.deps` the store holder with its cache and the token check;
:mod:`hashlens.api.routers` one router per subject.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from hashlens import __version__
from hashlens.api.deps import StoreHolder
from hashlens.api.middleware import LimitsMiddleware
from hashlens.api.models import ERRORS, Health
from hashlens.api.pool import HeavyPool
from hashlens.api.routers import (
    chain,
    economics,
    forecast,
    imports,
    miners,
    outlook,
    pools,
    simulate,
    web_assets,
    weekly,
)
from hashlens.errors import HashlensError, Refused
from hashlens.servers import ServerMark, new_token
from hashlens.store import Store
from hashlens.store.backend import StoreConnectionLost
from hashlens.store.db import StoreLocked

if TYPE_CHECKING:
    from hashlens.chain.follow import Follower


async def _bad_input(_: Request, exc: Exception) -> JSONResponse:
    """Bad input or data the store lacks (a :class:`HashlensError`, raised where the input is
    read) is the client's 400, with its message. Any other exception is a bug: the app's
    middleware answers it 500 and logs its traceback (:mod:`hashlens.api.middleware`)."""
    return JSONResponse(status_code=400, content={"detail": str(exc)})


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    """A request outside its contract: 422 with the words the CLI and the library use."""
    from fastapi.exceptions import RequestValidationError

    from hashlens.contracts import plain_errors, refusal

    if isinstance(exc, RequestValidationError):
        errs = list(exc.errors())
        return JSONResponse(status_code=422, content={"detail": refusal(errs), "errors": plain_errors(errs)})
    assert isinstance(exc, Refused)
    return JSONResponse(status_code=422, content={"detail": str(exc), "errors": exc.errors})


async def _busy(_: Request, exc: Exception) -> JSONResponse:
    """The store held by a write batch past the wait, or its database connection lost: the
    server's state, not the request's fault — 503, try again shortly."""
    return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})


#: The read endpoints' default answers, computed into the cache at start-up and after each
#: commit (a GET each, through the whole app: the same keys a client's request finds).
WARM_PATHS = (
    "/v1/asics",
    "/v1/difficulty",
    "/v1/summary",
    "/v1/halving",
    "/v1/hashprice",
    "/v1/hashprice/series",
    "/v1/difficulty/history",
    "/v1/hashrate",
    "/v1/power",
    "/v1/weekly/days",
    "/v1/weekly",
    "/v1/forecast",
    "/v1/cost",
    "/v1/miners/months",
    "/v1/miners/treasury",
    "/v1/pools",
    "/v1/pools/dominance",
    "/v1/pools/sources",
)
#: Of those, the answers computed in the heavy-work processes: warmed at start-up only (after a
#: commit the first client to ask waits for them), so that commits coming every few seconds do
#: not keep the heavy workers busy with answers nobody asked for.
HEAVY_PATHS = ("/v1/weekly", "/v1/forecast")


async def warm_cache(app: Any, paths: tuple[str, ...] = WARM_PATHS) -> dict[str, int]:
    """GET each path through ``app`` in this process (no socket): its answer is then cached
    for the store's version. Returns each path's status; an error answer (a store without
    prices, say) is left for the client who asks to receive."""
    statuses: dict[str, int] = {}
    for path in paths:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any], path: str = path) -> None:
            if message["type"] == "http.response.start":
                statuses[path] = int(message["status"])

        try:
            await app(scope, receive, send)
        except Exception:  # a bug answers 500 to the client that asks; warming goes on
            logging.getLogger("hashlens.api").exception("warming %s", path)
    return statuses


async def _after(
    running: set[asyncio.Task[dict[str, int]]], warm: Callable[[], Awaitable[dict[str, int]]]
) -> dict[str, int]:
    """``warm()`` once the warm-ups already running have finished (one at a time)."""
    me = asyncio.current_task()
    await asyncio.gather(*(t for t in list(running) if t is not me), return_exceptions=True)
    return await warm()


def create_app(
    db_path: str | Path | None = None,
    token: str | None = None,
    follow: dict[str, Any] | None = None,
    pool: HeavyPool | None = None,
    url: str | None = None,
    allowed_hosts: list[str] | None = None,
    warm: bool = True,
) -> FastAPI:
    """The hashlens API and dashboard over the store at ``db_path``.

    Parameters
    ----------
    db_path : the store (default ``$HASHLENS_DB``, else ``hashlens.duckdb``); created and
        migrated if missing
    token : bearer token that enables imports (default ``$HASHLENS_API_TOKEN``)
    follow : keyword arguments of :class:`~hashlens.chain.follow.Follower` (``chain_url``,
        ``prices_url``, ``poll_s``, …): the server then follows those sources as the store's
        one writer
    pool : the worker processes for heavy requests (default: one worker, 60 s, 512 MB)
    url : the loopback URL this server answers on: while it runs, announced beside a DuckDB
        store with a token its answers carry (:class:`hashlens.servers.ServerMark`), so that
        reading commands in other shells ask it
    allowed_hosts : Host names answered besides localhost's (``"*"``: any); None: no Host
        check (``hashlens serve`` passes the address it binds and ``--allowed-host``)
    warm : compute every read endpoint's default answer at start-up and after each commit
        (:func:`warm_cache`), so that no first request finds the cache cold
    """
    from hashlens.store.backend import is_postgres

    target = str(db_path or os.environ.get("HASHLENS_DB") or "hashlens.duckdb")
    postgres = is_postgres(target)
    path: Path | str = target if postgres else Path(target)
    token = token if token is not None else os.environ.get("HASHLENS_API_TOKEN") or None
    if token is not None and not (len(token) <= 512 and token.isascii() and token.isprintable() and " " not in token):
        # The header carries it as ASCII; anything else could never match.
        raise HashlensError("HASHLENS_API_TOKEN: use up to 512 printable ASCII characters without spaces")
    if postgres or not Path(path).exists():
        Store(path).close()  # create and migrate, so a read-only open works
    writer = token is not None or follow is not None
    holder = StoreHolder(path, writer=writer, command="hashlens serve --follow" if follow else "hashlens serve")
    server_token = new_token() if url is not None and not postgres else None
    heavy = pool or HeavyPool()
    follower: Follower | None = None
    elector: Store | None = None
    stop_watch = threading.Event()
    if follow is not None:
        from hashlens.chain.follow import Follower
        from hashlens.pools.attribution import attribute_node_blocks, store_mined_by

        # Who mined the blocks a chain API reports, and a node's new blocks (attributed from their
        # coinbases), go to the pools package, as `hashlens update`'s and `hashlens sync`'s do.
        follow = {"on_extras": store_mined_by, "on_blocks": attribute_node_blocks, **follow}
        if postgres:
            # Several server processes may follow one PostgreSQL store: one wins the election.
            elector = Store(path)
            follower = Follower(holder.writing, holder.run, elect=elector.try_follower_lock, **follow)
        else:
            follower = Follower(holder.writing, holder.run, **follow)
        holder.follow_status = follower.status

    @asynccontextmanager
    async def lifespan(this: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(heavy.warm)
        watcher = None
        if postgres:  # other processes write too: drop the cache on their commits (from before warming)
            watcher = threading.Thread(target=holder.watch_commits, args=(stop_watch,), daemon=True)
            watcher.start()
        if warm:
            # Every read endpoint's default answer computed before the first client asks (no
            # cold first request), and again after each commit (which drops the cache).
            await warm_cache(this)
            loop = asyncio.get_running_loop()
            light = tuple(p for p in WARM_PATHS if p not in HEAVY_PATHS)
            rewarms: set[asyncio.Task[dict[str, int]]] = set()  # held until done (the loop keeps weak references)

            def rewarm() -> None:
                if len(rewarms) > 1:
                    return  # one running and one to follow it cover every commit so far
                task = loop.create_task(_after(rewarms, lambda: warm_cache(this, light)))
                rewarms.add(task)
                task.add_done_callback(rewarms.discard)

            def on_change() -> None:
                with contextlib.suppress(RuntimeError):  # the loop has closed: the server is stopping
                    loop.call_soon_threadsafe(rewarm)

            holder.on_change = on_change
        # The imports and tables made so far live as long as the server: keep them out of the
        # cyclic collector's sweeps (fewer, shorter pauses under load).
        gc.collect()
        gc.freeze()
        if follower is not None:
            follower.start()
        mark = ServerMark(target, url, server_token) if server_token is not None and url is not None else None
        try:
            yield
        finally:
            if mark is not None:
                mark.close()
            holder.on_change = None
            stop_watch.set()
            if follower is not None:
                await anyio.to_thread.run_sync(follower.stop)
            if elector is not None:
                elector.close()
            heavy.close()
            holder.close()
            gc.unfreeze()  # the objects frozen above are collected at exit like any others

    app = FastAPI(
        title="hashlens",
        version=__version__,
        description="Bitcoin mining economics computed from the chain itself. Read-only unless a token is set.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.token = token
    app.state.pool = heavy
    app.state.follower = follower
    from fastapi.exceptions import RequestValidationError

    app.add_exception_handler(RequestValidationError, _refused)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(HashlensError, _bad_input)
    app.add_exception_handler(StoreLocked, _busy)
    app.add_exception_handler(StoreConnectionLost, _busy)
    app.add_middleware(
        LimitsMiddleware,
        token=token,
        server_token=server_token,
        allowed_hosts=allowed_hosts,
        store_version=lambda: holder.version,
    )

    @app.get("/v1/health", responses=ERRORS, tags=["health"])
    async def health(request: Request) -> Health:
        """Server version, whether it writes, the store's row counts (as of the last commit)
        and version, what the follower last heard from its sources, and the heavy-work queue.
        Answered on the event loop from values kept in memory: never queued, never waits for
        the store."""
        return Health(
            status="ok",
            version=__version__,
            read_only=token is None and follower is None,
            counts=holder.counts,
            store_version=holder.version,
            follow=holder.follow_status() if holder.follow_status else None,
            heavy=heavy.stats(),
            pid=os.getpid(),
        )

    for r in (
        chain.router,
        economics.router,
        miners.router,
        simulate.router,
        imports.router,
        weekly.router,
        forecast.router,
        outlook.router,
        pools.router,
        web_assets.router,
    ):
        app.include_router(r)

    static = Path(str(resources.files("hashlens.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    _mount_docs(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    page = (static / "index.html").read_bytes()

    @app.get("/", include_in_schema=False)
    async def dashboard() -> Response:
        from hashlens.api.middleware import mark_answer

        mark_answer(holder.version)  # the bundled page: the same at every version
        return Response(page, media_type="text/html; charset=utf-8")

    return app


_DOCS_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="/docs-assets/swagger-ui.css">
<link rel="icon" href="/docs-assets/favicon.png">
<title>hashlens API</title>
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""

# Swagger UI's start, as a file: the page then runs under a CSP with no inline script.
_DOCS_START = """SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def _mount_docs(app: FastAPI) -> None:
    """``/docs`` from the Swagger UI 5 files of the ``fastapi-offline`` package (only its files:
    its own app is not used): no CDN, and no inline script (the start is ``/docs/start.js``)."""
    from importlib import resources

    assets = Path(str(resources.files("fastapi_offline") / "static"))
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_DOCS_PAGE)

    @app.get("/docs/start.js", include_in_schema=False)
    def docs_start() -> Response:
        return Response(_DOCS_START, media_type="text/javascript")


def app_from_env() -> FastAPI:
    """For `uvicorn --factory hashlens.api.app:app_from_env` and `serve --workers N`: the store
    from ``HASHLENS_DB``, the token from ``HASHLENS_API_TOKEN``, the sources to follow from
    ``HASHLENS_FOLLOW`` (JSON of the follower's arguments) and the heavy-request time limit
    from ``HASHLENS_HEAVY_TIMEOUT_S``."""
    follow = os.environ.get("HASHLENS_FOLLOW")
    timeout = os.environ.get("HASHLENS_HEAVY_TIMEOUT_S")
    pool = HeavyPool(timeout_s=float(timeout)) if timeout else None
    return create_app(follow=json.loads(follow) if follow else None, pool=pool)


__all__ = ["StoreHolder", "app_from_env", "create_app"]
