"""Signed transactions and submitters for the jito tests."""

from __future__ import annotations

import random
from typing import Any

from block_engine import TIP_ACCOUNTS, BlockEngine
from conftest import fast
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from lstarb_jito.config import Endpoint, JitoConfig
from lstarb_jito.submitter import JitoSubmitter

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
