"""buy / buy_exact_quote_in / sell decode back with anchorpy and the IDL: every account and arg.

Expected accounts are derived here from the IDL's PDA seeds and the SDK's
rules (not from the adapter's helpers), then compared one by one, flags too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from anchorpy import Idl
from anchorpy.coder.instruction import InstructionCoder
from solders.account import Account
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk import SwapParams, max_in_with_slippage, min_out_with_slippage
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import associated_token_address
from lstarb_sdk.testing import accounts_of, anchor_legacy_idl, load_json, with_data

FIXTURES = Path(__file__).parent / "fixtures"
IDL = load_json(FIXTURES / "idl" / "pump_amm.json")
LABELS = [s["label"] for s in load_json(FIXTURES / "MANIFEST.json")["sets"]]
Scenario = Callable[[str], dict[str, tuple[Pubkey, Account]]]
LoadPool = Callable[[str], PumpSwapPool]

USER = Pubkey.from_string("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")
SRC = Pubkey.from_string("3Kz5b7bY6ZGYVqgdF8eAqf1mq1X3m1vdbL9c8bBJRf9r")
DST = Pubkey.from_string("7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU")
AMM = Pubkey.from_string(IDL["address"])
FEE_PROGRAM = Pubkey.from_string("pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ")


@cache
def coder() -> InstructionCoder:
    return InstructionCoder(Idl.from_json(json.dumps(anchor_legacy_idl(IDL))))


def _idl_ix(name: str) -> dict[str, Any]:
    return next(i for i in IDL["instructions"] if i["name"] == name)


def _pda(seeds: list[bytes], program: Pubkey = AMM) -> Pubkey:
    return Pubkey.find_program_address(seeds, program)[0]


def _seed(spec: dict[str, Any]) -> bytes:
    assert spec["kind"] == "const"
    return bytes(spec["value"])


def _expected(pool: PumpSwapPool, is_buy: bool, ix: Instruction) -> dict[str, Pubkey]:
    st = pool.pool_state
    g = pool.global_config
    assert g is not None
    base_prog, quote_prog = _programs(pool)
    by_name = {
        m: ix.accounts[i].pubkey
        for i, m in enumerate(a["name"] for a in _idl_ix("sell")["accounts"])
    }
    recipient = by_name["protocol_fee_recipient"]
    allowed = (
        (g.reserved_fee_recipient, *g.reserved_fee_recipients)
        if st.is_mayhem_mode
        else g.protocol_fee_recipients
    )
    assert recipient in allowed
    ix_spec = {a["name"]: a for a in _idl_ix("buy")["accounts"]}
    authority = _pda(
        [_seed(ix_spec["coin_creator_vault_authority"]["pda"]["seeds"][0]), bytes(st.coin_creator)]
    )
    fee_seeds = ix_spec["fee_config"]["pda"]["seeds"]
    out = {
        "pool": pool.address,
        "user": USER,
        "global_config": _pda([b"global_config"]),
        "base_mint": st.base_mint,
        "quote_mint": st.quote_mint,
        "user_base_token_account": DST if is_buy else SRC,
        "user_quote_token_account": SRC if is_buy else DST,
        "pool_base_token_account": st.pool_base_token_account,
        "pool_quote_token_account": st.pool_quote_token_account,
        "protocol_fee_recipient": recipient,
        "protocol_fee_recipient_token_account": associated_token_address(
            recipient, st.quote_mint, quote_prog
        ),
        "base_token_program": base_prog,
        "quote_token_program": quote_prog,
        "system_program": Pubkey.from_string(ix_spec["system_program"]["address"]),
        "associated_token_program": Pubkey.from_string(
            ix_spec["associated_token_program"]["address"]
        ),
        "event_authority": _pda([_seed(ix_spec["event_authority"]["pda"]["seeds"][0])]),
        "program": AMM,
        "coin_creator_vault_ata": associated_token_address(authority, st.quote_mint, quote_prog),
        "coin_creator_vault_authority": authority,
        "global_volume_accumulator": _pda(
            [_seed(ix_spec["global_volume_accumulator"]["pda"]["seeds"][0])]
        ),
        "user_volume_accumulator": _pda([b"user_volume_accumulator", bytes(USER)]),
        "fee_config": _pda([_seed(fee_seeds[0]), _seed(fee_seeds[1])], FEE_PROGRAM),
        "fee_program": FEE_PROGRAM,
    }
    return out


_PROGRAMS: dict[Pubkey, tuple[Pubkey, Pubkey]] = {}


def _programs(pool: PumpSwapPool) -> tuple[Pubkey, Pubkey]:
    """The token programs, read from the vault accounts of the pool's fixture set."""
    return _PROGRAMS[pool.address]


def _remember(pool: PumpSwapPool, accounts: dict[str, tuple[Pubkey, Account]]) -> None:
    _PROGRAMS[pool.address] = (accounts["base_vault"][1].owner, accounts["quote_vault"][1].owner)


@pytest.fixture()
def load(scenario: Scenario, load_pool: LoadPool) -> LoadPool:
    def build(name: str) -> PumpSwapPool:
        pool = load_pool(name)
        _remember(pool, scenario(name))
        return pool

    return build


def _check(
    pool: PumpSwapPool, ix: Instruction, name: str, is_buy: bool, args: dict[str, Any]
) -> list:
    """Compare the IDL part; return the remaining accounts for the caller to check."""
    assert ix.program_id == AMM
    parsed = coder().parse(bytes(ix.data))
    assert parsed.name == name
    assert bytes(ix.data[:8]) == bytes(_idl_ix(name)["discriminator"])
    for key, value in args.items():
        got = getattr(parsed.data, key)
        if key == "track_volume":
            got = got.field0
        assert got == value, key
    expected = _expected(pool, is_buy, ix)
    specs = _idl_ix(name)["accounts"]
    assert len(ix.accounts) >= len(specs)
    for meta, spec in zip(ix.accounts, specs, strict=False):
        assert meta.pubkey == expected[spec["name"]], spec["name"]
        assert meta.is_writable == bool(spec.get("writable")), spec["name"]
        assert meta.is_signer == bool(spec.get("signer")), spec["name"]
        if "address" in spec:
            assert str(meta.pubkey) == spec["address"]
    return list(ix.accounts[len(specs) :])


def _remaining(pool: PumpSwapPool, is_buy: bool, rest: list) -> None:
    """The SDK's remaining accounts: cashback ATA (+ accumulator on sells), pool-v2, buyback."""
    st = pool.pool_state
    g = pool.global_config
    assert g is not None
    quote_prog = _programs(pool)[1]
    want: list[tuple[Pubkey, bool]] = []
    accumulator = _pda([b"user_volume_accumulator", bytes(USER)])
    if st.is_cashback_coin:
        want.append((associated_token_address(accumulator, st.quote_mint, quote_prog), True))
        if not is_buy:
            want.append((accumulator, True))
    if st.coin_creator != Pubkey.default():
        want.append((_pda([b"pool-v2", bytes(st.base_mint)]), False))
    buyback = rest[-2].pubkey
    assert buyback in g.buyback_fee_recipients
    want.append((buyback, False))
    want.append((associated_token_address(buyback, st.quote_mint, quote_prog), True))
    assert [(m.pubkey, m.is_writable) for m in rest] == want
    assert not any(m.is_signer for m in rest)


CASES = [*LABELS, "7lss-mayhem", "7lss-no-coin-creator"]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("exact_in", [True, False])
def test_buy(load: LoadPool, name: str, exact_in: bool) -> None:
    pool = load(name)
    _base, quote = pool.mints
    reserve_b, reserve_q = pool.reserves
    assert reserve_b and reserve_q
    amount = reserve_q // 1000 if exact_in else reserve_b // 1000
    q = pool.quote(amount, quote, exact_in=exact_in)
    threshold = (
        min_out_with_slippage(q.out_amount, 50)
        if exact_in
        else max_in_with_slippage(q.in_amount, 50)
    )
    (ix,) = pool.swap_instruction(
        SwapParams(quote, amount, threshold, USER, SRC, DST, exact_in)
    ).instructions
    if exact_in:
        args = {
            "spendable_quote_in": amount,
            "min_base_amount_out": threshold,
            "track_volume": True,
        }
        rest = _check(pool, ix, "buy_exact_quote_in", True, args)
    else:
        args = {"base_amount_out": amount, "max_quote_amount_in": threshold, "track_volume": True}
        rest = _check(pool, ix, "buy", True, args)
    _remaining(pool, True, rest)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("exact_in", [True, False])
def test_sell(load: LoadPool, name: str, exact_in: bool) -> None:
    pool = load(name)
    base, _quote = pool.mints
    reserve_b, reserve_q = pool.reserves
    assert reserve_b and reserve_q
    amount = reserve_b // 1000 if exact_in else reserve_q // 1000
    q = pool.quote(amount, base, exact_in=exact_in)
    threshold = (
        min_out_with_slippage(q.out_amount, 50)
        if exact_in
        else max_in_with_slippage(q.in_amount, 50)
    )
    (ix,) = pool.swap_instruction(
        SwapParams(base, amount, threshold, USER, SRC, DST, exact_in)
    ).instructions
    if exact_in:
        args = {"base_amount_in": amount, "min_quote_amount_out": threshold}
    else:  # no exact-out sell on chain: send the quoted input, ask for at least `amount`
        args = {"base_amount_in": q.in_amount, "min_quote_amount_out": amount}
    rest = _check(pool, ix, "sell", False, args)
    _remaining(pool, False, rest)


def test_exact_out_sell_refuses_above_max_in(load: LoadPool) -> None:
    pool = load(LABELS[0])
    base = pool.mints[0]
    q = pool.quote(10**6, base, exact_in=False)
    with pytest.raises(QuoteError, match="above the maximum"):
        pool.swap_instruction(SwapParams(base, 10**6, q.in_amount - 1, USER, SRC, DST, False))


@pytest.mark.parametrize("is_buy", [True, False])
def test_cashback_coin_remaining_accounts(scenario: Scenario, is_buy: bool) -> None:
    accs = scenario(LABELS[0])
    key, acc = accs["pool"]
    data = bytearray(acc.data)
    data[244] = 1
    pool = PumpSwapPool.from_account(key, with_data(acc, bytes(data)))
    pool.update(accounts_of(accs) | {key: with_data(acc, bytes(data))})
    _remember(pool, accs)
    assert pool.pool_state.is_cashback_coin
    mint = pool.mints[1] if is_buy else pool.mints[0]
    (ix,) = pool.swap_instruction(SwapParams(mint, 10**6, 1, USER, SRC, DST, True)).instructions
    rest = _check(pool, ix, "buy_exact_quote_in" if is_buy else "sell", is_buy, {})
    _remaining(pool, is_buy, rest)


def test_recipients_rotate(load: LoadPool) -> None:
    pool = load(LABELS[0])
    g = pool.global_config
    assert g is not None
    quote = pool.mints[1]
    seen = []
    for _ in range(8):
        (ix,) = pool.swap_instruction(
            SwapParams(quote, 10**6, 1, USER, SRC, DST, True)
        ).instructions
        seen.append(ix.accounts[9].pubkey)
    assert seen == list(g.protocol_fee_recipients)


def test_short_pool_gets_extend_account_first(scenario: Scenario) -> None:
    accs = scenario(LABELS[0])
    key, acc = accs["pool"]
    short = with_data(acc, bytes(acc.data)[:270])
    pool = PumpSwapPool.from_account(key, short)
    pool.update(accounts_of(accs) | {key: short})
    _remember(pool, accs)
    ixs = pool.swap_instruction(
        SwapParams(pool.mints[1], 10**6, 1, USER, SRC, DST, True)
    ).instructions
    assert len(ixs) == 2
    ext = ixs[0]
    assert coder().parse(bytes(ext.data)).name == "extend_account"
    specs = _idl_ix("extend_account")["accounts"]
    want = [key, USER, Pubkey.from_string(specs[2]["address"]), _pda([b"__event_authority"]), AMM]
    assert [m.pubkey for m in ext.accounts] == want
    for meta, spec in zip(ext.accounts, specs, strict=True):
        assert meta.is_writable == bool(spec.get("writable"))
        assert meta.is_signer == bool(spec.get("signer"))
    assert coder().parse(bytes(ixs[1].data)).name == "buy_exact_quote_in"
