"""Which pool mined a block, from its coinbase: payout-address rules, then coinbase-tag rules.

:func:`attribute` is the one owner of the attribution: vectorised over a batch of coinbases
(every output script looked up once in the rules' script map; every scriptSig run through the
tag automaton of :mod:`hashlens.pools.rules` column by column). :func:`attribute_loop` is the
same rules applied block by block in plain Python, the way mempool's matcher walks them — the
baseline of ``benchmarks/bench_pools.py`` and a cross-check in the tests.

Two orders of the rules:

``address-first`` (default)
    a block paying a rule address belongs to that address's pool, whatever its tag says; only
    a block paying no rule address is matched by tags. An address is the pool's own payout
    key, while a tag is text anyone can write (and firmware copies), so the stronger
    evidence decides — bitcoin-data's own identification works this way.
``mempool``
    mempool's ``matchBlockMiner``: pools in file order, each pool's addresses and then its tags,
    the first pool with any match wins. Use it to reproduce mempool's ``extras.pool``.

Every attribution records the rules file it used (``name@sha256``); :func:`reattribute`
redoes the stored blocks when the rules change, from the coinbases stored with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from hashlens.errors import HashlensError
from hashlens.pools.rules import NONE, CompiledRules, compile_rules, fold, match_tags
from hashlens.sources.coinbase import COINBASE_SCRIPT_MAX, ApiPool, Coinbase, decode_outputs

if TYPE_CHECKING:
    from hashlens.chain.update_models import MinedBy
    from hashlens.sources.pool_files import RulesFile
    from hashlens.sources.remote import HeaderSource
    from hashlens.store import Store

ORDERS = ("address-first", "mempool")
_SIG, _OUTS, _HEIGHT = attrgetter("script_sig"), attrgetter("output_scripts"), attrgetter("height")
UNKNOWN = "unknown"
#: The source name under which hashlens' own attributions are stored.
COINBASE_SOURCE = "coinbase"
#: Method codes: no rule matched, a payout address, a coinbase tag.
NO_MATCH, BY_ADDRESS, BY_TAG = 0, 1, 2
METHODS = ("none", "address", "tag")


@dataclass(frozen=True)
class Attribution:
    """Pools of a batch of blocks, in the batch's order."""

    heights: np.ndarray  # int64 (-1 where the coinbase gave none)
    pool_index: np.ndarray  # int32 index into rules.names, -1 = unknown
    method: np.ndarray  # int8: NO_MATCH, BY_ADDRESS, BY_TAG
    names: list[str]  # the rules' pool names
    rules_id: str
    order: str

    def pools(self) -> list[str]:
        """Each block's pool name (``unknown`` where no rule matched)."""
        return [self.names[i] if i >= 0 else UNKNOWN for i in self.pool_index.tolist()]

    def methods(self) -> list[str]:
        return [METHODS[m] for m in self.method.tolist()]


def _check_order(order: str) -> None:
    if order not in ORDERS:
        raise HashlensError(f"order {order!r}: give one of {', '.join(ORDERS)}")


def _combine(addr: np.ndarray, tag: np.ndarray, order: str) -> tuple[np.ndarray, np.ndarray]:
    """Pool index and method from the best address and tag matches of each block."""
    if order == "address-first":
        by_addr = addr != NONE
        best = np.where(by_addr, addr, tag)
        method = np.where(by_addr, BY_ADDRESS, np.where(tag != NONE, BY_TAG, NO_MATCH))
    else:  # mempool: the first pool in file order with any match; its addresses before its tags
        best = np.minimum(addr, tag)
        method = np.where(best == NONE, NO_MATCH, np.where(addr <= tag, BY_ADDRESS, BY_TAG))
    return np.where(best == NONE, -1, best).astype(np.int32), method.astype(np.int8)


def attribute(coinbases: Sequence[Coinbase], rules: CompiledRules, order: str = "address-first") -> Attribution:
    """The pool of each block, from its coinbase (vectorised over the batch).

    Parameters
    ----------
    coinbases : the blocks' coinbases (scriptSig and output scripts)
    rules : compiled rules (:func:`hashlens.pools.rules.compile_rules`)
    order : ``address-first`` or ``mempool`` (module docstring)

    Returns
    -------
    :class:`Attribution`: pool index, ``unknown`` (-1) where no rule matched, and the method.
    """
    _check_order(order)
    n = len(coinbases)
    # One C-speed pass per column of the batch (map/attrgetter): no Python step per block.
    sigs = list(map(_SIG, coinbases))
    lengths = np.fromiter(map(len, sigs), dtype=np.int64, count=n)
    width = int(lengths.max()) if n else 0
    if width > COINBASE_SCRIPT_MAX:
        big = coinbases[int(np.argmax(lengths))]
        raise HashlensError(
            f"block {big.height}: a coinbase scriptSig of {len(big.script_sig)} bytes (consensus allows "
            f"{COINBASE_SCRIPT_MAX}); not a mainnet coinbase"
        )
    tag = match_tags(rules, sigs, lengths) if n and width else np.full(n, NONE, dtype=np.int32)
    # Output scripts: one dictionary look-up each, then the lowest pool per block.
    outs = list(map(_OUTS, coinbases))
    counts = np.fromiter(map(len, outs), dtype=np.int64, count=n)
    flat = list(chain.from_iterable(outs))
    hits = np.fromiter(map(rules.script_pool.get, flat, repeat(int(NONE))), dtype=np.int32, count=len(flat))
    addr = np.full(n, NONE, dtype=np.int32)
    has = counts > 0
    if hits.size:
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        addr[has] = np.minimum.reduceat(hits, starts[has])
    pool, method = _combine(addr, tag, order)
    hs = list(map(_HEIGHT, coinbases))
    if None in hs:
        hs = [-1 if h is None else h for h in hs]
    return Attribution(np.array(hs, dtype=np.int64), pool, method, rules.names, rules.rules_id, order)


def attribute_loop(coinbases: Sequence[Coinbase], rules: CompiledRules, order: str = "address-first") -> Attribution:
    """:func:`attribute` block by block in plain Python (the same rules and orders): for each
    block, each pool in file order, its addresses (as scripts) and its tags (substring of the
    folded scriptSig)."""
    _check_order(order)
    per_pool_scripts: list[set[bytes]] = [set() for _ in rules.names]
    for script, i in rules.script_pool.items():
        per_pool_scripts[i].add(script)
    per_pool_tags: list[list[bytes]] = [[] for _ in rules.names]
    for t, i in rules.tags:
        per_pool_tags[i].append(t)
    pools, methods = [], []
    for c in coinbases:
        sig = fold(c.script_sig)
        outs = set(c.output_scripts)
        found, how = -1, NO_MATCH
        if order == "mempool":
            for i in range(len(rules.names)):
                if outs & per_pool_scripts[i]:
                    found, how = i, BY_ADDRESS
                    break
                if any(t in sig for t in per_pool_tags[i]):
                    found, how = i, BY_TAG
                    break
        else:
            for i in range(len(rules.names)):
                if outs & per_pool_scripts[i]:
                    found, how = i, BY_ADDRESS
                    break
            else:
                for i in range(len(rules.names)):
                    if any(t in sig for t in per_pool_tags[i]):
                        found, how = i, BY_TAG
                        break
        pools.append(found)
        methods.append(how)
    heights = np.array([-1 if c.height is None else c.height for c in coinbases], dtype=np.int64)
    return Attribution(
        heights, np.array(pools, dtype=np.int32), np.array(methods, dtype=np.int8), rules.names, rules.rules_id, order
    )


# -- the store --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttributionSummary:
    """What an attribution run stored."""

    source: str
    rules_id: str
    order: str
    blocks: int
    by_address: int
    by_tag: int
    unknown: int
    replaced: int  # stored attributions that changed

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _summary(att: Attribution, source: str, replaced: int) -> AttributionSummary:
    m = att.method
    return AttributionSummary(
        source,
        att.rules_id,
        att.order,
        int(m.size),
        int((m == BY_ADDRESS).sum()),
        int((m == BY_TAG).sum()),
        int((m == NO_MATCH).sum()),
        replaced,
    )


def _attribute_and_store(
    store: Store,
    coinbases: Sequence[Coinbase],
    compiled: CompiledRules,
    order: str,
    source: str,
    origin: str | None,
) -> tuple[Attribution, int]:
    """Attribute ``coinbases`` and write them with their pools and the rules file (one
    transaction); the attribution and the rows replaced."""
    att = attribute(coinbases, compiled, order)
    rules = compiled.rules
    replaced = store.write_attributions(
        source,
        origin,
        rules.rules_id,
        rules.name,
        rules.sha256,
        rules.text,
        order,
        coinbases,
        att.pools(),
        att.methods(),
    )
    return att, replaced


def attribute_blocks(
    store: Store,
    coinbases: Sequence[Coinbase],
    rules: RulesFile | CompiledRules,
    order: str = "address-first",
    source: str = COINBASE_SOURCE,
    origin: str = "node",
) -> AttributionSummary:
    """Attribute blocks from their coinbases and store both, in one transaction: the coinbase
    (so the block can be attributed again when the rules change), and the pool with its method
    and the rules file's id under ``source``. What ``sync`` and ``serve --follow`` call with
    the coinbases of new blocks (``origin``: where the coinbases came from, e.g. the node's
    URL). Every coinbase must carry its height and block hash. When blocks stored earlier were
    attributed with other rules, they are all attributed again with these (:func:`reattribute`),
    so the source never mixes two versions of the rules."""
    compiled = rules if isinstance(rules, CompiledRules) else compile_rules(rules)
    missing = [c for c in coinbases if c.height is None or c.block_hash is None]
    if missing:
        raise HashlensError(
            f"{len(missing)} coinbase(s) without a height or block hash (first: txid {missing[0].txid}); "
            "attribute blocks read from a node or a block file"
        )
    att, replaced = _attribute_and_store(store, coinbases, compiled, order, source, origin)
    if source == COINBASE_SOURCE and store.pool_rules_ids(source) != [compiled.rules.rules_id]:
        redone = reattribute(store, compiled, order)
        replaced += redone.replaced
    return _summary(att, source, replaced)


def store_api_pools(store: Store, blocks: Sequence[ApiPool], source: str = "mempool-api", origin: str = "") -> int:
    """Store the pools a mempool-style API named (``extras.pool.name``) per block under
    ``source`` (kept apart from hashlens' own attribution, never merged); returns the rows."""
    if not blocks:
        return 0
    store.write_pool_blocks(
        source,
        "blocks",
        origin or source,
        None,
        [b.height for b in blocks],
        [b.block_hash for b in blocks],
        [b.pool for b in blocks],
        ["api"] * len(blocks),
        replace_source=False,
    )
    return len(blocks)


def stored_coinbases(store: Store) -> list[Coinbase]:
    """The coinbases stored with hashlens' own attributions."""
    return [Coinbase(h, x, sig, decode_outputs(outs), txid) for h, x, sig, outs, txid in store.stored_coinbase_rows()]


def reattribute(store: Store, rules: RulesFile | CompiledRules, order: str = "address-first") -> AttributionSummary:
    """Attribute every stored coinbase again with ``rules`` and replace the stored pools (one
    transaction): what to run when a rules file changes. The summary counts the blocks whose
    pool changed."""
    compiled = rules if isinstance(rules, CompiledRules) else compile_rules(rules)
    coinbases = stored_coinbases(store)
    if not coinbases:
        raise HashlensError("the store holds no coinbases to attribute: sync blocks from a node first")
    att, replaced = _attribute_and_store(store, coinbases, compiled, order, COINBASE_SOURCE, None)
    return _summary(att, COINBASE_SOURCE, replaced)


def store_rules(store: Store) -> RulesFile | None:
    """The rules file new blocks are attributed with: the one the store's own attributions
    were made with (the latest, should several be stored), else the one recorded last
    (``hashlens pools import RULES_FILE``); None where the store has none."""
    from hashlens.sources.pool_files import RulesFile, rules_from_text

    ids = store.pool_rules_ids(COINBASE_SOURCE)
    rules_id = ids[-1] if ids else store.latest_pool_rules_id()
    row = None if rules_id is None else store.pool_rules_file(rules_id)
    if row is None:
        return None
    name, sha256, text = row
    # The stored file as it was read: its id names the file's bytes, not the stored text's.
    parsed = rules_from_text(text, name)
    return RulesFile(name, sha256, parsed.pools, parsed.text)


#: The note a sync gives when the store holds no rules file to attribute new blocks with.
NO_RULES_NOTE = (
    "pools: {n} new block(s) not attributed: the store has no rules file; run "
    "`hashlens pools import RULES_FILE` (e.g. mempool-pools-v2.json) first, then sync again from a node"
)


def attribute_node_blocks(
    store: Store, client: HeaderSource, blocks: Sequence[tuple[int, str]], order: str = "address-first"
) -> list[str]:
    """The pool of each block a node sync stored, from its coinbase: the sink that ``hashlens
    sync`` and ``serve --follow`` give :func:`hashlens.chain.sync.sync` (``on_blocks``).

    Each block's coinbase comes through the client's own transport
    (:meth:`~hashlens.sources.remote.HeaderSource.block_coinbase`: Core's REST raw block, or
    ``getblock <hash> 2``) and must name the stored block (its height and hash); the blocks
    are attributed with the store's rules file (:func:`store_rules`) and stored with their
    coinbases in one transaction (:func:`attribute_blocks`, origin the node). A block the node
    cannot give (pruned) is counted in a note and stays unattributed; a store without a rules
    file attributes nothing and says how to give it one. Returns the notes for the sync's
    report."""
    from hashlens.sources.remote import BlockUnavailable

    if not blocks:
        return []
    rules = store_rules(store)
    if rules is None:
        return [NO_RULES_NOTE.format(n=len(blocks))]
    got: list[Coinbase] = []
    missing: list[tuple[int, str]] = []
    for height, block_hash in blocks:
        try:
            cb = client.block_coinbase(block_hash, height)
        except BlockUnavailable as exc:
            missing.append((height, str(exc)))
            continue
        if cb.block_hash != block_hash or cb.height != height:
            raise HashlensError(
                f"{client.name}: asked for the coinbase of block {block_hash} at height {height}, got block "
                f"{cb.block_hash} at height {cb.height}; the node's chain moved: rerun the sync"
            )
        got.append(cb)
    notes = []
    if got:
        s = attribute_blocks(store, got, rules, order, origin=client.name)
        notes.append(
            f"pools: {s.blocks} block(s) attributed from their coinbases with {s.rules_id} ({s.order}): "
            f"{s.by_address} by address, {s.by_tag} by tag, {s.unknown} unknown"
        )
    if missing:
        first_h, why = missing[0]
        notes.append(
            f"pools: {client.name} gave no block for {len(missing)} height(s), left unattributed "
            f"(first {first_h}: {why})"
        )
    return notes


def store_mined_by(store: Store, mined: Sequence[MinedBy], source: str = "mempool-api") -> int:
    """What ``hashlens update`` read of who mined its blocks (a mempool-style API's
    ``extras``, :class:`hashlens.chain.update_models.MinedBy`), stored for the pools package: the API's
    pool name per block under ``source`` (:func:`store_api_pools`), and, where the API gave the
    coinbase's scriptSig and payout address and the store holds a rules file (:func:`store_rules`),
    hashlens' own attribution of those coinbases with that rules file (:func:`attribute_blocks`).
    Returns the API rows stored."""
    named = [m for m in mined if m.pool is not None]
    rows = store_api_pools(
        store,
        [ApiPool(m.height, m.block_hash, m.pool.name, m.pool.slug, m.pool.id, None) for m in named if m.pool],
        source=source,
        origin=named[0].source if named else "",
    )
    with_coinbase = [m for m in mined if m.coinbase_raw_hex and m.coinbase_address]
    rules = store_rules(store) if with_coinbase else None
    if rules is None:
        return rows
    from hashlens.sources.addresses import address_to_script

    coinbases = []
    for m in with_coinbase:
        try:
            script = address_to_script(str(m.coinbase_address))
        except HashlensError:
            continue  # an address form the rules cannot name: the API's pool stands alone
        coinbases.append(Coinbase(m.height, m.block_hash, bytes.fromhex(str(m.coinbase_raw_hex)), (script,)))
    if coinbases:
        attribute_blocks(store, coinbases, rules, origin=named[0].source if named else source)
    return rows
