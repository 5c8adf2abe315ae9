"""Raydium AMM V4 (legacy constant product, program ``675kPX9M...``): decoder, math, adapter."""

from lstarb_raydium.amm_v4.pool import AmmV4Pool

__all__ = ["AmmV4Pool"]
