"""Raydium AMM V4, CPMM and CLMM pool adapters for lstarb"""

__version__ = "0.1.0"
