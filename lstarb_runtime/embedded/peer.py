"""The local RPC peer of the embedded default, on a thread of the run's own process.

Why a thread with its own event loop and not a task on the run's loop: the peer is the
*outside world* to the pipeline (a Solana node). On its own loop its work (a slot's trades,
serialising notifications) never sits in the pipeline's queue of callbacks, the pipeline
reaches it only through its sockets as it would reach a real node, and it can start before
the run's loop exists, so the rpc plugin is configured with its address before any plugin
is built.

Why only for ``--role all``: every process that started a peer of its own would follow a
different market. Split roles share one peer: ``lstarb simnet --drive`` (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lstarb_runtime.config import Settings
from lstarb_sdk.errors import ConfigError

if TYPE_CHECKING:
    from lstarb_runtime.simnet import Simnet

log = logging.getLogger("lstarb.embedded")

RPC_PLUGIN = "rpc"
SHREDSTREAM_PLUGIN = "shredstream"
START_TIMEOUT_S = 60.0
SEED_RANGE = 1_000_000
"""Drawn seeds stay short enough to retype (``--seed 482913``)."""


def draw_seed() -> int:
    """A fresh market for a run given no seed: the same seed replays the same prices, so
    the opportunities of a second run would repeat the first's (the stream keeps an id
    once) and it would plan nothing."""
    return random.SystemRandom().randrange(1, SEED_RANGE)


def peer_wanted(settings: Settings, selected: list[str]) -> bool:
    """Whether this run starts the local peer (see ``[simnet] embedded``).

    Raises ConfigError for ``embedded = "on"`` where it cannot work (no rpc plugin, live).
    """
    mode = settings.simnet.embedded
    if mode == "off":
        return False
    has_rpc = RPC_PLUGIN in selected
    if mode == "on":
        if not has_rpc:
            raise ConfigError(
                "config key 'simnet.embedded' is 'on' but the rpc plugin is not selected "
                "(add rpc to --plugins: it is how the pipeline reads the peer)"
            )
        if settings.run.live:
            raise ConfigError(
                "config key 'simnet.embedded' is 'on' with --live: a live run never trades "
                "on the local peer"
            )
        return True
    configured = settings.plugins.get(RPC_PLUGIN, {})
    return (
        has_rpc
        and not settings.run.live
        and settings.run.role == "all"
        and not configured.get("url")
        and not configured.get("endpoints")
    )


@dataclass(frozen=True)
class PeerInfo:
    """What the run tells the user about the peer it started."""

    http_url: str
    ws_url: str
    accounts: int
    trading_pools: int
    stake_pools: int
    seed: int
    slot_ms: int
    seed_drawn: bool
    """True when no seed was given and this run drew one."""
    start_slot: int
    lookup_table: str | None
    """The address lookup table the peer holds over its market (``[executor] lookup_tables``)."""
    shredstream_url: str | None = None
    """Where the peer serves its swaps as a ShredStream proxy (``host:port``); None: not."""


class EmbeddedPeer:
    """``lstarb simnet --drive`` on a daemon thread: :meth:`start`, then :meth:`stop` once."""

    def __init__(
        self,
        seed: int | None,
        slot_ms: int,
        port: int = 0,
        *,
        start_slot: int | None = None,
        shredstream: bool = False,
    ) -> None:
        """``seed`` None: draw one (:func:`draw_seed`); ``start_slot`` None: the simnet's
        default first slot (see :func:`start_slot_after`); ``shredstream``: also serve the
        market's swaps as a ShredStream proxy on a free port (the shredstream plugin's
        peer)."""
        self.seed_drawn = seed is None
        self.seed = draw_seed() if seed is None else seed
        self.slot_ms = slot_ms
        self.port = port
        self.start_slot = start_slot
        self.shredstream = shredstream
        self.net: Simnet | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="lstarb-simnet", daemon=True
        )
        self._first_slot = 0

    def _call(self, coro: Any, timeout: float) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def start(self) -> PeerInfo:
        """Build the peer over the bundled market and listen on a free port pair."""
        self._thread.start()
        net = self.net = self._call(self._open(), START_TIMEOUT_S)
        self._first_slot = net.chain.slot
        market = net.driver.market if net.driver is not None else None
        alignment = net.alignment
        return PeerInfo(
            http_url=net.http_url,
            ws_url=net.ws_url,
            accounts=len(net.store),
            trading_pools=len(market.cp) + len(market.clmm) if market is not None else 0,
            stake_pools=len(alignment.rates) if alignment is not None else 0,
            seed=self.seed,
            slot_ms=self.slot_ms,
            seed_drawn=self.seed_drawn,
            start_slot=self._first_slot,
            lookup_table=net.lookup_table,
            shredstream_url=net.shredstream.url if net.shredstream is not None else None,
        )

    async def _open(self) -> Simnet:
        from lstarb_runtime.simnet import Simnet, SimnetConfig  # heavy: only when it runs

        config = SimnetConfig(
            port=self.port,
            drive=True,
            seed=self.seed,
            slot_ms=self.slot_ms,
            start_slot=self.start_slot,
            lookup_table=True,
            shredstream_port=0 if self.shredstream else None,
        )
        net = Simnet(config)
        await net.start()
        return net

    def stop(self) -> None:
        """Stop listening and the thread; safe to call twice or after a failed start."""
        if not self._thread.is_alive():
            return
        if self.net is not None:
            try:
                self._call(self.net.stop(), 10.0)
            except Exception:
                log.exception("embedded simnet: stopping failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def report(self) -> dict[str, int]:
        """What the peer did over the run (read after :meth:`stop`, or approximately during)."""
        net = self.net
        if net is None:
            return {}
        return {
            "seed": self.seed,
            "seed_drawn": int(self.seed_drawn),
            "start_slot": self._first_slot,
            "slots": net.chain.slot - self._first_slot,
            "trades": net.driver.trades if net.driver is not None else 0,
            "notifications": net.pubsub.notifications,
            "requests": net.http.requests,
            **({"shredstream_entries": net.shredstream.served} if net.shredstream else {}),
        }


def start_slot_after(tape_slot: int | None) -> int | None:
    """Where the chain starts so it never goes back in time: after the last slot on the
    market tape, never before the simnet's default; None (the default) with no tape."""
    if tape_slot is None:
        return None
    from lstarb_runtime.simnet.chain import DEFAULT_START_EPOCH, MAINNET_EPOCH_SLOTS

    return max(tape_slot + 1, DEFAULT_START_EPOCH * MAINNET_EPOCH_SLOTS)
