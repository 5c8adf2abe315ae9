"""Signed transactions and submitters for the jito tests."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from block_engine import TIP_ACCOUNTS, BlockEngine
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from lstarb_jito.config import Endpoint, JitoConfig
from lstarb_jito.submitter import JitoSubmitter


def fast(**overrides: Any) -> dict[str, Any]:
    """Settings for tests: short timeouts and backoffs."""
    base: dict[str, Any] = {
        "timeout_s": 0.5,
        "max_attempts": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "poll_interval_s": 0.01,
        "invalid_after_s": 0.05,
    }
    base.update(overrides)
    return base


class Sleeps:
    """An ``asyncio.sleep`` stand-in that records what the client asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def signed(
    tip: int | None = 10_000,
    *,
    to: str = TIP_ACCOUNTS[0],
    memo: bytes = b"lstarb",
    payer: Keypair | None = None,
) -> VersionedTransaction:
    """A signed v0 transaction with a memo and (unless ``tip`` is None) a tip transfer last."""
    payer = payer or Keypair()
    ixs = [Instruction(MEMO, memo, [])]
    if tip is not None:
        ixs.append(
            transfer(
                TransferParams(
                    from_pubkey=payer.pubkey(), to_pubkey=Pubkey.from_string(to), lamports=tip
                )
            )
        )
    msg = MessageV0.try_compile(payer.pubkey(), ixs, [], Hash.new_unique())
    return VersionedTransaction(msg, [payer])


def submitter(*peers: BlockEngine, paper: bool = False, **overrides: Any) -> JitoSubmitter:
    sleep = overrides.pop("sleep", None)
    clock = overrides.pop("clock", None)
    config = JitoConfig(
        endpoints=[Endpoint(name=f"peer{i}", url=p.url) for i, p in enumerate(peers)],
        **fast(**overrides),
    )
    kwargs: dict[str, Any] = {"paper": paper, "rng": random.Random(7)}
    if sleep is not None:
        kwargs["sleep"] = sleep
    if clock is not None:
        kwargs["clock"] = clock
    return JitoSubmitter(config, **kwargs)
