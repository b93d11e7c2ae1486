"""Following a node and a price API: the server's one writer.

A :class:`Follower` polls its chain source (Bitcoin Core RPC/REST, or a mempool-style or
Esplora API) and its price source every ``poll_s``. Asking costs the store nothing: the
source's tip and the hash at the stored tip are compared first, and only news (new blocks,
another branch, new days of prices) opens a write. A node's news goes through
:func:`hashlens.chain.sync.sync`, a chain API's and the prices through ``hashlens update``'s
own code (:func:`hashlens.chain.update.update_chain`, :func:`~hashlens.chain.prices.fetch_prices`):
both validate every header as Core does, apply fork choice by work and roll back a losing branch. A source
that fails is retried with exponential back-off (``poll_s`` doubling up to ``max_backoff_s``);
its last error is kept for ``/v1/health`` and never stops the server.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hashlens.errors import HashlensError
from hashlens.store.locks import StoreLocked


def redact(url: str) -> str:
    """A source URL without its password or query string (an API key often rides there), for
    logs, health and the dashboard."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = "" if parts.username is None else (f"{parts.username}:***@" if parts.password else f"{parts.username}@")
    return urlunsplit((parts.scheme, user + host, parts.path, "***" if parts.query else "", ""))


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


@dataclass
class SourceState:
    """What a follower last heard from one source."""

    kind: str  # "chain" or "prices"
    source: str  # redacted URL
    last_contact: float | None = None  # [Unix s] last answer of any kind
    last_change: float | None = None  # [Unix s] last write it caused
    last_error: str | None = None
    failures: int = 0  # in a row
    next_poll: float = 0.0  # [Unix s]
    tip_height: int | None = None
    rows_added: int = 0
    notes: deque[str] = field(default_factory=lambda: deque(maxlen=20))

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "last_contact_utc": _iso(self.last_contact),
            "last_contact_age_s": None if self.last_contact is None else round(now - self.last_contact, 1),
            "last_change_utc": _iso(self.last_change),
            "last_error": self.last_error,
            "failures_in_a_row": self.failures,
            "next_retry_s": round(max(0.0, self.next_poll - now), 1),
            "tip_height": self.tip_height,
            "rows_added": self.rows_added,
            "notes": list(self.notes)[-5:],
        }


Writing = Callable[[], AbstractContextManager[Any]]
Reading = Callable[[Callable[[Any], Any]], Any]


class Follower:
    """Polls a chain source and a price source, writing news through ``writing()``.

    Parameters
    ----------
    writing : opens the store for one write batch (the server's ``StoreHolder.writing``)
    reading : runs a read of the store (``StoreHolder.run``)
    chain_url : ``bitcoind://…``, ``bitcoind+rest://…``, ``mempool+http(s)://…`` or
        ``esplora+http(s)://…``; or None
    prices_url : ``mempool+http(s)://…`` or ``kraken+http(s)://…``; or None
    poll_s : seconds between polls [s]
    max_backoff_s : longest wait after repeated failures [s]
    start_height : first height to fetch when the store has no header from this source yet
    cookie_file : Bitcoin Core's .cookie for RPC authentication
    elect : tries to become the store's one follower (several server processes on one
        PostgreSQL store: an advisory lock); until it succeeds this follower stands by and
        tries again every poll, so when the follower dies another takes over. None: always
    """

    def __init__(
        self,
        writing: Writing,
        reading: Reading,
        chain_url: str | None,
        prices_url: str | None = None,
        poll_s: float = 30.0,
        max_backoff_s: float = 600.0,
        start_height: int | None = None,
        cookie_file: str | None = None,
        currency: str = "USD",
        elect: Callable[[], bool] | None = None,
        on_extras: Callable[[Any, Sequence[Any]], None] | None = None,
        on_blocks: Callable[[Any, Any, list[tuple[int, str]]], Sequence[str]] | None = None,
    ) -> None:
        if chain_url is None and prices_url is None:
            raise HashlensError("--follow: name a chain source (and optionally --prices)")
        if not 0.05 <= poll_s <= 86400:
            raise HashlensError(f"--poll must be 0.05 s … 1 day (got {poll_s:g} s)")
        self.writing, self.reading = writing, reading
        self.chain_url, self.prices_url = chain_url, prices_url
        self.poll_s, self.max_backoff_s = poll_s, max(poll_s, max_backoff_s)
        self.start_height, self.cookie_file, self.currency = start_height, cookie_file, currency
        self.states: dict[str, SourceState] = {}
        if chain_url is not None:
            self.states["chain"] = SourceState("chain", redact(chain_url))
        if prices_url is not None:
            self.states["prices"] = SourceState("prices", redact(prices_url))
        self.on_change: Callable[[], None] | None = None
        # Who mined each block a chain API reports (``hashlens.chain.update_models.MinedBy``), handed
        # with the open store to the pools package by the server (chain/ does not import pools/).
        self.on_extras = on_extras
        # A node's new blocks, handed to the pools package for attribution from their coinbases
        # (:func:`hashlens.chain.remote.sync_remote`'s ``on_blocks``).
        self.on_blocks = on_blocks
        self.elect = elect
        self.elected = elect is None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0

    # -- one poll of each source --------------------------------------------------------------
    def _poll_chain(self, st: SourceState) -> bool:
        from hashlens.chain.update import update_chain
        from hashlens.chain.update_models import CHAIN_API_SCHEMES
        from hashlens.sources.mempool_api import open_chain_api
        from hashlens.sources.remote import open_remote

        assert self.chain_url is not None
        api = self.chain_url.startswith(CHAIN_API_SCHEMES)
        # A chain API (mempool-style or Esplora) goes through `hashlens update`'s own code; a
        # node (RPC or REST) through the header sync.
        client: Any = open_chain_api(self.chain_url) if api else open_remote(self.chain_url, self.cookie_file)
        tip = client.tip_height()
        st.last_contact = time.time()
        st.tip_height = tip
        stored_tip, stored_hash = self.reading(lambda s: _stored_tip(s))
        if stored_tip == tip and stored_hash is not None and _tip_hash(client, tip) == stored_hash:
            return False  # nothing new: no write, readers undisturbed
        if api:
            with self.writing() as store:
                sink = self.on_extras
                r = update_chain(store, client, on_extras=None if sink is None else lambda m: sink(store, m)).result
            added = r.periods_added + r.period_start_times_added + r.headers_added + r.blocks_added
            notes = list(r.notes)
        else:
            from hashlens.chain.sync import sync

            first = self.start_height if stored_tip is None or (self.start_height or 0) > stored_tip else None
            with self.writing() as store:
                reports = sync(
                    store, self.chain_url, start_height=first, cookie_file=self.cookie_file, on_blocks=self.on_blocks
                )
            added = sum(rep.added for rep in reports)
            notes = [n for rep in reports for n in rep.notes]
        st.rows_added += added
        st.notes.extend(notes)
        st.last_change = time.time()
        return True

    def _poll_prices(self, st: SourceState) -> bool:
        from hashlens.chain.prices import download_prices, screen_prices_news, store_price_news

        url = self.prices_url
        assert url is not None
        # Only days after the last stored one, screened against their stored neighbours, as
        # `hashlens update` takes them: a stored price is never overwritten by the follower (a
        # source that rounds, as mempool's does to whole units, would differ). The download runs
        # outside the server's read lock: a slow source holds up no reader or writer.
        last = self.reading(lambda s: s.last_price_day(self.currency.upper()))
        points = download_prices(url, self.currency, last)
        st.last_contact = time.time()
        news = self.reading(lambda s: screen_prices_news(s, url, self.currency, points))
        if not news.points:
            return False
        with self.writing() as store:
            result = store_price_news(store, news)
        st.rows_added += result.days_added
        st.notes.extend(result.notes)
        st.last_change = time.time()
        return True

    def poll_once(self) -> bool:
        """Poll every source that is due; True if anything was written."""
        changed = False
        now = time.time()
        if self.elect is not None:
            # Every poll, not only the first: a follower whose database session dropped has
            # lost the election (another may hold it now) and must stop writing.
            try:
                self.elected = self.elect()
            except Exception:  # the database is away: stand by and try again
                self.elected = False
            if not self.elected:
                for st in self.states.values():
                    st.next_poll = now + self.poll_s
                self.polls += 1
                return False
        for name, st in self.states.items():
            if st.next_poll > now:
                continue
            try:
                changed |= self._poll_chain(st) if name == "chain" else self._poll_prices(st)
            except StoreLocked as exc:  # readers held the file past the wait: not the source's fault
                st.notes.append(f"store busy, retried at the next poll: {exc}")
                st.next_poll = time.time() + self.poll_s
                continue
            except Exception as exc:  # a failing source is retried later, never fatal
                st.failures += 1
                st.last_error = " ".join(str(exc).split()) or type(exc).__name__
                wait = min(self.max_backoff_s, self.poll_s * 2 ** min(st.failures, 20))
                st.next_poll = time.time() + wait
                continue
            st.failures = 0
            st.last_error = None
            st.next_poll = time.time() + self.poll_s
        self.polls += 1
        if changed and self.on_change is not None:
            self.on_change()
        return changed

    # -- the background thread ----------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            due = min(st.next_poll for st in self.states.values())
            self._wake.wait(max(0.01, due - time.time()))
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="hashlens-follow", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Poll now (tests; a node's block notification)."""
        for st in self.states.values():
            st.next_poll = 0.0
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def status(self) -> dict[str, Any]:
        now = time.time()
        return {
            "role": "follower" if self.elected else "standby (another process follows)",
            "polls": self.polls,
            "poll_s": self.poll_s,
            "sources": [s.as_dict(now) for s in self.states.values()],
        }


def _stored_tip(store: Any) -> tuple[int | None, str | None]:
    tip = store.tip_height()
    return tip, None if tip is None else store.block_hash(tip)


def _tip_hash(client: Any, tip: int) -> str | None:
    """The source's hash of its tip: a node's ``block_hashes``, a chain API's ``block_hash``."""
    if hasattr(client, "block_hashes"):
        return str(client.block_hashes([tip])[0])
    found = client.block_hash(tip)
    return None if found is None else str(found)
