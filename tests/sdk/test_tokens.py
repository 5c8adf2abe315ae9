"""The well-known token table against real mint accounts and the lst plugin's list."""

from __future__ import annotations

import json
from pathlib import Path

from solders.pubkey import Pubkey

from lstarb_lst.pricing import lst_tokens
from lstarb_runtime.builtin.replay import bundled_market, load_market
from lstarb_sdk.solana import TOKEN_PROGRAMS, Mint
from lstarb_sdk.tokens import (
    LIQUID_STAKING_TOKENS,
    MINTS_OF_INTEREST,
    SOL,
    USDC,
    USDT,
    WELL_KNOWN_TOKENS,
    token_by_mint,
    token_by_symbol,
)

ROOT = Path(__file__).resolve().parents[2]


def test_decimals_and_programs_match_the_mint_accounts_of_the_bundled_market() -> None:
    accounts = load_market(bundled_market())
    checked = []
    for token in WELL_KNOWN_TOKENS:
        account = accounts.get(token.mint)
        if account is None or account.owner not in TOKEN_PROGRAMS or len(account.data) < 82:
            continue
        assert account.owner == token.token_program, token.symbol
        assert Mint.decode(bytes(account.data)).decimals == token.decimals, token.symbol
        checked.append(token.symbol)
    # the bundled market holds these mints; a table that drifted from them fails here
    assert {"SOL", "USDC", "JitoSOL", "mSOL", "bSOL", "INF"} <= set(checked)


def test_the_lst_plugin_prices_exactly_the_sdks_lsts() -> None:
    """The plugin's table holds only how each LST is priced; the tokens are the SDK's."""
    doc = json.loads((ROOT / "plugins/lst/lstarb_lst/lst_tokens.json").read_text())
    listed = {t["mint"] for t in doc["tokens"]}
    assert {str(t.mint) for t in LIQUID_STAKING_TOKENS} == listed
    for entry in doc["tokens"]:
        assert not {"symbol", "decimals", "name", "token_program"} & entry.keys(), entry
    priced = lst_tokens()
    assert [t.symbol for t in priced] == [token_by_mint(t.mint).symbol for t in priced]  # type: ignore[union-attr]


def test_mints_of_interest_and_lookups() -> None:
    assert MINTS_OF_INTEREST[:3] == (SOL.mint, USDC.mint, USDT.mint)
    assert len(set(MINTS_OF_INTEREST)) == len(MINTS_OF_INTEREST) == 3 + len(LIQUID_STAKING_TOKENS)
    assert token_by_mint(USDT.mint) is USDT and USDT.decimals == 6
    assert token_by_symbol("jitosol") is token_by_mint(
        Pubkey.from_string("J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn")
    )
    assert token_by_symbol("wSOL") is SOL and token_by_symbol("SOL") is SOL
    assert token_by_symbol("nope") is None and token_by_mint(Pubkey.default()) is None
    assert all(t.liquid_staking for t in LIQUID_STAKING_TOKENS) and not USDC.liquid_staking
