"""Readers for chain and market data: files, Bitcoin Core RPC, Esplora REST."""
