"""Kamino Lending flash-loan funding for lstarb"""

__version__ = "0.1.0"
