"""Submitter timings (run with --benchmark-enable for numbers).

A sendBundle round trip to the local block engine (tests/block_engine.py: a Python
ThreadingHTTPServer on 127.0.0.1 that decodes the bundle and verifies every signature
with solders) and the client's own work before a request (checks, base64, bundle id).
The round trip is dominated by the Python peer; the real one is a network hop away.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from block_engine import BlockEngine
from jito_testlib import signed, submitter
from solders.pubkey import Pubkey

from lstarb_jito.bundle import prepare_bundle
from lstarb_jito.config import DEFAULT_TIP_ACCOUNTS

TIPS = frozenset(Pubkey.from_string(t) for t in DEFAULT_TIP_ACCOUNTS)


def test_send_bundle_round_trip(benchmark) -> None:
    txs = [signed(), signed(tip=None)]
    with BlockEngine() as engine:
        sub = submitter(engine)
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(sub.submit(txs))  # connect, fetch tip accounts
            result = benchmark(lambda: loop.run_until_complete(sub.submit(txs)))
            loop.run_until_complete(sub.close())
        finally:
            loop.close()
    assert result.accepted


def test_prepare_bundle(benchmark) -> None:
    txs = [signed(), signed(tip=None)]
    bundle = benchmark(prepare_bundle, txs, tip_accounts=TIPS, min_tip_lamports=1_000)
    assert bundle.tip_lamports == 10_000
