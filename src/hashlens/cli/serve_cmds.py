"""`hashlens serve`: the API and the dashboard, optionally following a node and a price API."""

from __future__ import annotations

import json
import os
import re
import socket
from typing import Annotated

import typer

from hashlens.cli.app import app, state
from hashlens.cli.stores import ready_store
from hashlens.errors import HashlensError

#: Bind addresses meaning "every address of this machine".
WILDCARDS = ("", "0.0.0.0", "::")


def parse_duration_s(text: str, what: str) -> float:
    """'30s', '2m', '1h' or a plain number of seconds -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise HashlensError(f"{what}: {text!r} is not a duration; write e.g. 30s, 2m or 1h")
    unit = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2) or "s"]
    return float(m.group(1)) * unit


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, or one line saying why it cannot be (a port in use, an
    address not of this machine, a port that needs privileges)."""
    import errno

    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise HashlensError(f"--host {host!r} is not an address or name this machine can bind: {exc}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        where = f"[{host}]:{port}" if ":" in host else f"{host or '*'}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise HashlensError(
                f"{where} is already in use by another program: stop it, or pass another --port"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise HashlensError(
                f"--host {host}: not an address of this machine; pass one it has (or 127.0.0.1)"
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise HashlensError(
                f"{where}: listening on port {port} needs privileges this user lacks; pass --port 1024 or above"
            ) from None
        raise HashlensError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    return sock


def allowed_hosts(host: str, extra: list[str]) -> list[str]:
    """The Host names the server answers to besides loopback's: the address it is bound to and
    ``--allowed-host``; bound to every address and told none, any (``*``)."""
    if host in WILDCARDS and not extra:
        return ["*"]
    return [h for h in (host, *extra) if h not in WILDCARDS]


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    follow: Annotated[
        str | None,
        typer.Option(
            help="Follow a chain source as the store's one writer: bitcoind://[user:pass@]host:port "
            "(REST where the node has -rest, else JSON-RPC), or a chain API as `hashlens update` reads it: "
            "mempool+http(s)://host/api or esplora+http(s)://host/api."
        ),
    ] = None,
    prices: Annotated[
        str | None, typer.Option(help="Follow a price API too: mempool+http(s)://host/api or kraken+http(s)://host.")
    ] = None,
    poll: Annotated[str, typer.Option(help="Time between polls of the sources (30s, 2m, …).")] = "30s",
    start_height: Annotated[
        int | None, typer.Option(help="First height to fetch from --follow when the store has none from it.")
    ] = None,
    rpc_cookie: Annotated[str | None, typer.Option(help="Bitcoin Core .cookie file for RPC auth.")] = None,
    heavy_timeout: Annotated[str, typer.Option(help="Time limit of one heavy request (60s, …).")] = "60s",
    workers: Annotated[
        int,
        typer.Option(help="Server processes (PostgreSQL stores): all serve reads; with --follow one follows."),
    ] = 1,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A Host name the server answers to besides localhost and the --host address (a proxy's "
            "public name; repeatable; '*' for any).",
        ),
    ] = None,
) -> None:
    """Serve the API (/v1, docs at /docs) and the dashboard (/) on this machine; with --follow,
    keep the store current from a node (and --prices from a price API) by itself."""
    import uvicorn

    from hashlens.api.app import create_app
    from hashlens.api.connections import KEEP_ALIVE_S, UVICORN_LIMIT_CONCURRENCY, GuardedProtocol
    from hashlens.api.pool import HeavyPool
    from hashlens.servers import loopback_url

    if not 1 <= port <= 65535:
        raise HashlensError("--port must be between 1 and 65535")
    if prices is not None and follow is None:
        raise HashlensError("--prices needs --follow (the server follows its sources as one writer)")
    poll_s = parse_duration_s(poll, "--poll")
    timeout_s = parse_duration_s(heavy_timeout, "--heavy-timeout")
    if not 1 <= timeout_s <= 3600:
        raise HashlensError("--heavy-timeout must be 1 s … 1 h")
    follow_args = None
    if follow is not None:
        from hashlens.chain.follow import Follower

        follow_args = {
            "chain_url": follow,
            "prices_url": prices,
            "poll_s": poll_s,
            "start_height": start_height,
            "cookie_file": rpc_cookie,
        }
        Follower(lambda: None, lambda f: None, **follow_args)  # type: ignore[arg-type, return-value]  # checks
    from hashlens.store.backend import is_postgres, normalise_target

    target = normalise_target(str(state.db_path))
    if not 1 <= workers <= 64:
        raise HashlensError("--workers must be 1 … 64")
    if workers > 1 and not is_postgres(target):
        raise HashlensError(
            "--workers needs a PostgreSQL store (--db postgresql://…): a DuckDB file has one process "
            "that writes and reads it beside others only read-only; run one server on it"
        )
    hosts = allowed_hosts(host, [h.strip() for h in allowed_host or [] if h.strip()])
    # Bound before anything is loaded: a busy port is one line, not a server that fails to start.
    sock = listening_socket(host, port)
    if workers > 1:
        sock.close()  # uvicorn's supervisor binds it again for its processes
    ready_store(False, miners=True).close()
    if workers == 1:
        # Reading commands on this store in other shells ask this server (`hashlens.cli.served`),
        # over loopback only: a server bound to another single address announces nothing.
        local = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
        announce = f"http://{f'[{local}]' if ':' in local else local}:{port}"
        url = announce if loopback_url(announce) else None
        application = create_app(
            target, follow=follow_args, pool=HeavyPool(timeout_s=timeout_s), url=url, allowed_hosts=hosts
        )
        config = uvicorn.Config(
            application,
            host=host,
            port=port,
            log_level="warning",
            http=GuardedProtocol,
            timeout_keep_alive=KEEP_ALIVE_S,
            limit_concurrency=UVICORN_LIMIT_CONCURRENCY,
        )
        uvicorn.Server(config).run(sockets=[sock])
        return
    # Several processes: each builds the app from the environment; one wins the follower election.
    os.environ["HASHLENS_DB"] = target
    os.environ["HASHLENS_HEAVY_TIMEOUT_S"] = str(timeout_s)
    os.environ["HASHLENS_ALLOWED_HOSTS"] = ",".join(hosts)
    if follow_args is not None:
        os.environ["HASHLENS_FOLLOW"] = json.dumps(follow_args)
    uvicorn.run(
        "hashlens.api.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        http="hashlens.api.connections:GuardedProtocol",
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=UVICORN_LIMIT_CONCURRENCY,
    )
