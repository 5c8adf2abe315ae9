"""Raydium CLMM (concentrated liquidity, program ``CAMMCzo5...``): decoders, math, adapter."""

from lstarb_raydium.clmm.pool import ClmmPool

__all__ = ["ClmmPool"]
