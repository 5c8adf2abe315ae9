"""Liquid staking for lstarb: stake pools as pools, LST fair value, arbitrage strategies."""

__version__ = "0.1.0"
