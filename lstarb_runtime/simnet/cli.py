"""``lstarb simnet``: the local Solana RPC peer as a command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lstarb_runtime.simnet.chain import DEFAULT_START_EPOCH, MAINNET_EPOCH_SLOTS
from lstarb_sdk.errors import LstarbError

if TYPE_CHECKING:
    from lstarb_runtime.simnet.server import Simnet


@click.command("simnet")
@click.option("--port", default=8899, show_default=True, help="HTTP JSON-RPC port (PubSub: +1)")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option(
    "--accounts",
    "accounts",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="directory of account dumps to serve (repeatable; default: the bundled market)",
)
@click.option("--drive", is_flag=True, help="move the market: trades, epochs, stake rewards")
@click.option("--seed", default=0, show_default=True, help="seed of the market driver")
@click.option("--slot-ms", default=400, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--epoch-slots", default=MAINNET_EPOCH_SLOTS, show_default=True, type=click.IntRange(min=32)
)
@click.option("--start-epoch", default=DEFAULT_START_EPOCH, show_default=True, type=int)
@click.option(
    "--start-slot",
    type=click.IntRange(min=0),
    default=None,
    help="first slot, anywhere in an epoch (overrides --start-epoch; the epoch follows)",
)
@click.option(
    "--priority-fee",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="median of the network's priority fees getRecentPrioritizationFees reports "
    "(micro-lamports/CU, a deterministic spread per slot; 0: none)",
)
@click.option(
    "--shredstream-port",
    type=click.IntRange(min=0),
    default=None,
    help="also serve the driven market's swaps as a Jito ShredStream proxy (gRPC "
    "SubscribeEntries) on this port (0: a free one)",
)
@click.option(
    "--shred-lead-ms",
    type=click.FloatRange(min=0),
    default=100.0,
    show_default=True,
    help="with --shredstream-port: how long a slot's account notifications follow its "
    "entries (at most half a slot)",
)
@click.option("--duration", type=float, default=None, help="stop after this many seconds")
@click.option("--json", "as_json", is_flag=True, help="start-up and summary as JSON lines")
def simnet(
    port: int,
    host: str,
    accounts: tuple[Path, ...],
    drive: bool,
    seed: int,
    slot_ms: int,
    epoch_slots: int,
    start_epoch: int,
    start_slot: int | None,
    priority_fee: int,
    shredstream_port: int | None,
    shred_lead_ms: float,
    duration: float | None,
    as_json: bool,
) -> None:
    """Serve real mainnet accounts as a local Solana RPC node (JSON-RPC + PubSub).

    Transactions run on LiteSVM (system, SPL Token, Token-2022, ATA, memo, compute budget);
    with --drive the market moves: constant-product and concentrated pools trade, epochs pay
    stake rewards.
    """
    from lstarb_runtime.simnet.server import Simnet, SimnetConfig  # heavy: only when run

    config = SimnetConfig(
        host=host,
        port=port,
        accounts=accounts,
        drive=drive,
        seed=seed,
        slot_ms=slot_ms,
        epoch_slots=epoch_slots,
        start_epoch=start_epoch,
        start_slot=start_slot,
        priority_fee_median=priority_fee,
        shredstream_port=shredstream_port,
        shred_lead_ms=shred_lead_ms,
    )
    try:
        net = Simnet(config)
    except (LstarbError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        asyncio.run(_serve(net, duration, as_json))
    except OSError as exc:
        raise click.ClickException(f"simnet: cannot listen on {host}:{port}: {exc}") from None


async def _serve(net: Simnet, duration: float | None, as_json: bool) -> None:
    await net.start()
    started = time.monotonic()
    first_slot = net.chain.slot
    _announce(net, as_json)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), timeout=duration)
    except TimeoutError:
        pass
    finally:
        await net.stop()
    summary = {
        "seconds": round(time.monotonic() - started, 1),
        "slots": net.chain.slot - first_slot,
        "transactions": net.chain.transaction_count,
        "trades": net.driver.trades if net.driver else 0,
        "requests": net.http.requests,
        "notifications": net.pubsub.notifications,
    }
    if net.shredstream is not None:
        summary["shredstream_entries"] = net.shredstream.served
    if as_json:
        click.echo(json.dumps({"event": "stopped", **summary}))
    else:
        click.echo("simnet stopped: " + ", ".join(f"{k} {v}" for k, v in summary.items()), err=True)


def _announce(net: Simnet, as_json: bool) -> None:
    alignment = net.alignment
    if as_json:
        click.echo(
            json.dumps(
                {
                    "event": "listening",
                    "http": net.http_url,
                    "ws": net.ws_url,
                    "accounts": len(net.store),
                    "slot": net.chain.slot,
                    "drive": net.driver is not None,
                    "shredstream": net.shredstream.url if net.shredstream else None,
                    "left_out": alignment.left_out if alignment else {},
                    "still": alignment.still if alignment else {},
                    "synthetic": [
                        {"pubkey": s.key, "kind": s.kind, "what": s.what, "rule": s.rule}
                        for s in net.synthetic
                    ],
                }
            )
        )
        return
    click.echo(f"simnet: JSON-RPC {net.http_url}  PubSub {net.ws_url}")
    if net.shredstream is not None:
        click.echo(f"  ShredStream (gRPC SubscribeEntries) {net.shredstream.url}")
    click.echo(
        f"  {len(net.store)} accounts, slot {net.chain.slot} (epoch {net.chain.epoch}, "
        f"{net.chain.epoch_slots} slots), {net.config.slot_ms} ms slots"
    )
    if net.synthetic:
        kinds = Counter(s.kind for s in net.synthetic)
        click.echo(
            f"  {len(net.synthetic)} accounts no dump holds synthesized by rule "
            f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}; --json lists them)"
        )
    if alignment is None or net.driver is None:
        click.echo("  market: static (add --drive to move it)")
        return
    market = net.driver.market
    click.echo(
        f"  market driven with seed {net.config.seed}: {len(market.cp)} constant-product and "
        f"{len(market.clmm)} concentrated pools trade, {len(alignment.rates)} stake pools crank"
    )
    for pool, reason in alignment.still.items():
        click.echo(f"  stands still {pool}: {reason}")
    for pool, reason in alignment.left_out.items():
        click.echo(f"  left out {pool}: {reason}")
    click.echo("  Ctrl-C stops it; point clients at the URLs above.")
