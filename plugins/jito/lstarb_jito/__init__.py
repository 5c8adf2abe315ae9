"""Jito block-engine submitter (bundles over JSON-RPC) for lstarb"""

__version__ = "0.1.0"
