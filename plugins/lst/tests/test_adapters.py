"""Accounts followed, refusals where the programs refuse, summary, discovery, hooks.

The SDK contract itself (bad bytes, missing accounts, quote laws, fuzzing) is the
conformance kit's: test_conformance.
"""

from __future__ import annotations

import pytest
from lst_testlib import fixture, marinade, stake_pool, with_data

from lstarb_lst import plugin
from lstarb_lst.marinade import MarinadePool
from lstarb_lst.stake_pool import StakePoolAdapter
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, WSOL_MINT


def test_stake_pool_follows_pool_reserve_fee_account_and_clock() -> None:
    pool = stake_pool("jitosol")
    s = pool.state
    assert pool.accounts_to_update() == [
        pool.address,
        s.reserve_stake,
        s.manager_fee_account,
        SYSVAR_CLOCK_ID,
    ]
    assert pool.mints == (WSOL_MINT, s.pool_mint)


def test_a_pool_without_a_clock_refuses_and_names_it() -> None:
    key, account = fixture("jitosol-stake-pool.json")
    pool = StakePoolAdapter.from_account(key, account)
    with pytest.raises(QuoteError, match="Clock sysvar"):
        pool.quote(10**9, WSOL_MINT)
    assert pool.summary() is None


def test_stale_and_permissioned_pools_refuse_where_the_program_does() -> None:
    with pytest.raises(QuoteError, match="StakeListAndPoolOutOfDate"):
        stake_pool("jitosol-stale").quote(10**9, WSOL_MINT)
    with pytest.raises(QuoteError, match="permissioned"):
        stake_pool("bsol-permissioned").quote(10**9, WSOL_MINT)
    pwr = stake_pool("pwrsol")
    assert pwr.quote(10**9, WSOL_MINT).out_amount > 0
    with pytest.raises(QuoteError, match="sol_withdraw_authority"):
        pwr.quote(10**9, pwr.mints[1])


def test_withdrawals_are_bounded_by_the_reserve() -> None:
    pool = stake_pool("jitosol")  # reserve: 1,000 SOL
    with pytest.raises(QuoteError, match="SolWithdrawalTooLarge"):
        pool.quote(10**13, pool.mints[1])
    summary = pool.summary()
    assert summary is not None and summary.reserve_a < 1000 * 10**9


def test_marinade_exact_out_unstake_is_the_least_input() -> None:
    pool = marinade("marinade")
    msol = pool.mints[1]
    for out in (10**9, 10**13, 25 * 10**12):  # the last one crosses the fee ramp
        need = pool.quote(out, msol, exact_in=False)
        assert pool.quote(need.in_amount, msol).out_amount >= out
        if need.in_amount > 1:
            try:
                less = pool.quote(need.in_amount - 1, msol).out_amount
            except QuoteError:
                continue
            assert less < out


def test_paused_marinade_refuses() -> None:
    with pytest.raises(QuoteError, match="paused"):
        marinade("marinade-paused").quote(10**9, WSOL_MINT)


def test_discovery_filters_match_the_pool_accounts() -> None:
    key, account = fixture("jitosol-stake-pool.json")
    pool = StakePoolAdapter.from_account(key, account)
    filters = StakePoolAdapter.discovery_filters([pool.mints[1]])
    assert any(f.matches(bytes(account.data)) for f in filters)
    other = StakePoolAdapter.discovery_filters([MarinadePool.program_id])
    assert not any(f.matches(bytes(account.data)) for f in other)
    _, state = fixture("marinade-state.json")
    assert any(f.matches(bytes(state.data)) for f in MarinadePool.discovery_filters([WSOL_MINT]))


def test_plugin_hooks() -> None:
    assert plugin.LSTARB_SDK_API == "1.1"
    assert {c.dex for c in plugin.lstarb_dex_adapters()} == {
        "spl-stake-pool",
        "sanctum-spl",
        "sanctum-spl-multi",
        "marinade",
    }
    from lstarb_lst.config import LstConfig
    from lstarb_sdk import PluginContext

    strategies = plugin.lstarb_strategies(
        PluginContext(plugin_configs={"lst": LstConfig(strategies=["triangular"])})
    )
    assert [s.name for s in strategies] == ["triangular"]
    with pytest.raises(ValueError, match="unknown strategies"):
        LstConfig(strategies=["four-hop"])
    with pytest.raises(ValueError, match="not a base58"):
        LstConfig(base_mints=["nope"])


def test_withdrawals_read_the_reserves_stake_state() -> None:
    """WithdrawSol leaves the Meta's rent_exempt_reserve behind, and pays only from an
    Initialized reserve (WrongStakeStake otherwise); deposits do not read the reserve."""
    pool = stake_pool("jitosol")
    reserve_key = pool.state.reserve_stake
    _, reserve = fixture("support/jitosol-reserve.json")
    data = bytes(reserve.data)
    lst = pool.mints[1]
    before = pool.summary()
    assert before is not None
    kept = 5 * 10**9
    pool.update(
        {reserve_key: with_data(reserve, data[:4] + kept.to_bytes(8, "little") + data[12:])}
    )
    after = pool.summary()
    assert after is not None and after.reserve_a == reserve.lamports - kept < before.reserve_a
    pool.update({reserve_key: with_data(reserve, (2).to_bytes(4, "little") + data[4:])})
    with pytest.raises(QuoteError, match="WrongStakeStake"):
        pool.quote(10**9, lst)
    with pytest.raises(QuoteError, match="WithdrawalTooSmall"):  # the program checks it first
        pool.quote(1, lst)
    assert pool.quote(10**9, WSOL_MINT).out_amount > 0
