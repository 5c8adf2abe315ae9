"""Flash-loan timings (run with --benchmark-enable for numbers).

Target (issue 15): wrapping a 3-leg route in borrow/repay well under 100 us, inside
the executor's 1 ms plan -> signed transaction budget. The legs are instructions of
realistic size (17 accounts each, like a Raydium or Whirlpool swap).
"""

from __future__ import annotations

import sys
from pathlib import Path

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from kamino_testlib import JITO, MAIN, WSOL, loaded, reserve

from lstarb_kamino.state import Reserve

LEGS = [
    Instruction(
        Pubkey.new_unique(),
        bytes(17),
        [AccountMeta(Pubkey.new_unique(), False, True) for _ in range(17)],
    )
    for _ in range(3)
]
USER, ATA = Pubkey.new_unique(), Pubkey.new_unique()


def test_wrap_three_leg_route(benchmark) -> None:
    provider = loaded(reserve(MAIN), reserve(JITO))
    amount = 200_000_000_000_000  # above JITO's liquidity: both reserves are weighed

    def wrap() -> object:
        return provider.wrap(
            LEGS, mint=WSOL, amount=amount, user=USER, user_token_account=ATA, instruction_offset=3
        )

    funded = benchmark(wrap)
    assert len(funded.instructions) == 5


def test_fee(benchmark) -> None:
    provider = loaded(reserve(MAIN), reserve(JITO))
    assert benchmark(provider.fee, WSOL, 200_000_000_000_000) > 0


def test_decode_reserve(benchmark) -> None:
    _, acc = reserve(MAIN)
    benchmark(Reserve.decode, bytes(acc.data), acc.owner)


def test_update_reserve(benchmark) -> None:
    provider = loaded(reserve(MAIN))
    key, acc = reserve(MAIN)
    benchmark(provider.update, {key: acc})
