"""What the routers share: the store holder with its result cache, and the token check."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, HTTPException, Request

from hashlens.store import Store

T = TypeVar("T")


class StoreHolder:
    """One DuckDB connection shared by the handlers, used under a lock (a connection is not
    meant for concurrent queries); cached results make most requests skip it.

    ``cached(fn, *args)`` calls ``fn(store, *args)`` once per arguments and store version;
    :meth:`changed` (after every import) drops every cached result.
    """

    def __init__(self, path: Path, read_only: bool) -> None:
        self.store = Store(path, read_only=read_only)
        self.lock = threading.RLock()
        self.version = 0
        self._cache = lru_cache(maxsize=512)(self._call)

    def run(self, fn: Callable[[Store], T]) -> T:
        with self.lock:
            return fn(self.store)

    def _call(self, version: int, fn: Callable[..., Any], *args: Any) -> Any:
        with self.lock:
            return fn(self.store, *args)

    def cached(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(store, *args)``, from the cache when the same call was made on this version."""
        result: T = self._cache(self.version, fn, *args)
        return result

    def changed(self) -> None:
        self.version += 1
        self._cache.cache_clear()


def get_holder(request: Request) -> StoreHolder:
    holder: StoreHolder = request.app.state.holder
    return holder


Holder = Annotated[StoreHolder, Depends(get_holder)]


def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Imports need ``Authorization: Bearer <token>``; no token configured: refused."""
    import hmac

    token: str | None = request.app.state.token
    if token is None:
        raise HTTPException(403, "imports are disabled: start the server with HASHLENS_API_TOKEN set")
    if not hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "missing or wrong bearer token")
