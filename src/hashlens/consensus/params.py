"""Mainnet consensus parameters, as in Bitcoin Core's `kernel/chainparams.cpp`."""

#: Two weeks: the time a difficulty period of 2016 blocks should take [s].
POW_TARGET_TIMESPAN = 14 * 24 * 60 * 60
#: Ten minutes: the intended mean block interval [s].
POW_TARGET_SPACING = 10 * 60
#: Blocks per difficulty period (2016).
DIFFICULTY_ADJUSTMENT_INTERVAL = POW_TARGET_TIMESPAN // POW_TARGET_SPACING
#: Blocks per subsidy era.
HALVING_INTERVAL = 210_000
#: The easiest target mainnet allows (`consensus.powLimit`): 2**224 - 1.
POW_LIMIT = (1 << 224) - 1
#: Compact form of POW_LIMIT after 3-byte truncation; the genesis block's bits.
POW_LIMIT_BITS = 0x1D00FFFF
#: Satoshis per bitcoin.
COIN = 100_000_000
#: Core's consensus/consensus.h MAX_BLOCK_WEIGHT (BIP141); a pre-SegWit block's 1 MB counts 4 a byte.
MAX_BLOCK_WEIGHT = 4_000_000
#: WITNESS_SCALE_FACTOR: a non-witness byte weighs 4, so a block holds at most 1,000,000 of them,
#: and at most that many transactions (each has at least one non-witness byte).
WITNESS_SCALE_FACTOR = 4
#: The highest height a block can have: Core keeps it in a C ``int`` (``CBlockIndex::nHeight``),
#: and the store's height columns are 32-bit integers as well.
MAX_BLOCK_HEIGHT = 2**31 - 1
#: Genesis block time (2009-01-03 18:15:05 UTC) [Unix s].
GENESIS_TIME = 1231006505
