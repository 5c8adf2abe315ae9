"""swap2 / swap_exact_out2 decoded back with anchorpy: every account by IDL name, every argument."""

from __future__ import annotations

from typing import Any

import pytest
from meteora_testlib import idl_coder, idl_instruction_accounts, load_pool
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import DlmmPool
from lstarb_meteora.dlmm.bitmap import EVENT_AUTHORITY
from lstarb_meteora.dlmm.constants import PROGRAM_ID
from lstarb_sdk import SwapParams, max_in_with_slippage, min_out_with_slippage
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import MEMO_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

USER = Pubkey.from_string("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")
SRC = Pubkey.from_string("2wmVCSfPxGPjrnMMn7rchp4uaeoTqN39mXFC2zhPdri9")
DST = Pubkey.from_string("3cQbS4BKfBaZVnHUnUgDNaGTMSjmJWhYSZoAYwUHAtPV")


def _decode(instruction: Instruction) -> tuple[str, Any, dict[str, Any]]:
    parsed = idl_coder().instruction.parse(bytes(instruction.data))
    names = [a["name"] for a in idl_instruction_accounts(parsed.name)]
    metas = list(instruction.accounts)
    named = dict(zip(names, metas[: len(names)], strict=True))
    return parsed.name, parsed.data, {"named": named, "remaining": metas[len(names) :]}


def _check_flags(name: str, named: dict[str, Any]) -> None:
    for acc in idl_instruction_accounts(name):
        meta = named[acc["name"]]
        if acc.get("optional") and meta.pubkey == PROGRAM_ID:
            assert not meta.is_writable and not meta.is_signer
            continue
        assert meta.is_writable == bool(acc.get("writable")), acc["name"]
        assert meta.is_signer == bool(acc.get("signer")), acc["name"]
        if "address" in acc:
            assert str(meta.pubkey) == acc["address"], acc["name"]


def _params(pool: DlmmPool, mint: Pubkey, amount: int, exact_in: bool) -> SwapParams:
    q = pool.quote(amount, mint, exact_in=exact_in)
    threshold = (
        min_out_with_slippage(q.out_amount, 50)
        if exact_in
        else max_in_with_slippage(q.in_amount, 50)
    )
    return SwapParams(mint, amount, threshold, USER, SRC, DST, exact_in=exact_in)


@pytest.mark.parametrize("exact_in", [True, False])
@pytest.mark.parametrize("swap_for_y", [True, False])
def test_sol_usdc_swap_decodes(exact_in: bool, swap_for_y: bool) -> None:
    pool = load_pool("sol-usdc-bs4")
    x, y = pool.mints
    mint = x if swap_for_y else y
    amount = 10**13 if swap_for_y else 10**12  # crosses into a second array
    if not exact_in:
        amount = pool.quote(amount, mint).out_amount
    params = _params(pool, mint, amount, exact_in)
    detail = pool.quote_detailed(amount, mint, exact_in=exact_in)
    assert len(detail.bin_arrays) >= 2
    (instruction,) = pool.swap_instruction(params).instructions
    assert instruction.program_id == PROGRAM_ID
    name, args, accs = _decode(instruction)
    named = accs["named"]
    pair = pool.pair
    if exact_in:
        assert name == "swap2"
        assert args.amount_in == amount
        assert args.min_amount_out == params.other_amount_threshold
    else:
        assert name == "swap_exact_out2"
        assert args.out_amount == amount
        assert args.max_in_amount == params.other_amount_threshold
    slices = args.remaining_accounts_info.slices
    assert [(type(s.accounts_type).__name__, s.length) for s in slices] == [
        ("TransferHookX", 0),
        ("TransferHookY", 0),
    ]
    _check_flags(name, named)
    expect = {
        "lb_pair": pool.address,
        "bin_array_bitmap_extension": pool.bitmap_extension_address,
        "reserve_x": pair.reserve_x,
        "reserve_y": pair.reserve_y,
        "user_token_in": SRC,
        "user_token_out": DST,
        "token_x_mint": x,
        "token_y_mint": y,
        "oracle": pair.oracle,
        "host_fee_in": PROGRAM_ID,
        "user": USER,
        "token_x_program": TOKEN_PROGRAM_ID,
        "token_y_program": TOKEN_PROGRAM_ID,
        "memo_program": MEMO_PROGRAM_ID,
        "event_authority": EVENT_AUTHORITY,
        "program": PROGRAM_ID,
    }
    assert {k: m.pubkey for k, m in named.items()} == expect
    # Bin arrays: the quoted walk, one more initialized array beyond it, then the
    # initialized array behind the active one (the other side), all writable.
    remaining = accs["remaining"]
    index_of = {pool.bin_array_key(i): i for i in range(-100, -80)}
    walked = [index_of[m.pubkey] for m in remaining]
    assert [m.pubkey for m in remaining[: len(detail.bin_arrays)]] == list(detail.bin_arrays)
    n = len(detail.bin_arrays)
    beyond = min(walked[:n]) - 1 if swap_for_y else max(walked[:n]) + 1
    behind = -89 if swap_for_y else -91  # active bin -6260 is in array -90
    assert walked == [*walked[:n], beyond, behind], walked
    assert all(m.is_writable and not m.is_signer for m in remaining)


def test_event_authority_is_the_idl_pda() -> None:
    assert Pubkey.find_program_address([b"__event_authority"], PROGRAM_ID)[0] == EVENT_AUTHORITY


def test_token2022_pool_uses_token2022_program_and_no_extension() -> None:
    pool = load_pool("ttfz-sol-bs10-token2022")
    x, _ = pool.mints
    (instruction,) = pool.swap_instruction(_params(pool, x, 10**9, True)).instructions
    name, _, accs = _decode(instruction)
    named = accs["named"]
    _check_flags(name, named)
    assert named["token_x_program"].pubkey == TOKEN_2022_PROGRAM_ID
    assert named["token_y_program"].pubkey == TOKEN_PROGRAM_ID
    assert named["bin_array_bitmap_extension"].pubkey == PROGRAM_ID
    # The walk (array 0 then -1); no initialized array lies beyond -1, nor above 0.
    assert [m.pubkey for m in accs["remaining"]] == [pool.bin_array_key(0), pool.bin_array_key(-1)]


def test_unquotable_swap_still_lists_arrays_around_active() -> None:
    pool = load_pool("pump-sol-bs250")
    x, _ = pool.mints
    with pytest.raises(QuoteError):
        pool.quote(10**19, x)
    params = SwapParams(x, 10**19, 0, USER, SRC, DST)
    (instruction,) = pool.swap_instruction(params).instructions
    _, _, accs = _decode(instruction)
    # the two arrays below the active bin, then array 1 above it (not in the fixtures,
    # but initialized per the bitmap: on chain it exists)
    assert [m.pubkey for m in accs["remaining"]] == [
        pool.bin_array_key(0),
        pool.bin_array_key(-1),
        pool.bin_array_key(1),
    ]


def test_arrays_the_chain_does_not_have_are_left_out() -> None:
    """The program loads every bin array passed: one that does not exist fails the swap."""
    pool = load_pool("pump-sol-bs250")
    x, _ = pool.mints
    pool.update({pool.bin_array_key(1): None})
    (instruction,) = pool.swap_instruction(SwapParams(x, 10**19, 0, USER, SRC, DST)).instructions
    _, _, accs = _decode(instruction)
    assert [m.pubkey for m in accs["remaining"]] == [pool.bin_array_key(0), pool.bin_array_key(-1)]


def test_foreign_mint_is_refused() -> None:
    pool = load_pool("pump-sol-bs250")
    with pytest.raises(QuoteError):
        pool.swap_instruction(SwapParams(USER, 1, 0, USER, SRC, DST))
