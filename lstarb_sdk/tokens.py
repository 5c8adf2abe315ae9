"""Well-known mints: SOL (wrapped), the USD stablecoins and the liquid staking tokens.

Why a table in the SDK: with no pools named in the configuration, the scanner follows the
pools whose two mints are both "of interest", and a data source discovers them by mint
(:meth:`~lstarb_sdk.PoolAdapter.discovery_filters`, :meth:`~lstarb_sdk.DataSource.discover`).
:data:`MINTS_OF_INTEREST` is that default; a configuration may name others.

The LSTs are the Sanctum LST list's main tokens (igneous-labs/sanctum-lst-list,
``sanctum-lst-list.toml`` @ 8b33c8c3); decimals are the mint accounts' ``decimals`` byte
(checked against the mint dumps of the bundled market in ``tests/sdk/test_tokens.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_sdk.solana import TOKEN_PROGRAM_ID, WSOL_MINT


@dataclass(frozen=True, slots=True)
class Token:
    """One mint as traders name it."""

    symbol: str
    mint: Pubkey
    decimals: int
    name: str
    token_program: Pubkey = TOKEN_PROGRAM_ID
    liquid_staking: bool = False


def _lst(symbol: str, mint: str, name: str) -> Token:
    return Token(symbol, Pubkey.from_string(mint), 9, name, liquid_staking=True)


SOL = Token("SOL", WSOL_MINT, 9, "Wrapped SOL")
USDC_MINT = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
USDT_MINT = Pubkey.from_string("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB")
USDC = Token("USDC", USDC_MINT, 6, "USD Coin")
USDT = Token("USDT", USDT_MINT, 6, "Tether USD")

LIQUID_STAKING_TOKENS: tuple[Token, ...] = (
    _lst("JitoSOL", "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn", "Jito Staked SOL"),
    _lst("mSOL", "mSoLzYCxHdYgdzU16g5QSh3i5K3z3KZK7ytfqcJm7So", "Marinade staked SOL"),
    _lst("bSOL", "bSo13r4TkiE4KumL71LsHTPpL2euBYLFx6h9HP3piy1", "BlazeStake Staked SOL"),
    _lst("jupSOL", "jupSoLaHXQiZZTSfEWMTRRgpnyFm8f6sZdosWBjx93v", "Jupiter Staked SOL"),
    _lst("INF", "5oVNBeEEQvYi1cX3ir8Dx5n1P7pdxydbGF2X4TxVusJm", "Infinity"),
    _lst("JSOL", "7Q2afV64in6N6SeZsAAB81TJzwDoD6zpqmHkzi9Dcavn", "JPOOL Solana Token"),
    _lst("hSOL", "he1iusmfkpAdwvxLNGV8Y1iSbj4rUy6yMhEA3fotn9A", "Helius Staked SOL"),
    _lst("dSOL", "Dso1bDeDjCQxTrWHqUUi63oBvV7Mdm6WaobLbQ7gnPQ", "Drift Staked SOL"),
    _lst("vSOL", "vSoLxydx6akxyMD9XEcPvGYNGq6Nn66oqVb3UkGkei7", "The Vault"),
    _lst("bonkSOL", "BonK1YhkXEGLZzwtcvRTip3gAL9nCeQD7ppZBLXhtTs", "bonkSOL"),
    _lst("laineSOL", "LAinEtNLgpmCP9Rvsf5Hn8W6EhNiKLZQti1xfWMLy6X", "Laine Stake Token"),
    _lst("bbSOL", "Bybit2vBJGhPF52GBdNaQfUJ6ZpThSgHBobjWZpLPb4B", "BybitSOL"),
    _lst("BNSOL", "BNso1VUJnh4zcfpZa6986Ea66P6TCp59hvtNJ8b1X85", "Binance Staked SOL"),
    _lst("picoSOL", "picobAEvs6w7QEknPce34wAE4gknZA9v5tTonnmHYdX", "picoSOL"),
    _lst("pwrSOL", "pWrSoLAhue6jUxUkbWgmEy5rD9VJzkFmvfTDV5KgNuu", "Power Staked SOL"),
    _lst("edgeSOL", "edge86g9cVz87xcpKpy3J77vbp4wYd9idEV562CCntt", "Edgevana Staked SOL"),
)

WELL_KNOWN_TOKENS: tuple[Token, ...] = (SOL, USDC, USDT, *LIQUID_STAKING_TOKENS)
"""Every token of this module, SOL first."""

MINTS_OF_INTEREST: tuple[Pubkey, ...] = tuple(t.mint for t in WELL_KNOWN_TOKENS)
"""The default mints whose pools are followed when the configuration names none."""

_BY_MINT: Mapping[Pubkey, Token] = {t.mint: t for t in WELL_KNOWN_TOKENS}
_BY_SYMBOL: Mapping[str, Token] = {t.symbol.lower(): t for t in WELL_KNOWN_TOKENS}


def token_by_mint(mint: Pubkey) -> Token | None:
    """The well-known token of ``mint``, or None."""
    return _BY_MINT.get(mint)


def token_by_symbol(symbol: str) -> Token | None:
    """The well-known token called ``symbol`` (any case; ``wSOL`` is SOL), or None."""
    key = symbol.lower()
    return _BY_SYMBOL.get("sol" if key == "wsol" else key)
