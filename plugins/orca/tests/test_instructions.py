"""swap / swap_v2 decode back with anchorpy and the IDL: every account and argument."""

from __future__ import annotations

import json
from functools import cache

import pytest
from anchorpy import Idl
from anchorpy.coder.instruction import InstructionCoder
from orca_testlib import FIXTURES, LABELS, legacy_idl_json, load_pool
from solders.pubkey import Pubkey

from lstarb_orca.tick_arrays import tick_array_address, window_starts
from lstarb_sdk import SwapParams, max_in_with_slippage, min_out_with_slippage
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import MEMO_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

USER = Pubkey.from_string("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")
SRC = Pubkey.from_string("3Kz5b7bY6ZGYVqgdF8eAqf1mq1X3m1vdbL9c8bBJRf9r")
DST = Pubkey.from_string("7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU")


@cache
def idl_raw() -> dict:
    return json.loads((FIXTURES / "idl" / "whirlpool.json").read_text())


@cache
def coder() -> InstructionCoder:
    return InstructionCoder(Idl.from_json(legacy_idl_json()))


def _idl_ix(name: str) -> dict:
    return next(i for i in idl_raw()["instructions"] if i["name"] == name)


def _check(ix, name: str, expected_accounts: dict[str, Pubkey], args: dict):
    parsed = coder().parse(bytes(ix.data))
    assert parsed.name == name
    assert bytes(ix.data[:8]) == bytes(_idl_ix(name)["discriminator"])
    for key, value in args.items():
        assert getattr(parsed.data, key) == value, key
    idl_accounts = _idl_ix(name)["accounts"]
    assert len(ix.accounts) >= len(idl_accounts)
    for meta, spec in zip(ix.accounts, idl_accounts, strict=False):
        assert meta.pubkey == expected_accounts[spec["name"]], spec["name"]
        assert meta.is_writable == bool(spec.get("writable")), spec["name"]
        assert meta.is_signer == bool(spec.get("signer")), spec["name"]
        if "address" in spec:
            assert str(meta.pubkey) == spec["address"]
    return parsed


def _remaining(ix) -> list:
    return list(ix.accounts[len(_idl_ix("swap_v2")["accounts"]) :])


@pytest.mark.parametrize("label", ["sol-usdc-ts64-2022", "jitosol-sol-ts1"])
@pytest.mark.parametrize("a_to_b", [True, False])
@pytest.mark.parametrize("exact_in", [True, False])
def test_swap_v2_with_both_sides(label: str, a_to_b: bool, exact_in: bool) -> None:
    """swap_v2 for plain SPL pools too: only it carries supplemental tick arrays."""
    pool = load_pool(label)
    st = pool.state
    mint_in = st.token_mint_a if a_to_b else st.token_mint_b
    amount = 10**6
    q = pool.quote(amount, mint_in, exact_in=exact_in)
    threshold = (
        min_out_with_slippage(q.out_amount, 50)
        if exact_in
        else max_in_with_slippage(q.in_amount, 50)
    )
    params = SwapParams(mint_in, amount, threshold, USER, SRC, DST, exact_in)
    ixs = pool.swap_instruction(params).instructions
    assert len(ixs) == 1
    ix = ixs[0]
    assert ix.program_id == pool.program_id
    own = [
        tick_array_address(pool.address, s)
        for s in window_starts(st.tick_current_index, st.tick_spacing, a_to_b)
    ]
    other = [
        tick_array_address(pool.address, s)
        for s in window_starts(st.tick_current_index, st.tick_spacing, not a_to_b)
        if tick_array_address(pool.address, s) not in own
    ]
    assert len(own) == 3 and 1 <= len(other) <= 3
    expected_accounts = {
        "token_program_a": TOKEN_PROGRAM_ID,
        "token_program_b": TOKEN_PROGRAM_ID,
        "memo_program": MEMO_PROGRAM_ID,
        "token_authority": USER,
        "whirlpool": pool.address,
        "token_mint_a": st.token_mint_a,
        "token_mint_b": st.token_mint_b,
        "token_owner_account_a": SRC if a_to_b else DST,
        "token_vault_a": st.token_vault_a,
        "token_owner_account_b": DST if a_to_b else SRC,
        "token_vault_b": st.token_vault_b,
        "tick_array_0": own[0],
        "tick_array_1": own[1],
        "tick_array_2": own[2],
        "oracle": pool.oracle_address,
    }
    args = {
        "amount": amount,
        "other_amount_threshold": threshold,
        "sqrt_price_limit": 0,
        "amount_specified_is_input": exact_in,
        "a_to_b": a_to_b,
    }
    parsed = _check(ix, "swap_v2", expected_accounts, args)
    slices = parsed.data.remaining_accounts_info.slices
    assert len(slices) == 1
    assert type(slices[0].accounts_type).__name__ == "SupplementalTickArrays"
    assert slices[0].length == len(other)
    extra = _remaining(ix)
    assert [m.pubkey for m in extra] == other
    assert all(m.is_writable and not m.is_signer for m in extra)


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("a_to_b", [True, False])
def test_a_move_back_across_an_array_boundary_still_finds_its_arrays(
    label: str, a_to_b: bool
) -> None:
    """Between plan and landing the price may cross into a neighbouring array, in either
    direction: every array the program then picks (``get_start_tick_indexes``) is in the
    instruction, so the transaction does not fail for want of one."""
    pool = load_pool(label)
    st = pool.state
    mint_in = st.token_mint_a if a_to_b else st.token_mint_b
    ix = pool.swap_instruction(SwapParams(mint_in, 1, 0, USER, SRC, DST, True)).instructions[0]
    passed = {m.pubkey for m in ix.accounts[11:14]} | {m.pubkey for m in _remaining(ix)}
    span = 88 * st.tick_spacing
    base = (st.tick_current_index // span) * span
    back, further = (base + span + span // 2, base - span // 2)
    if not a_to_b:
        back, further = further, back
    # moved back against the swap: the whole window the program would pick is there
    for start in window_starts(back, st.tick_spacing, a_to_b):
        assert tick_array_address(pool.address, start) in passed, ("back", back, start)
    # moved one array further: a swap there still has its first two arrays
    for start in window_starts(further, st.tick_spacing, a_to_b)[:2]:
        assert tick_array_address(pool.address, start) in passed, ("further", further, start)
    # and the arrays the swap itself walks are all there
    for start in window_starts(st.tick_current_index, st.tick_spacing, a_to_b):
        assert tick_array_address(pool.address, start) in passed


@pytest.mark.parametrize("a_to_b", [True, False])
def test_swap_v2_for_token_2022_and_price_limit(a_to_b: bool) -> None:
    tf = {"a": {"fee_bps": 150, "max_fee": "5000000000"}}  # only mint A moves to Token-2022
    pool = load_pool("msol-sol-ts1", transfer_fee=tf)
    st = pool.state
    mint_in = st.token_mint_a if a_to_b else st.token_mint_b
    params = SwapParams(mint_in, 5_000, 4_000, USER, SRC, DST, True)
    limit = 4295048016 if a_to_b else 79226673515401279992447579055
    ix = pool.swap_instruction(params, sqrt_price_limit=limit).instructions[0]
    arrays = pool.tick_array_addresses(a_to_b)
    expected_accounts = {
        "token_program_a": TOKEN_2022_PROGRAM_ID,
        "token_program_b": TOKEN_PROGRAM_ID,
        "memo_program": MEMO_PROGRAM_ID,
        "token_authority": USER,
        "whirlpool": pool.address,
        "token_mint_a": st.token_mint_a,
        "token_mint_b": st.token_mint_b,
        "token_owner_account_a": SRC if a_to_b else DST,
        "token_vault_a": st.token_vault_a,
        "token_owner_account_b": DST if a_to_b else SRC,
        "token_vault_b": st.token_vault_b,
        "tick_array_0": arrays[0],
        "tick_array_1": arrays[1],
        "tick_array_2": arrays[2],
        "oracle": pool.oracle_address,
    }
    args = {
        "amount": 5_000,
        "other_amount_threshold": 4_000,
        "sqrt_price_limit": limit,
        "amount_specified_is_input": True,
        "a_to_b": a_to_b,
    }
    _check(ix, "swap_v2", expected_accounts, args)


def test_adaptive_pool_uses_swap_v2_with_writable_oracle() -> None:
    pool = load_pool("msol-sol-ts1", adaptive_seed=1024, timestamp=1_700_000_000)
    st = pool.state
    params = SwapParams(st.token_mint_b, 10**6, 1, USER, SRC, DST, True)
    ix = pool.swap_instruction(params).instructions[0]
    parsed = coder().parse(bytes(ix.data))
    assert parsed.name == "swap_v2"
    assert ix.accounts[14].pubkey == pool.oracle_address and ix.accounts[14].is_writable


def test_foreign_mint_is_refused() -> None:
    pool = load_pool("msol-sol-ts1")
    params = SwapParams(USER, 1, 1, USER, SRC, DST, True)
    with pytest.raises(QuoteError, match="not one of its mints"):
        pool.swap_instruction(params)
