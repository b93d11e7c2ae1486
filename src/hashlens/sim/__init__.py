"""Monte Carlo simulation of difficulty, hashrate, hashprice and miner margins."""
