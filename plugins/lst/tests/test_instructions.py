"""swap_instruction builds the programs' real instructions, account for account, as the SDKs do."""

from __future__ import annotations

from typing import Any

import pytest
from lst_testlib import FIXTURES, expected, fixture, marinade, stake_pool, variants
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from lstarb_lst import stake_pool_ix
from lstarb_lst.stake_pool_math import deposit_sol
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.testing import check_instruction, load_json
from lstarb_sdk.types import SwapParams

FRESH = ["jitosol", "bsol", "jupsol", "lainesol"]


def _metas(ix: Instruction) -> list[tuple[str, bool, bool]]:
    return [(str(m.pubkey), m.is_signer, m.is_writable) for m in ix.accounts]


def _sdk(doc: dict[str, Any]) -> list[tuple[str, bool, bool]]:
    return [(a["pubkey"], a["signer"], a["writable"]) for a in doc["accounts"]]


@pytest.mark.parametrize("name", FRESH)
def test_stake_pool_instructions_match_the_sdk(name: str) -> None:
    pool = stake_pool(name)
    sdk = expected()["stake_pools"][name]["instructions"]
    user, lst = Pubkey.from_string(sdk["user"]), Pubkey.from_string(sdk["lst_account"])
    amount = int(sdk["amount"])
    minimum = pool.quote(amount, WSOL_MINT).out_amount
    params = SwapParams(WSOL_MINT, amount, minimum, user, user, lst)
    dep = pool.swap_instruction(params).instructions[0]
    assert dep.program_id == pool.program_id
    assert _metas(dep) == _sdk(sdk["deposit_sol"])
    # the slippage variant: index 25, the SDK's plain DepositSol data, then the minimum
    assert dep.data[0] == stake_pool_ix.DEPOSIT_SOL_WITH_SLIPPAGE
    assert bytes(dep.data[1:9]) == bytes.fromhex(sdk["deposit_sol"]["data_hex"])[1:9]
    # the program checks its minimum against the user's share, without the referral share
    # minted to the same account (seen on the program: ExceededSlippage otherwise)
    referral = deposit_sol(pool.state, amount, referrer_is_user=True).referral
    assert int.from_bytes(bytes(dep.data[9:17]), "little") == minimum - referral
    wd = pool.swap_instruction(SwapParams(pool.mints[1], amount, 5, user, lst, user)).instructions[
        0
    ]
    assert _metas(wd) == _sdk(sdk["withdraw_sol"])
    assert wd.data[0] == stake_pool_ix.WITHDRAW_SOL_WITH_SLIPPAGE
    assert bytes(wd.data[1:9]) == bytes.fromhex(sdk["withdraw_sol"]["data_hex"])[1:9]
    assert int.from_bytes(bytes(wd.data[9:17]), "little") == 5


def test_plain_deposit_sol_data_is_the_sdks() -> None:
    pool = stake_pool("jitosol")
    sdk = expected()["stake_pools"]["jitosol"]["instructions"]
    ix = stake_pool_ix.deposit_sol(
        pool._keys,
        funding=Pubkey.from_string(sdk["user"]),
        destination=Pubkey.from_string(sdk["lst_account"]),
        referrer=Pubkey.from_string(sdk["lst_account"]),
        lamports=int(sdk["amount"]),
    )
    assert bytes(ix.data).hex() == sdk["deposit_sol"]["data_hex"]


def test_exact_out_swap_sends_the_quoted_input_and_requires_the_output() -> None:
    pool = stake_pool("jitosol")
    user, lst = Pubkey.new_unique(), Pubkey.new_unique()
    need = pool.quote(10**9, WSOL_MINT, exact_in=False)
    ix = pool.swap_instruction(
        SwapParams(WSOL_MINT, 10**9, need.in_amount, user, user, lst, exact_in=False)
    ).instructions[0]
    assert int.from_bytes(bytes(ix.data[1:9]), "little") == need.in_amount
    assert int.from_bytes(bytes(ix.data[9:17]), "little") == 10**9
    with pytest.raises(QuoteError, match="above the maximum"):
        pool.swap_instruction(
            SwapParams(WSOL_MINT, 10**9, need.in_amount - 1, user, user, lst, exact_in=False)
        )


@pytest.mark.parametrize("name", ["marinade", "marinade-2024"])
def test_marinade_instructions_match_the_sdk(name: str) -> None:
    pool = marinade(name)
    sdk = expected()["marinade"][name]["instructions"]
    user, lst = Pubkey.from_string(sdk["user"]), Pubkey.from_string(sdk["lst_account"])
    amount = int(sdk["amount"])
    mint_to = Pubkey.from_string(sdk["mint_to"])
    dep = pool.swap_instruction(SwapParams(WSOL_MINT, amount, 0, user, user, mint_to)).instructions[
        0
    ]
    assert _metas(dep) == _sdk(sdk["deposit"])
    assert bytes(dep.data).hex() == sdk["deposit"]["data_hex"]
    unst = pool.swap_instruction(
        SwapParams(pool.mints[1], amount, 0, user, lst, user)
    ).instructions[0]
    assert _metas(unst) == _sdk(sdk["liquid_unstake"])
    assert bytes(unst.data).hex() == sdk["liquid_unstake"]["data_hex"]


def test_marinade_refuses_a_swap_below_the_minimum() -> None:
    pool = marinade("marinade")
    user = Pubkey.new_unique()
    q = pool.quote(10**9, WSOL_MINT)
    with pytest.raises(QuoteError, match="below the minimum"):
        pool.swap_instruction(SwapParams(WSOL_MINT, 10**9, q.out_amount + 1, user, user, user))


@pytest.mark.parametrize("name", ["marinade", "marinade-2024"])
def test_marinade_instructions_decode_with_its_idl(name: str) -> None:
    """deposit and liquid_unstake against Marinade's Anchor IDL (from its official SDK 6.0.0):
    discriminator, arguments, account order, signer and writable flags, PDAs."""
    pool = marinade(name)
    v = variants()[name]
    accounts = {k: a for k, a in (fixture(v[key]) for key in ("state", "sol_leg", "msol_leg"))}
    idl = load_json(FIXTURES / "idl" / "marinade_finance.json")
    user, msol_account = Pubkey.new_unique(), Pubkey.new_unique()
    swaps = {
        "deposit": SwapParams(WSOL_MINT, 10**9, 0, user, user, msol_account),
        "liquidUnstake": SwapParams(pool.mints[1], 10**9, 0, user, msol_account, user),
    }
    for name_, params in swaps.items():
        (ix,) = pool.swap_instruction(params).instructions
        spec, args, problems = check_instruction(
            idl, ix, accounts=accounts, program_id=pool.program_id
        )
        assert spec is not None and spec.name == name_, spec
        assert not problems, problems
        assert pool.quote(10**9, params.input_mint).in_amount in args.values()
