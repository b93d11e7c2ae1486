"""Chain sync into the store and difficulty analytics: periods, adjustments, hashrate."""
