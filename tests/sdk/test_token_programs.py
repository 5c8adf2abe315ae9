"""Mints and token accounts are read the way the token programs unpack them.

A mint or vault the token program would refuse must be a DecodeError: read
leniently, a truncated Token-2022 mint looks like a mint without a transfer
fee, and the fee silently vanishes from every quote (issue 10, item 6).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import (
    SYSTEM_PROGRAM_ID,
    SYSVAR_CLOCK_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    Clock,
    Mint,
    token_account_amount,
    vault_amount,
)
from lstarb_sdk.testing import clock_account, load_account, patched, token2022_mint, with_data
from lstarb_sdk.token2022 import (
    TokenMint,
    TransferFee,
    amount_received,
    amount_to_send,
    mint_extensions,
    transfer_fee_config,
    transfer_hook_program,
)

FIXTURES = Path(__file__).parent / "fixtures"
FEE_MINT_KEY, FEE_MINT = load_account(FIXTURES / "token2022_mint_transfer_fee.json")
FEE_MINT_DATA = bytes(FEE_MINT.data)
USDC_KEY, USDC = load_account(FIXTURES / "usdc_mint.json")
_, RESERVE = load_account(FIXTURES / "usdc_reserve.json")
HOOK = Pubkey.from_string("HooKFq9jvUUtSv3nXUGw8fP4WGa1FzebjQ4bqF4Sr11")


# -- Token-2022 mints ------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 44, 81, 83, 120, 165])
def test_truncated_token2022_mint_is_a_decode_error(length: int) -> None:
    """Cut anywhere short of its extensions, the real fee-bearing mint is refused."""
    with pytest.raises(DecodeError):
        transfer_fee_config(FEE_MINT_DATA[:length], name="mint")


def test_truncated_tlv_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="runs past the end"):
        transfer_fee_config(FEE_MINT_DATA[:-5])
    with pytest.raises(DecodeError, match="runs past the end"):
        transfer_fee_config(FEE_MINT_DATA[:200])


@pytest.mark.parametrize(
    ("offset", "raw", "message"),
    [
        (45, b"\x00", "is_initialized"),  # an uninitialized mint
        (0, b"\x02\x00\x00\x00", "COption"),  # mint authority tag neither None nor Some
        (100, b"\x07", "padding"),  # the zero padding before the account type
        (165, b"\x02", "account type"),  # a token account's type byte
    ],
)
def test_not_a_valid_mint_is_a_decode_error(offset: int, raw: bytes, message: str) -> None:
    bad = bytes(patched(FEE_MINT, offset, raw).data)
    with pytest.raises(DecodeError, match=message):
        transfer_fee_config(bad)


def test_a_mint_never_loses_its_extensions() -> None:
    """82 bytes is a valid extension-free mint, but not as an update of a mint that had more."""
    before = TokenMint.from_account(FEE_MINT_KEY, FEE_MINT)
    assert before.transfer_fee is not None
    cut = with_data(FEE_MINT, FEE_MINT_DATA[:82])
    assert TokenMint.from_account(FEE_MINT_KEY, cut).transfer_fee is None
    with pytest.raises(DecodeError, match="never loses its extensions"):
        TokenMint.from_account(FEE_MINT_KEY, cut, before)
    moved = with_data(FEE_MINT, FEE_MINT_DATA, TOKEN_PROGRAM_ID)
    with pytest.raises(DecodeError):
        TokenMint.from_account(FEE_MINT_KEY, moved, before)


def test_token_program_mints_are_exactly_82_bytes() -> None:
    assert Mint.decode(bytes(USDC.data), program=TOKEN_PROGRAM_ID).decimals == 6
    with pytest.raises(DecodeError, match="exactly 82"):
        Mint.decode(bytes(USDC.data) + bytes(84), program=TOKEN_PROGRAM_ID)
    with pytest.raises(DecodeError, match="owner"):
        TokenMint.from_account(USDC_KEY, with_data(USDC, USDC.data, SYSTEM_PROGRAM_ID))


def test_real_mint_extensions_and_fee() -> None:
    mint = TokenMint.from_account(FEE_MINT_KEY, FEE_MINT)
    assert mint.program == TOKEN_2022_PROGRAM_ID and mint.transfer_hook is None
    assert set(mint_extensions(FEE_MINT_DATA)) >= {1}
    assert mint.charges_transfer_fee and not mint.needs_clock
    fee = mint.transfer_fee_at(None, "pool")  # both epochs charge the same: no Clock needed
    assert fee is not None and (fee.basis_points, fee.maximum_fee) == (50, 5000)


# -- the one definition of "has a transfer hook" ---------------------------------------------


def test_transfer_hook_needs_a_non_zero_program_id() -> None:
    """spl-token-2022 invokes a hook only when the extension names a program (get_program_id)."""
    hooked = token2022_mint(USDC, transfer_fee=False, transfer_hook_program=HOOK)
    assert transfer_hook_program(bytes(hooked.data)) == HOOK
    assert TokenMint.from_account(USDC_KEY, hooked).transfer_hook == HOOK
    unset = token2022_mint(USDC, transfer_fee=False, transfer_hook_program=Pubkey.default())
    assert 14 in mint_extensions(bytes(unset.data))  # the extension is there ...
    assert transfer_hook_program(bytes(unset.data)) is None  # ... but invokes nothing
    assert TokenMint.from_account(USDC_KEY, unset).transfer_hook is None
    assert transfer_hook_program(bytes(USDC.data)) is None


def test_transfer_hook_of_the_wrong_size_is_refused() -> None:
    hooked = bytes(token2022_mint(USDC, transfer_fee=False, transfer_hook_program=HOOK).data)
    short = hooked[:166] + (14).to_bytes(2, "little") + (40).to_bytes(2, "little") + bytes(40)
    with pytest.raises(DecodeError, match="TransferHook is 40 bytes"):
        transfer_hook_program(short)


# -- fees per epoch, and the wrap around a swap ----------------------------------------------


def test_epoch_dependent_fee_needs_the_clock() -> None:
    account = token2022_mint(USDC, fee_bps=100, max_fee=10**12, newer_fee_bps=300, newer_epoch=950)
    mint = TokenMint.from_account(USDC_KEY, account)
    assert mint.needs_clock
    with pytest.raises(QuoteError, match=f"Clock sysvar {SYSVAR_CLOCK_ID} is not loaded"):
        mint.transfer_fee_at(None, "pool P")
    before = Clock.from_account(clock_account(epoch=949))
    after = Clock.from_account(clock_account(epoch=950))
    assert mint.transfer_fee_at(before, "p").basis_points == 100  # type: ignore[union-attr]
    assert mint.transfer_fee_at(after, "p").basis_points == 300  # type: ignore[union-attr]
    free = TokenMint.from_account(USDC_KEY, token2022_mint(USDC))
    assert free.transfer_fee is not None and free.transfer_fee_at(None, "p") is None


def test_fee_above_100_percent_is_refused() -> None:
    with pytest.raises(DecodeError, match="exceeds 100%"):
        TokenMint.from_account(USDC_KEY, token2022_mint(USDC, fee_bps=10_001, max_fee=1))


@given(st.integers(1, 10**15), st.integers(0, 10_000), st.integers(0, 10**9))
def test_amount_to_send_delivers(received: int, bps: int, cap: int) -> None:
    fee = TransferFee(epoch=0, maximum_fee=cap, basis_points=bps)
    sent = amount_to_send(received, fee)
    assert amount_received(sent, fee) >= received
    assert amount_to_send(received, None) == amount_received(received, None) == received


# -- token accounts and the Clock ------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "raw", "message"),
    [
        (108, b"\x00", "state 0"),
        (108, b"\x03", "state 3"),
        (72, b"\x05\x00\x00\x00", "COption"),
        (109, b"\x00\x01\x00\x00", "COption"),
    ],
)
def test_token_account_the_program_would_refuse(offset: int, raw: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        token_account_amount(bytes(patched(RESERVE, offset, raw).data))


def test_token_account_lengths_follow_the_owning_program() -> None:
    data = bytes(RESERVE.data)
    assert token_account_amount(data, program=TOKEN_PROGRAM_ID) > 0
    with pytest.raises(DecodeError, match="exactly 165"):
        token_account_amount(data + b"\x02", program=TOKEN_PROGRAM_ID)
    assert token_account_amount(data + b"\x02", program=TOKEN_2022_PROGRAM_ID) > 0
    with pytest.raises(DecodeError, match="account type"):
        token_account_amount(data + b"\x01", program=TOKEN_2022_PROGRAM_ID)
    with pytest.raises(DecodeError, match="355"):
        token_account_amount(data + b"\x02" + bytes(189), program=TOKEN_2022_PROGRAM_ID)
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    assert vault_amount(RESERVE, "vault", usdc) > 0
    with pytest.raises(DecodeError, match="mint"):
        vault_amount(RESERVE, "vault", Pubkey.default())
    with pytest.raises(DecodeError, match="owner"):
        vault_amount(with_data(RESERVE, data, SYSTEM_PROGRAM_ID), "vault", usdc)


def test_clock_is_owned_by_the_sysvar_owner() -> None:
    clock = clock_account(1_700_000_000, 600)
    assert Clock.from_account(clock).epoch == 600
    with pytest.raises(DecodeError, match="owner"):
        Clock.from_account(with_data(clock, clock.data, SYSTEM_PROGRAM_ID))
    with pytest.raises(DecodeError, match="40 bytes"):
        Clock.from_account(with_data(clock, clock.data[:39]))


def test_a_real_mint_with_an_unset_hook_has_no_hook() -> None:
    """A pump.fun Token-2022 mint (PumpSwap fixture) carries TransferHook with no program id."""
    path = (
        Path(__file__).parents[2] / "plugins/pumpswap/tests/fixtures/pump-usdc-flat/base_mint.json"
    )
    key, account = load_account(path)
    data = bytes(account.data)
    assert 14 in mint_extensions(data)
    assert transfer_hook_program(data) is None
    assert TokenMint.from_account(key, account).transfer_hook is None
