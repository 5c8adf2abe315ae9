"""Every field the program validates is validated at decode, and every account the adapter
reads is checked for owner and size: bad bytes are a DecodeError, never a crash later
(issue 10 items 5 and 7)."""

from __future__ import annotations

import pytest
from orca_testlib import FIXTURES, SYSVAR_OWNER, load_pool
from solders.pubkey import Pubkey

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from lstarb_sdk.testing import clock_account, load_account, with_data

LABEL = "jitosol-sol-ts1"
JITOSOL = "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn"
KEY, POOL = load_account(FIXTURES / LABEL / "whirlpool.json")


def _patched(offset: int, raw: bytes):
    data = bytearray(bytes(POOL.data))
    data[offset : offset + len(raw)] = raw
    return with_data(POOL, bytes(data))


def _u16(v: int) -> bytes:
    return v.to_bytes(2, "little")


@pytest.mark.parametrize(
    ("offset", "raw", "match"),
    [
        (41, _u16(0), "tick_spacing"),
        (45, _u16(60_001), "fee_rate"),
        (47, _u16(2_501), "protocol_fee_rate"),
        (65, (4295048015).to_bytes(16, "little"), "sqrt_price"),
        (65, (79226673515401279992447579056).to_bytes(16, "little"), "sqrt_price"),
        (81, (443637).to_bytes(4, "little", signed=True), "tick_current_index"),
        (81, (-443638).to_bytes(4, "little", signed=True), "tick_current_index"),
        (101, bytes(Pubkey.from_string(JITOSOL)), "mint"),  # mint_a == mint_b
    ],
    ids=[
        "spacing0",
        "fee",
        "protocol_fee",
        "price_low",
        "price_high",
        "tick_hi",
        "tick_lo",
        "mints",
    ],
)
def test_program_invariants_are_decode_errors(offset: int, raw: bytes, match: str) -> None:
    """Before: tick_spacing 0 was accepted and accounts_to_update raised ZeroDivisionError."""
    with pytest.raises(DecodeError, match=match):
        WhirlpoolPool.from_account(KEY, _patched(offset, raw))
    pool = load_pool(LABEL)
    before = pool.accounts_to_update()
    with pytest.raises(DecodeError, match=match):
        pool.update({KEY: _patched(offset, raw)})
    assert pool.accounts_to_update() == before


def test_limits_themselves_are_accepted() -> None:
    """The bounds are inclusive, as in the program."""
    WhirlpoolPool.from_account(KEY, _patched(45, _u16(60_000)))
    WhirlpoolPool.from_account(KEY, _patched(47, _u16(2_500)))
    WhirlpoolPool.from_account(KEY, _patched(81, (-443637).to_bytes(4, "little", signed=True)))


def test_clock_owner_and_size_are_checked() -> None:
    """Before: a Clock from any owner was read."""
    pool = load_pool(LABEL, timestamp=1_700_000_000)
    good = clock_account()
    with pytest.raises(DecodeError, match=r"Clock.*owner"):
        pool.update({SYSVAR_CLOCK_ID: with_data(good, bytes(good.data), TOKEN_PROGRAM_ID)})
    with pytest.raises(DecodeError, match="Clock"):
        pool.update({SYSVAR_CLOCK_ID: with_data(good, bytes(good.data)[:39], SYSVAR_OWNER)})


def _mint(side: str):
    return load_account(FIXTURES / LABEL / f"mint_{side}.json")


@pytest.mark.parametrize("size", [0, 1, 45, 81, 83, 120, 165])
def test_truncated_or_padded_mint_is_decode_error(size: int) -> None:
    key, mint = _mint("a")
    pool = load_pool(LABEL)
    data = bytes(mint.data)[:size].ljust(size, b"\x00")
    with pytest.raises(DecodeError, match=str(key)):
        pool.update({key: with_data(mint, data)})
    with pytest.raises(DecodeError, match=str(key)):
        pool.update({key: with_data(mint, data, TOKEN_2022_PROGRAM_ID)})


def test_spl_token_mint_with_extensions_is_decode_error() -> None:
    """Only Token-2022 mints carry extensions; an SPL Token mint is exactly 82 bytes."""
    key, mint = _mint("a")
    pool = load_pool(LABEL)
    data = bytes(mint.data).ljust(165, b"\x00") + b"\x01"
    with pytest.raises(DecodeError, match=str(key)):
        pool.update({key: with_data(mint, data, TOKEN_PROGRAM_ID)})


def test_uninitialized_mint_is_decode_error() -> None:
    key, mint = _mint("b")
    data = bytearray(bytes(mint.data))
    data[45] = 0
    with pytest.raises(DecodeError, match="initialized"):
        load_pool(LABEL).update({key: with_data(mint, bytes(data))})


def test_mint_from_wrong_owner_is_decode_error() -> None:
    key, mint = _mint("b")
    with pytest.raises(DecodeError, match="owner"):
        load_pool(LABEL).update({key: with_data(mint, bytes(mint.data), SYSVAR_OWNER)})


@pytest.mark.parametrize(
    ("offset", "raw"),
    [
        (48, _u16(0)),  # filter_period 0
        (50, _u16(30)),  # decay_period not above filter_period
        (52, _u16(10_000)),  # reduction_factor
        (54, (100_000).to_bytes(4, "little")),  # control factor
        (62, _u16(0)),  # tick_group_size 0: the fee's group index would divide by it
        (62, _u16(2)),  # tick_group_size above the tick spacing (1)
        (64, _u16(0)),  # major_swap_threshold_ticks 0
        (64, _u16(89)),  # major_swap_threshold_ticks beyond one array
    ],
)
def test_oracle_constants_are_validated(offset: int, raw: bytes) -> None:
    path = FIXTURES / "synthetic" / "msol-sol-ts1-oracle.json"
    key, oracle = load_account(path)
    pool = load_pool("msol-sol-ts1", adaptive_seed=1024, timestamp=1_700_000_000)
    before = pool.quote(10**9, pool.mints[0])
    data = bytearray(bytes(oracle.data))
    data[offset : offset + len(raw)] = raw
    with pytest.raises(DecodeError, match="Oracle"):
        pool.update({key: with_data(oracle, bytes(data))})
    assert pool.quote(10**9, pool.mints[0]) == before
