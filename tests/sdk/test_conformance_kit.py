"""The conformance kit fails on an adapter built to break each law, and passes a good one.

The good adapter is Raydium's CPMM adapter on its real fixture pool; each
broken one subclasses it and breaks exactly one thing. A kit that let any of
them through would be a kit that checks nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_raydium.cpmm import CpmmPool
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.testing import (
    LAWS,
    AdapterConformance,
    ConformanceError,
    KitOptions,
    LawNotChecked,
    check_adapter,
    check_bounded,
    check_monotonic,
    check_round_trip,
    load_dir,
    run_laws,
)
from lstarb_sdk.testing.conformance import Subject
from lstarb_sdk.types import PoolSummary, Quote, SwapInstructions, SwapParams

FIXTURES = Path(__file__).parents[2] / "plugins" / "raydium" / "tests" / "fixtures"
POOL = Pubkey.from_string("7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny")
ACCOUNTS = load_dir(FIXTURES / "cpmm")
IDL = json.loads((FIXTURES / "idl" / "raydium_cp_swap.json").read_text())


def _run(adapter: type[PoolAdapter], law: str, **options: object) -> list[str]:
    """The failures the kit reports for one law (empty when it passed)."""
    opts = KitOptions(idl=IDL, **options)  # type: ignore[arg-type]
    report = run_laws(Subject(adapter, POOL, ACCOUNTS, opts), [law])
    (result,) = report.results
    assert result.skipped is None
    if result.passed:
        return []
    return result.failures or ["checked nothing"]


# -- the good adapter passes everything ------------------------------------------------------


def test_the_real_adapter_passes_every_law() -> None:
    report = check_adapter(CpmmPool, POOL, ACCOUNTS, idl=IDL)
    assert [r.law for r in report.results] == list(LAWS)
    assert all(r.passed and r.checks > 0 for r in report.results), str(report)


class TestCpmmAsASuite(AdapterConformance):
    """The pytest form: one test per law, collected from the base class."""

    adapter = CpmmPool
    pool = POOL
    accounts = ACCOUNTS
    idl = IDL


# -- one broken adapter per law --------------------------------------------------------------


class MatchesAnything(CpmmPool):
    @classmethod
    def matches(cls, account: Account) -> bool:
        return True


class SwallowsDecodeErrors(CpmmPool):
    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        with contextlib.suppress(DecodeError):
            super().update(accounts)


class CommitsBeforeChecking(CpmmPool):
    """Applies the accounts one by one, so a bad one leaves the good ones committed."""

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        for key, account in accounts.items():
            super().update({key: account})


class NoneIsNoNews(CpmmPool):
    """Reads None as 'no news' and keeps quoting on the vanished account's last bytes."""

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        super().update({k: v for k, v in accounts.items() if v is not None})


class CrashesOnNone(CpmmPool):
    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        for account in accounts.values():
            assert account is not None
            account.owner  # noqa: B018 - the AttributeError of a None account
        super().update(accounts)


class HidesADependency(CpmmPool):
    """Quotes from the vaults but does not list them."""

    def accounts_to_update(self) -> list[Pubkey]:
        return super().accounts_to_update()[:2]


class NoSummary(CpmmPool):
    def summary(self) -> PoolSummary | None:
        return None


class NotMonotonic(CpmmPool):
    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        q = super().quote(amount, input_mint, exact_in=exact_in)
        if exact_in and amount >= 10**6 and amount % 10 == 0:
            return Quote(q.in_amount, q.out_amount // 2, q.fee_amount, q.fee_mint)
        return q


class AsksOneUnitTooMany(CpmmPool):
    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        q = super().quote(amount, input_mint, exact_in=exact_in)
        if not exact_in:
            return Quote(q.in_amount + 1, q.out_amount, q.fee_amount, q.fee_mint)
        return q


class ValueErrorOnZero(CpmmPool):
    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        if amount == 0:
            raise ValueError("amount must be positive")
        return super().quote(amount, input_mint, exact_in=exact_in)


class IndexesByAByte(CpmmPool):
    """Looks a byte up in a table without checking it, as decoders too often do."""

    _CREATOR_FEE_ON: ClassVar[tuple[str, ...]] = ("both", "token0", "token1")

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> CpmmPool:
        cls._CREATOR_FEE_ON[account.data[389]]
        return super().from_account(address, account)


class HangsOnABadConfig(CpmmPool):
    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        config = accounts.get(self.pool_state.amm_config)
        if config is not None and len(config.data) == 100:
            while True:
                pass
        super().update(accounts)


class ReadOnlyPool(CpmmPool):
    """Passes the pool account read-only: the program writes it, so the swap would fail."""

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        (ix,) = super().swap_instruction(params).instructions
        metas = [AccountMeta(m.pubkey, m.is_signer, m.pubkey != self.address and m.is_writable)
                 for m in ix.accounts]  # fmt: skip
        return SwapInstructions([Instruction(ix.program_id, bytes(ix.data), metas)])


class WrongAuthority(CpmmPool):
    """Passes the pool's creator where the program's authority PDA belongs."""

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        (ix,) = super().swap_instruction(params).instructions
        metas = list(ix.accounts)
        metas[1] = AccountMeta(self.pool_state.pool_creator, False, False)
        return SwapInstructions([Instruction(ix.program_id, bytes(ix.data), metas)])


class AmountAndBoundSwapped(CpmmPool):
    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        (ix,) = super().swap_instruction(params).instructions
        data = bytes(ix.data)
        data = data[:8] + data[16:24] + data[8:16]
        return SwapInstructions([Instruction(ix.program_id, data, list(ix.accounts))])


class AlwaysRefuses(CpmmPool):
    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        raise QuoteError("refused")


BROKEN = [
    (MatchesAnything, "identity", "matches() accepts the pool under another owner"),
    (SwallowsDecodeErrors, "decode_contract", "update() accepted it"),
    (CommitsBeforeChecking, "decode_contract", "the good one was committed"),
    (NoneIsNoNews, "none_handling", "stale data kept?"),
    (CrashesOnNone, "none_handling", "raised AssertionError"),
    (HidesADependency, "accounts_stable", "hidden dependency"),
    (NoSummary, "summary", "the pool quotes, yet summary() is None"),
    (NotMonotonic, "quote_exact_in", "not monotonic"),
    (AsksOneUnitTooMany, "quote_exact_out", "not the least input"),
    (ValueErrorOnZero, "quote_edges", "ValueError: amount must be positive"),
    (IndexesByAByte, "fuzz", "IndexError"),
    (ReadOnlyPool, "swap_instruction", "account pool_state"),
    (WrongAuthority, "swap_instruction", "the IDL's seeds derive"),
    (AmountAndBoundSwapped, "swap_instruction", "argument amount_in ="),
]


@pytest.mark.parametrize(("adapter", "law", "message"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_the_kit_fails_a_broken_adapter(adapter: type[PoolAdapter], law: str, message: str) -> None:
    failures = _run(adapter, law, budget=40)
    assert failures, f"{adapter.__name__} passed {law}"
    assert any(message in f for f in failures), failures


def test_every_law_has_a_broken_adapter() -> None:
    assert {law for _, law, _ in BROKEN} == set(LAWS)


def test_a_hang_is_reported_not_waited_for() -> None:
    failures = _run(HangsOnABadConfig, "fuzz", budget=0, call_timeout=0.2)
    assert any("did not return within 0.2 s" in f for f in failures), failures


# -- a law that checked nothing fails --------------------------------------------------------


def test_quote_laws_that_check_nothing_fail() -> None:
    assert any("checked nothing" in f for f in _run(AlwaysRefuses, "quote_exact_in"))
    assert any("checked nothing" in f for f in _run(AlwaysRefuses, "quote_exact_out"))
    assert any("no swap instruction" in f for f in _run(AlwaysRefuses, "swap_instruction"))
    assert any("no quote succeeds" in f for f in _run(AlwaysRefuses, "summary"))


def test_missing_idl_fails_unless_skipped_with_a_reason() -> None:
    report = run_laws(Subject(CpmmPool, POOL, ACCOUNTS, KitOptions()), ["swap_instruction"])
    assert report.failed and "no IDL given" in report.results[0].failures[0]
    skipped = run_laws(
        Subject(CpmmPool, POOL, ACCOUNTS, KitOptions(skip={"swap_instruction": "no IDL"})),
        ["swap_instruction"],
    )
    assert not skipped.failed and "skipped: no IDL" in str(skipped)
    with pytest.raises(ValueError, match="unknown law"):
        check_adapter(CpmmPool, POOL, ACCOUNTS, skip={"swap_instructions": "typo"})


def test_check_adapter_raises_with_the_whole_report() -> None:
    with pytest.raises(ConformanceError) as err:
        check_adapter(NoSummary, POOL, ACCOUNTS, idl=IDL, laws=["summary", "identity"])
    text = str(err.value)
    assert "summary" in text and "FAILED" in text and "identity" in text


# -- the single-example laws under hypothesis ------------------------------------------------

REFUSING = AlwaysRefuses.from_account(POOL, ACCOUNTS[POOL])
REFUSING.update(ACCOUNTS)
MINT = REFUSING.mints[0]


@settings(max_examples=20, deadline=None)
@given(a=st.integers(1, 10**9), b=st.integers(1, 10**9))
def _monotonic_on_refusals(a: int, b: int) -> None:
    check_monotonic(REFUSING, MINT, min(a, b), max(a, b))


@settings(max_examples=20, deadline=None)
@given(a=st.integers(1, 10**9))
def _round_trip_on_refusals(a: int) -> None:
    check_round_trip(REFUSING, MINT, a)


@settings(max_examples=20, deadline=None)
@given(a=st.integers(1, 10**9))
def _bounded_on_refusals(a: int) -> None:
    check_bounded(REFUSING, MINT, a, 10**18)


@pytest.mark.parametrize(
    "prop", [_monotonic_on_refusals, _round_trip_on_refusals, _bounded_on_refusals]
)
def test_property_laws_fail_when_every_quote_is_refused(prop: object) -> None:
    with pytest.raises((Unsatisfiable, FailedHealthCheck)):
        prop()  # type: ignore[operator]


def test_outside_hypothesis_a_refusal_is_an_error() -> None:
    with pytest.raises(LawNotChecked, match="refused"):
        check_monotonic(REFUSING, MINT, 1, 2)
