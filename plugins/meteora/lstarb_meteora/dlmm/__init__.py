"""Meteora DLMM (lb_clmm): decoders, the program's quote math, swap instructions."""

from lstarb_meteora.dlmm.pool import DlmmPool, DlmmQuote
from lstarb_meteora.dlmm.state import Bin, BinArray, BinArrayBitmapExtension, LbPair

__all__ = ["Bin", "BinArray", "BinArrayBitmapExtension", "DlmmPool", "DlmmQuote", "LbPair"]
