"""SDK helpers against real mainnet accounts and the token program's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from lstarb_sdk import max_in_with_slippage, min_out_with_slippage
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.solana import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    Clock,
    Mint,
    TokenAccount,
    associated_token_address,
    token_account_amount,
)
from lstarb_sdk.testing import load_account
from lstarb_sdk.token2022 import TransferFee, mint_extensions, transfer_fee_config
from lstarb_sdk.version import api_compatible, parse_api_version

FIXTURES = Path(__file__).parent / "fixtures"


def test_api_version_rules() -> None:
    assert api_compatible("1.0", "1.0") and api_compatible("1.0", "1.3")
    assert not api_compatible("1.4", "1.3")  # built against features this runtime lacks
    assert not api_compatible("2.0", "1.9") and not api_compatible("0.9", "1.0")
    with pytest.raises(ValueError, match="'one'"):
        parse_api_version("one")


def test_usdc_mint_and_reserve() -> None:
    _, mint = load_account(FIXTURES / "usdc_mint.json")
    assert mint.owner == TOKEN_PROGRAM_ID
    decoded = Mint.decode(bytes(mint.data))
    assert decoded.decimals == 6 and decoded.is_initialized and decoded.supply > 10**15
    _, reserve = load_account(FIXTURES / "usdc_reserve.json")
    token = TokenAccount.decode(bytes(reserve.data))
    assert str(token.mint) == "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    assert token.amount == token_account_amount(bytes(reserve.data)) > 0
    with pytest.raises(DecodeError, match="reserve: expected at least 165 bytes, got 100"):
        token_account_amount(bytes(reserve.data)[:100], name="reserve")


def test_token2022_transfer_fee_config_from_real_mint() -> None:
    _, mint = load_account(FIXTURES / "token2022_mint_transfer_fee.json")
    assert mint.owner == TOKEN_2022_PROGRAM_ID
    data = bytes(mint.data)
    assert set(mint_extensions(data)) >= {1}
    config = transfer_fee_config(data)
    assert config is not None
    fee = config.for_epoch(900)
    assert (fee.basis_points, fee.maximum_fee) == (50, 5000)
    # 0.5% rounded up, capped at 5000.
    assert fee.fee(1) == 1 and fee.fee(200) == 1 and fee.fee(201) == 2
    assert fee.fee(10**9) == 5000
    with pytest.raises(DecodeError, match="runs past the end"):
        mint_extensions(data[:-5])


@given(st.integers(0, 10**12), st.integers(0, 10_000), st.integers(0, 10**9))
def test_pre_fee_amount_is_the_least_that_delivers(post: int, bps: int, cap: int) -> None:
    fee = TransferFee(epoch=0, maximum_fee=cap, basis_points=bps)
    pre = fee.pre_fee_amount(post)
    assert pre - fee.fee(pre) >= post
    if bps not in (0, 10_000) and pre > post and fee.fee(pre) < cap:
        smaller = pre - 1
        assert smaller - fee.fee(smaller) < post


def test_clock_round_trip_and_size_check() -> None:
    clock = Clock(
        slot=300_000_000,
        epoch_start_timestamp=1_700_000_000,
        epoch=700,
        leader_schedule_epoch=701,
        unix_timestamp=1_700_100_000,
    )
    assert Clock.decode(clock.encode()) == clock
    with pytest.raises(DecodeError, match="Clock sysvar: expected 40 bytes, got 39"):
        Clock.decode(clock.encode()[:39])


def test_a_clock_account_is_decoded_once_per_state() -> None:
    """Every Clock-reading pool of every book decodes the same account on each slot: the
    same bytes give the same (frozen) Clock back, new bytes a new one, and the owner and
    size are checked every time."""
    from solders.account import Account

    from lstarb_sdk.solana import SYSVAR_OWNER_ID

    def account(clock: Clock, owner: Pubkey = SYSVAR_OWNER_ID) -> Account:
        return Account(1_169_280, clock.encode(), owner, False, 0)

    first = Clock(300_000_000, 1_700_000_000, 700, 701, 1_700_100_000)
    later = Clock(300_000_001, 1_700_000_000, 700, 701, 1_700_100_001)
    decoded = Clock.from_account(account(first))
    assert decoded == first
    assert Clock.from_account(account(first)) is decoded  # another account, the same bytes
    again = Clock.from_account(account(later))
    assert again == later and again is not decoded
    with pytest.raises(DecodeError, match="owner"):
        Clock.from_account(account(later, Pubkey.default()))
    short = Account(1, later.encode()[:39], SYSVAR_OWNER_ID, False, 0)
    with pytest.raises(DecodeError, match="expected 40 bytes"):
        Clock.from_account(short)
    assert Clock.from_account(account(later)) is again


def test_associated_token_address_matches_solana_py() -> None:
    from solders.pubkey import Pubkey
    from spl.token.instructions import get_associated_token_address

    owner = Pubkey.from_string("5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1")
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    assert associated_token_address(owner, usdc) == get_associated_token_address(owner, usdc)
    assert associated_token_address(
        owner, usdc, TOKEN_2022_PROGRAM_ID
    ) == get_associated_token_address(owner, usdc, TOKEN_2022_PROGRAM_ID)


def test_slippage_bounds() -> None:
    assert min_out_with_slippage(1_000_000, 50) == 995_000
    assert min_out_with_slippage(999, 1) == 998  # rounds down
    assert max_in_with_slippage(999, 1) == 1000  # rounds up
    with pytest.raises(ValueError, match="slippage_bps"):
        min_out_with_slippage(1, 10_001)
