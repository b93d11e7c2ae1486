"""Pure Bitcoin consensus rules (mainnet): compact bits, targets, difficulty, work,
retargeting, subsidy and block headers. No I/O; integer arithmetic wherever consensus decides.
"""

from hashlens.consensus.compact import (
    MAX_TARGET,
    bits_to_target,
    block_work,
    chainwork,
    decode_compact,
    difficulty_exact,
    difficulty_from_bits,
    encode_compact,
    target_to_bits,
)
from hashlens.consensus.contextual import (
    ChainContext,
    HeaderCheck,
    HeaderRefused,
    check_header,
)
from hashlens.consensus.header import HEADER_SIZE, BlockHeader, check_proof_of_work
from hashlens.consensus.params import (
    COIN,
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    HALVING_INTERVAL,
    MAX_BLOCK_WEIGHT,
    POW_LIMIT,
    POW_LIMIT_BITS,
    POW_TARGET_SPACING,
    POW_TARGET_TIMESPAN,
    WITNESS_SCALE_FACTOR,
)
from hashlens.consensus.rate import (
    HASHES_PER_DIFFICULTY,
    expected_block_rate_per_s,
    expected_blocks,
    hashrate_hs_for_block_rate,
)
from hashlens.consensus.retarget import (
    calculate_next_work_required,
    clamp_timespan,
    next_bits,
    permitted_difficulty_transition,
    timespan_fits_bits,
    timespan_range_for_bits,
)
from hashlens.consensus.subsidy import (
    block_subsidy_btc,
    block_subsidy_sat,
    halving_schedule,
    issued_supply_sat,
    next_halving,
    next_halving_height,
)

__all__ = [
    "COIN",
    "DIFFICULTY_ADJUSTMENT_INTERVAL",
    "HALVING_INTERVAL",
    "HASHES_PER_DIFFICULTY",
    "HEADER_SIZE",
    "MAX_BLOCK_WEIGHT",
    "MAX_TARGET",
    "POW_LIMIT",
    "POW_LIMIT_BITS",
    "POW_TARGET_SPACING",
    "POW_TARGET_TIMESPAN",
    "WITNESS_SCALE_FACTOR",
    "BlockHeader",
    "ChainContext",
    "HeaderCheck",
    "HeaderRefused",
    "bits_to_target",
    "block_subsidy_btc",
    "block_subsidy_sat",
    "block_work",
    "calculate_next_work_required",
    "chainwork",
    "check_header",
    "check_proof_of_work",
    "clamp_timespan",
    "decode_compact",
    "difficulty_exact",
    "difficulty_from_bits",
    "encode_compact",
    "expected_block_rate_per_s",
    "expected_blocks",
    "halving_schedule",
    "hashrate_hs_for_block_rate",
    "issued_supply_sat",
    "next_bits",
    "next_halving",
    "next_halving_height",
    "permitted_difficulty_transition",
    "target_to_bits",
    "timespan_fits_bits",
    "timespan_range_for_bits",
]
