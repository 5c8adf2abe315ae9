"""Raydium CPMM (raydium_cp_swap, program ``CPMMoo8L...``): decoders, math, adapter."""

from lstarb_raydium.cpmm.pool import CpmmPool

__all__ = ["CpmmPool"]
