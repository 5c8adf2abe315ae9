"""lstarb-plugin-shredstream: pending transactions from Jito's shredstream-proxy."""

from lstarb_shredstream.config import ShredstreamConfig
from lstarb_shredstream.source import ShredstreamSource

__all__ = ["ShredstreamConfig", "ShredstreamSource"]
