"""lstarb-plugin-rpc: a Solana JSON-RPC data source and transaction submitter."""

from lstarb_rpc.config import EndpointConfig, RpcConfig
from lstarb_rpc.source import RpcSource
from lstarb_rpc.submitter import RpcSubmitter

__all__ = ["EndpointConfig", "RpcConfig", "RpcSource", "RpcSubmitter"]
