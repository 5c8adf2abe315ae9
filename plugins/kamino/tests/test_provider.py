"""KaminoFunding refuses what the program would refuse, naming why, and follows its accounts."""

from __future__ import annotations

import pytest
from kamino_testlib import (
    JITO,
    MAIN,
    WSOL,
    loaded,
    market_account,
    market_bump,
    market_of,
    patched,
    reserve,
    variant_reserve,
    with_data,
)
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from lstarb_kamino.config import KaminoConfig, ReserveSetting
from lstarb_kamino.constants import (
    FLASH_BORROW_DISCRIMINATOR,
    JITO_MARKET,
    JITO_MARKET_SOL_RESERVE,
    KLEND_PROGRAM_ID,
    MAIN_MARKET,
    MAIN_MARKET_SOL_RESERVE,
)
from lstarb_kamino.fees import flash_loan_fee
from lstarb_kamino.provider import KaminoFunding
from lstarb_sdk.errors import DecodeError, FundingError

MAIN_AVAILABLE = 576_438_315_861_112
JITO_AVAILABLE = 157_220_397_467_849
MAIN_SF = 11_529_215_046_068
USER, ATA = Pubkey.new_unique(), Pubkey.new_unique()


def _wrap(p: KaminoFunding, amount: int, **kw: object):  # type: ignore[no-untyped-def]
    args = {"mint": WSOL, "amount": amount, "user": USER, "user_token_account": ATA, **kw}
    return p.wrap([], **args)  # type: ignore[arg-type]


def test_default_config_lists_the_fixture_reserves_and_markets() -> None:
    p = KaminoFunding()
    assert list(p.accounts_to_update()) == [
        MAIN_MARKET_SOL_RESERVE,
        JITO_MARKET_SOL_RESERVE,
        MAIN_MARKET,
        JITO_MARKET,
    ]
    assert p.supports(WSOL) and not p.supports(Pubkey.new_unique())
    with pytest.raises(FundingError, match="not loaded yet"):
        p.fee(WSOL, 1_000_000)


def test_cheapest_reserve_that_can_lend_wins() -> None:
    p = loaded(reserve(MAIN), reserve(JITO))
    # JITO market's SOL reserve is free and has the liquidity
    assert p.fee(WSOL, 10**12) == 0
    assert p.reserve_for(WSOL, 10**12) == JITO_MARKET_SOL_RESERVE
    # above JITO's available liquidity, only Main can lend: its fee
    big = JITO_AVAILABLE + 1
    assert p.reserve_for(WSOL, big) == MAIN_MARKET_SOL_RESERVE
    assert p.fee(WSOL, big) == flash_loan_fee(big, MAIN_SF) > 0
    funded = _wrap(p, big)
    assert funded.fee_amount == p.fee(WSOL, big)
    assert funded.instructions[0].accounts[3].pubkey == MAIN_MARKET_SOL_RESERVE
    assert p.max_amount(WSOL) == MAIN_AVAILABLE


def test_amount_above_available_liquidity_is_refused_naming_each_reserve() -> None:
    p = loaded(reserve(MAIN), reserve(JITO))
    with pytest.raises(FundingError) as err:
        p.fee(WSOL, MAIN_AVAILABLE + 1)
    assert f"only {MAIN_AVAILABLE} available" in str(err.value)
    assert f"only {JITO_AVAILABLE} available" in str(err.value)
    assert p.fee(WSOL, MAIN_AVAILABLE) == flash_loan_fee(MAIN_AVAILABLE, MAIN_SF)


@pytest.mark.parametrize("amount", [0, -5, 1 << 64])
def test_amount_outside_u64_is_refused(amount: int) -> None:
    with pytest.raises(FundingError, match=r"within 1\.\.2\^64-1"):
        loaded(reserve(MAIN)).fee(WSOL, amount)


def test_unsupported_mint_is_refused() -> None:
    mint = Pubkey.new_unique()
    with pytest.raises(FundingError, match=f"no reserve configured for mint {mint}"):
        loaded(reserve(MAIN)).wrap([], mint=mint, amount=10, user=USER, user_token_account=ATA)


def test_disabled_reserve_is_refused_and_the_other_used() -> None:
    p = loaded(variant_reserve("main-disabled"), reserve(JITO))
    with pytest.raises(FundingError, match=r"flash loans are disabled .*u64::MAX"):
        p.fee(WSOL, JITO_AVAILABLE + 1)
    assert p.reserve_for(WSOL, 1_000) == JITO_MARKET_SOL_RESERVE
    assert p.max_amount(WSOL) == JITO_AVAILABLE


def test_too_small_loan_is_refused() -> None:
    with pytest.raises(FundingError, match="BorrowTooSmall"):
        loaded(reserve(MAIN)).fee(WSOL, 1)


@pytest.mark.parametrize(
    ("offset", "raw", "why"),
    [
        (8, (2).to_bytes(8, "little"), "reserve version 2, klend expects 1"),
        (4856, b"\x01", "reserve is obsolete"),
        (4864, b"\x01", "reserve is in emergency mode"),
    ],
)
def test_reserve_states_the_program_refuses(offset: int, raw: bytes, why: str) -> None:
    key, acc = reserve(MAIN)
    with pytest.raises(FundingError, match=why):
        loaded((key, patched(acc, offset, raw))).fee(WSOL, 10**9)


def test_market_emergency_mode_is_refused() -> None:
    with pytest.raises(FundingError, match=f"market {MAIN_MARKET} is in emergency mode"):
        loaded(reserve(MAIN), emergency_mode=1).fee(WSOL, 10**9)


def test_configured_cap_is_refused() -> None:
    key, acc = reserve(MAIN)
    config = KaminoConfig(
        reserves={
            str(WSOL): [
                ReserveSetting(reserve=str(key), market=str(MAIN_MARKET), max_amount=10**10)
            ]
        }
    )
    p = loaded((key, acc), config=config)
    assert p.fee(WSOL, 10**10) == 100_000
    with pytest.raises(FundingError, match="above the configured max_amount 10000000000"):
        p.fee(WSOL, 10**10 + 1)
    assert p.max_amount(WSOL) == 10**10


def test_absent_accounts_are_refused_and_recovery_works() -> None:
    key, acc = reserve(MAIN)
    p = loaded((key, acc))
    assert p.fee(WSOL, 10**9) == 10_000
    p.update({key: None})
    with pytest.raises(FundingError, match="the chain has no such account"):
        p.fee(WSOL, 10**9)
    p.update({key: acc})
    assert p.fee(WSOL, 10**9) == 10_000
    p.update({MAIN_MARKET: None})
    with pytest.raises(FundingError, match=f"its market {MAIN_MARKET}: the chain has no such"):
        p.fee(WSOL, 10**9)


def test_market_not_loaded_is_refused() -> None:
    key, acc = reserve(MAIN)
    p = KaminoFunding(
        KaminoConfig(
            reserves={str(WSOL): [ReserveSetting(reserve=str(key), market=str(MAIN_MARKET))]}
        )
    )
    p.update({key: acc})
    with pytest.raises(FundingError, match=r"its market .* not loaded yet"):
        p.fee(WSOL, 10**9)


def test_undecodable_reserve_raises_decode_error_and_keeps_refusing() -> None:
    key, acc = reserve(MAIN)
    p = loaded((key, acc))
    m = market_of(acc)
    good_market = market_account(bump=market_bump(m), referral_fee_bps=0)
    with pytest.raises(DecodeError, match=f"reserve {key}: klend Reserve: expected 8624 bytes"):
        p.update({key: with_data(acc, bytes(acc.data)[:100]), m: good_market})
    with pytest.raises(FundingError, match="undecodable"):
        p.fee(WSOL, 10**9)
    with pytest.raises(DecodeError, match="owner"):
        p.update({key: with_data(acc, bytes(acc.data), owner=Pubkey.new_unique())})
    p.update({key: acc})
    assert p.fee(WSOL, 10**9) == 10_000


def test_reserve_of_another_market_or_mint_is_refused() -> None:
    key, acc = reserve(MAIN)
    config = KaminoConfig(
        reserves={str(WSOL): [ReserveSetting(reserve=str(key), market=str(JITO_MARKET))]}
    )
    p = KaminoFunding(config)
    p.update({key: acc})
    with pytest.raises(FundingError, match=f"belongs to market {MAIN_MARKET}, not the configured"):
        p.fee(WSOL, 10**9)
    other_mint = Pubkey.new_unique()
    p = KaminoFunding(
        KaminoConfig(
            reserves={str(other_mint): [ReserveSetting(reserve=str(key), market=str(MAIN_MARKET))]}
        )
    )
    p.update({key: acc})
    with pytest.raises(FundingError, match=f"lends {WSOL}, not the configured {other_mint}"):
        p.fee(other_mint, 10**9)


def test_stale_state_is_refused_when_an_age_limit_is_set() -> None:
    now = [1000.0]
    key, acc = reserve(MAIN)
    config = KaminoConfig(
        reserves={str(WSOL): [ReserveSetting(reserve=str(key), market=str(MAIN_MARKET))]},
        max_state_age_s=30,
    )
    p = loaded((key, acc), config=config, clock=lambda: now[0])
    assert p.fee(WSOL, 10**9) == 10_000
    now[0] += 31
    with pytest.raises(FundingError, match=r"state is stale: last delivered 31.0 s ago \(limit 30"):
        p.fee(WSOL, 10**9)
    p.update({key: acc, MAIN_MARKET: market_account(bump=market_bump(MAIN_MARKET))})
    assert p.fee(WSOL, 10**9) == 10_000


@pytest.mark.parametrize("offset", [-1, 256])
def test_borrow_index_must_fit_a_u8(offset: int) -> None:
    with pytest.raises(FundingError, match=r"can only name indexes 0\.\.255"):
        _wrap(loaded(reserve(MAIN)), 10**9, instruction_offset=offset)


def test_user_account_may_not_be_the_supply_vault() -> None:
    p = loaded(reserve(MAIN))
    vault = Pubkey.from_string("GafNuUXj9rxGLn4y79dPu6MHSuPWeJR6UtTWuexpGh3U")
    with pytest.raises(FundingError, match="is the reserve's supply vault"):
        _wrap(p, 10**12, user_token_account=vault)


def test_a_second_flash_loan_inside_is_refused() -> None:
    p = loaded(reserve(MAIN))
    nested = Instruction(KLEND_PROGRAM_ID, FLASH_BORROW_DISCRIMINATOR + bytes(8), [])
    with pytest.raises(FundingError, match="instruction 1 is already a klend flash"):
        p.wrap(
            [Instruction(Pubkey.new_unique(), b"", []), nested],
            mint=WSOL,
            amount=10**9,
            user=USER,
            user_token_account=ATA,
        )


def test_reserve_configured_twice_is_a_config_error() -> None:
    s = ReserveSetting(reserve=str(MAIN_MARKET_SOL_RESERVE), market=str(MAIN_MARKET))
    with pytest.raises(ValueError, match="configured twice"):
        KaminoFunding(KaminoConfig(reserves={str(WSOL): [s, s]}))


def test_accounts_it_does_not_follow_are_ignored() -> None:
    p = loaded(reserve(MAIN))
    p.update({Pubkey.new_unique(): None})
    assert p.fee(WSOL, 10**9) == 10_000


def test_new_vaults_rebuild_the_accounts() -> None:
    key, acc = reserve(MAIN)
    p = loaded((key, acc))
    before = _wrap(p, 10**9).instructions[0].accounts[7].pubkey
    vault = Pubkey.new_unique()
    p.update({key: patched(acc, 192, bytes(vault))})
    after = _wrap(p, 10**9).instructions[0].accounts[7].pubkey
    assert str(before) == "3JNof8s453bwG5UqiXBLJc77NRQXezYYEBbk3fqnoKph" and after == vault
