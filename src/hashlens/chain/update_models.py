"""``hashlens update``'s contract: its request (the chain and price APIs, how many recent
heights get per-block records, the batch size), its defaults and its results, and the pool
attributions (:class:`MinedBy`) a chain update hands to the pools package. The run itself is
:mod:`hashlens.chain.update`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from hashlens.chain.prices import PriceUpdateResult
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.contracts import Request, Result

if TYPE_CHECKING:
    from hashlens.sources.mempool_api import PoolTag

N = DIFFICULTY_ADJUSTMENT_INTERVAL
#: Where ``hashlens update`` reads by default: mempool.space's public API for the chain
#: (blocks with their extras, the difficulty adjustments) and for prices (``historical-price``).
DEFAULT_CHAIN_SOURCE = "mempool+https://mempool.space/api"
DEFAULT_PRICE_SOURCE = "mempool+https://mempool.space/api"
#: Environment variables naming the sources instead of the options.
CHAIN_SOURCE_ENV = "HASHLENS_CHAIN_SOURCE"
PRICE_SOURCE_ENV = "HASHLENS_PRICE_SOURCE"
#: Heights below the tip whose blocks an update fetches where missing: two periods, enough
#: for the running period's estimates, 1008-block hashrate and trailing 144-block fees.
DEFAULT_RECENT_BLOCKS = 2 * N
#: Heights one transaction covers (a rerun after an interruption resumes at a batch).
DEFAULT_BATCH_BLOCKS = 1008

#: The chain APIs an update (and the follower) reads.
CHAIN_API_SCHEMES = ("mempool+http://", "mempool+https://", "esplora+http://", "esplora+https://")
_PRICE_SCHEMES = ("mempool+http://", "mempool+https://", "kraken+http://", "kraken+https://")


class UpdateRequest(Request):
    """What ``hashlens update`` reads: the chain and price APIs (``none`` skips one), the
    currency, how many heights below the tip get per-block records, and the batch size."""

    chain: str = Field(DEFAULT_CHAIN_SOURCE, max_length=2000)
    prices: str = Field(DEFAULT_PRICE_SOURCE, max_length=2000)
    currency: str = Field("USD", pattern=r"^[A-Za-z]{3}$")
    recent_blocks: int = Field(DEFAULT_RECENT_BLOCKS, ge=0, le=15 * N)
    batch_blocks: int = Field(DEFAULT_BATCH_BLOCKS, ge=1, le=10 * N)

    @field_validator("chain")
    @classmethod
    def _chain_api(cls, url: str) -> str:
        if url.lower() != "none" and not url.startswith(CHAIN_API_SCHEMES):
            raise ValueError(
                f"chain {url[:60]!r}: a chain API is mempool+http(s)://host/api or esplora+http(s)://host/api "
                "(or 'none')"
            )
        return url

    @field_validator("prices")
    @classmethod
    def _price_api(cls, url: str) -> str:
        if url.lower() != "none" and not url.startswith(_PRICE_SCHEMES):
            raise ValueError(
                f"prices {url[:60]!r}: a price API is mempool+http(s)://host/api or kraken+http(s)://host (or 'none')"
            )
        return url


class ChainUpdateResult(Result):
    """What one chain update did."""

    source: str
    tip_height: int
    tip_time_utc: str | None
    periods_added: int
    period_start_times_added: int
    headers_added: int  # full headers rebuilt and checked by proof of work
    blocks_added: int  # block rows without a header: hash and time, or time only
    block_stats_added: int  # blocks whose fees were stored
    pool_tags: int  # blocks with extras.pool handed to on_extras
    requests: int
    notes: list[str]


class UpdateResult(Result):
    """``hashlens update``: the chain and the prices, each None when skipped."""

    store: str
    chain: ChainUpdateResult | None
    prices: PriceUpdateResult | None


@dataclass(frozen=True)
class MinedBy:
    """Who mined a block, as the chain API says (mempool's ``extras``): for the pools package."""

    height: int
    block_hash: str  # display hex
    pool: PoolTag | None
    coinbase_raw_hex: str | None
    coinbase_address: str | None
    coinbase_signature_ascii: str | None
    source: str


@dataclass
class ChainUpdate:
    """A chain update's result and the pool attributions it read."""

    result: ChainUpdateResult
    mined_by: list[MinedBy] = field(default_factory=list)


ExtrasSink = Callable[[Sequence[MinedBy]], None]


__all__ = [
    "CHAIN_API_SCHEMES",
    "CHAIN_SOURCE_ENV",
    "DEFAULT_BATCH_BLOCKS",
    "DEFAULT_CHAIN_SOURCE",
    "DEFAULT_PRICE_SOURCE",
    "DEFAULT_RECENT_BLOCKS",
    "PRICE_SOURCE_ENV",
    "ChainUpdate",
    "ChainUpdateResult",
    "ExtrasSink",
    "MinedBy",
    "UpdateRequest",
    "UpdateResult",
]
