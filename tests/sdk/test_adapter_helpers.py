"""The SDK helpers adapters share instead of each writing their own: discovery filters by
mint, the absent-account check, an update's new state of one key, the transfer-hook
refusal."""

from __future__ import annotations

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk import AccountFilter, QuoteError
from lstarb_sdk.pool import raise_if_absent, updated_account
from lstarb_sdk.solana import TOKEN_2022_PROGRAM_ID
from lstarb_sdk.token2022 import TokenMint, refuse_transfer_hooks

A, B, C = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()


def test_filters_by_mint_one_per_mint_and_field_each_mint_once() -> None:
    found = AccountFilter.by_mint([A, B, A], (8, 40), data_size=100, discriminator=b"\x01\x02")
    assert found == [
        AccountFilter(100, ((0, b"\x01\x02"), (8, bytes(A)))),
        AccountFilter(100, ((0, b"\x01\x02"), (40, bytes(A)))),
        AccountFilter(100, ((0, b"\x01\x02"), (8, bytes(B)))),
        AccountFilter(100, ((0, b"\x01\x02"), (40, bytes(B)))),
    ]
    assert AccountFilter.by_mint(iter([A]), iter((3, 5))) == [
        AccountFilter(None, ((3, bytes(A)),)),
        AccountFilter(None, ((5, bytes(A)),)),
    ]
    data = bytes(8) + bytes(A) + bytes(60)
    assert [f.matches(data) for f in AccountFilter.by_mint([A], (8, 40), data_size=100)] == [
        True,
        False,
    ]


def test_the_first_absent_account_is_named() -> None:
    raise_if_absent("pool X", [("vault A", A), ("vault B", B)], set())
    with pytest.raises(QuoteError, match=f"pool X: vault B {B} does not exist on chain"):
        raise_if_absent("pool X", [("vault A", A), ("vault B", B), ("mint", C)], {B, C})


def test_an_updates_state_of_one_key() -> None:
    account = Account(1, b"", Pubkey.default(), False, 0)
    absent: list[Pubkey] = []
    update = {A: account, B: None}
    assert updated_account(update, A, absent) is account and absent == []
    assert updated_account(update, B, absent) is None and absent == [B]  # the chain has none
    assert updated_account(update, C, absent) is None and absent == [B]  # no news


def test_a_transfer_hook_is_refused_by_name() -> None:
    def mint(hook: Pubkey | None) -> TokenMint:
        return TokenMint(A, TOKEN_2022_PROGRAM_ID, 9, 0, None, hook, 82)

    refuse_transfer_hooks("pool X", [None, mint(None)])
    with pytest.raises(QuoteError, match=f"pool X: mint {A} has transfer hook {C}"):
        refuse_transfer_hooks("pool X", [mint(None), mint(C)])
