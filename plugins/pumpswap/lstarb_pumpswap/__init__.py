"""PumpSwap AMM pool adapter for lstarb"""

__version__ = "0.1.0"
