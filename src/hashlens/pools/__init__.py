"""Who mines the blocks: attribution of blocks to pools, imported pool datasets, and the
analytics over them (share with exact intervals, hashrate, concentration, luck, runs, empty
blocks). One owner per quantity (see ARCHITECTURE.md)."""
