"""``lstarb simnet``: a local Solana RPC peer over real mainnet account dumps.

HTTP JSON-RPC and the PubSub websocket (port + 1), transactions on LiteSVM, and a
market driver that moves the bundled market believably. Embed it with::

    from lstarb_runtime.simnet import Simnet, SimnetConfig

    async with Simnet(SimnetConfig(port=0, drive=True, seed=7)) as net:
        ...  # net.http_url, net.ws_url, net.step()
"""

from lstarb_runtime.simnet.driver import DriverConfig
from lstarb_runtime.simnet.server import Simnet, SimnetConfig

__all__ = ["DriverConfig", "Simnet", "SimnetConfig"]
