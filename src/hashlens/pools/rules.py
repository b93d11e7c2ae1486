"""Pool-identification rules compiled for matching many coinbases at once.

A rules file (:class:`hashlens.sources.pool_files.RulesFile`) lists pools in order, each with
payout addresses and coinbase tags. Compiled here into

- a map from **output script** to the first pool (in file order) paying to it: each rule
  address is turned into the script that pays it once, so a block's outputs are matched as
  bytes, with no address encoding per block;
- an **Aho–Corasick automaton** over the tags (as UTF-8 bytes, ASCII letters folded to lower
  case): one pass over a scriptSig finds every tag in it, and each automaton state carries the
  lowest pool index of the tags that end there. Run over a matrix of scriptSigs column by
  column with numpy, it matches a whole batch of blocks in ``max(len(scriptSig)) ≤ 100`` steps.

How this differs from mempool's matcher (``pools-parser.ts: matchBlockMiner``), which tries
each pool in file order, its addresses then its tags as case-insensitive JavaScript regular
expressions over the scriptSig read one byte per character: a tag is matched here as the
literal text of the rules file (the files hold literal text: in 56 tags a ``.`` that a
regular expression would let match any character, and ``/$Mined by 7pool.com/``, which as a
regular expression can never match); a tag with characters beyond Latin-1 (``七彩神仙鱼``,
F2Pool's) is matched as its UTF-8 bytes, as miners write it, where mempool's Latin-1 reading
cannot match it. Which pool wins when a block's address and tag point at different pools is
the ``order`` of :func:`hashlens.pools.attribution.attribute`.

References
----------
.. [1] Aho, A. V. & Corasick, M. J. (1975), "Efficient string matching: an aid to
   bibliographic search", CACM 18(6):333-340.
.. [2] mempool/mempool, ``backend/src/api/pools-parser.ts``; mempool/mining-pools
   ``pools-v2.json``; bitcoin-data/mining-pools.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from hashlens.errors import HashlensError
from hashlens.sources.addresses import address_to_script
from hashlens.sources.pool_files import RulesFile

#: Pool index meaning "no rule matched".
NONE = np.int32(2**31 - 1)
_UPPER = bytes(range(ord("A"), ord("Z") + 1))
#: Bytes with ASCII letters folded to lower case (the case-insensitive match).
FOLD = bytes.maketrans(_UPPER, _UPPER.lower())
_FOLD_NP = np.frombuffer(FOLD, dtype=np.uint8)


def fold(data: bytes) -> bytes:
    """``data`` with A-Z folded to a-z (other bytes unchanged)."""
    return data.translate(FOLD)


@dataclass
class CompiledRules:
    """A rules file ready for matching (build with :func:`compile_rules`)."""

    rules: RulesFile
    names: list[str]  # pool names in file order (index = pool index)
    script_pool: dict[bytes, int]  # output script -> first pool paying to it
    tags: list[tuple[bytes, int]]  # (folded UTF-8 tag, pool index), file order
    delta: np.ndarray  # automaton transitions, flattened: state * 256 + byte -> state (int32)
    out: np.ndarray  # per state: the lowest pool index of a tag ending there (NONE if none)
    ignored: list[str] = field(default_factory=list)  # addresses not on mainnet (testnet pools)

    @property
    def rules_id(self) -> str:
        return self.rules.rules_id


def _trie(tags: list[tuple[bytes, int]]) -> tuple[list[dict[int, int]], list[int]]:
    goto: list[dict[int, int]] = [{}]
    out = [int(NONE)]
    for tag, pool in tags:
        s = 0
        for b in tag:
            nxt = goto[s].get(b)
            if nxt is None:
                nxt = len(goto)
                goto[s][b] = nxt
                goto.append({})
                out.append(int(NONE))
            s = nxt
        out[s] = min(out[s], pool)
    return goto, out


def compile_rules(rules: RulesFile) -> CompiledRules:
    """Compile a rules file: output scripts of its addresses, and the tag automaton.

    A mainnet-looking address whose checksum fails makes the file malformed (refused, naming
    the pool); addresses of other networks (``tb1…``, ``m…``, ``n…``, ``2…``: mempool's file
    lists testnet pools too) are set aside in ``ignored``.
    """
    script_pool: dict[bytes, int] = {}
    ignored: list[str] = []
    tags: list[tuple[bytes, int]] = []
    for i, p in enumerate(rules.pools):
        for a in p.addresses:
            if a[:1] not in ("1", "3") and not a.lower().startswith("bc1"):
                ignored.append(a)
                continue
            try:
                script = address_to_script(a)
            except HashlensError as exc:
                raise HashlensError(f"{rules.name}: pool {p.name!r} (id {p.id}): {exc}; fix the address") from None
            script_pool.setdefault(script, i)
        for t in p.tags:
            if "\0" in t:
                raise HashlensError(f"{rules.name}: pool {p.name!r} (id {p.id}): a tag holds a zero byte; remove it")
            tags.append((fold(t.encode("utf-8")), i))
    goto, out_list = _trie(tags)
    n_states = len(goto)
    delta = np.zeros((n_states, 256), dtype=np.int32)
    out = np.asarray(out_list, dtype=np.int32)
    fail = np.zeros(n_states, dtype=np.int32)
    queue: deque[int] = deque()
    for b, child in goto[0].items():
        delta[0, b] = child
        queue.append(child)
    while queue:
        s = queue.popleft()
        f = int(fail[s])
        delta[s] = delta[f]
        for b, child in goto[s].items():
            fail[child] = delta[f, b]
            delta[s, b] = child
            out[child] = min(out[child], out[fail[child]])
            queue.append(child)
    names = [p.name for p in rules.pools]
    return CompiledRules(rules, names, script_pool, tags, delta.ravel(), out, ignored)


def match_tags(rules: CompiledRules, sigs: list[bytes], lengths: np.ndarray) -> np.ndarray:
    """The lowest pool index whose tag occurs in each scriptSig (NONE where none does).

    Parameters
    ----------
    sigs : the scriptSigs
    lengths : each scriptSig's length [bytes]

    Returns
    -------
    int32 array, one pool index per block. The scriptSigs are padded with zero bytes to one
    width (``bytes.ljust`` mapped in C), laid out as columns (byte position × block, longest
    first), and the automaton runs over all blocks at once, one byte position per step, over
    only the blocks that long; each keeps the lowest pool index it passed. No tag holds a zero
    byte (:func:`compile_rules` refuses one), so a zero byte returns the automaton to its root.
    """
    n = lengths.size
    width = int(lengths.max())
    order = np.argsort(-lengths, kind="stable")
    padded = b"".join(map(bytes.ljust, sigs, repeat(width), repeat(b"\0")))
    rows = np.frombuffer(padded, dtype=np.uint8).reshape(n, width)
    cols = np.ascontiguousarray(_FOLD_NP[rows[order]].T)  # cols[j, r]: byte j of the r-th longest
    alive = np.searchsorted(-lengths[order], -np.arange(1, width + 1), side="right")  # rows longer than j
    state = np.zeros(n, dtype=np.int32)
    best = np.full(n, NONE, dtype=np.int32)
    delta, out = rules.delta, rules.out
    for j in range(width):
        m = int(alive[j])
        st = delta[(state[:m] << 8) | cols[j, :m]]
        state[:m] = st
        np.minimum(best[:m], out[st], out=best[:m])
    result = np.empty(n, dtype=np.int32)
    result[order] = best
    return result
