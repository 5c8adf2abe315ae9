"""Fair value of every LST from its pricing account, for LSTs with or without a pool adapter.

Reads the token table shipped with the plugin (``lst_tokens.json``: mint,
pricing program and pricing account of each LST, from the Sanctum LST list; the
tokens themselves are :mod:`lstarb_sdk.tokens`')
and decodes each pricing account the way its program prices the token:

- SPL stake pools (three deployments): ``total_lamports / pool_token_supply``,
  valid for ``last_update_epoch``; stale while that is behind the Clock's epoch;
- Marinade State: total virtual staked lamports / mSOL supply;
- Sanctum Infinity PoolState (v1 176 bytes, v2 240 bytes) with the INF mint:
  SOL value due to LPs / INF supply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst.constants import (
    MARINADE_PROGRAM_ID,
    SANCTUM_INFINITY_PROGRAM_ID,
    STAKE_POOL_PROGRAM_IDS,
)
from lstarb_lst.marinade_state import decode_marinade_state
from lstarb_lst.stake_pool_state import decode_stake_pool
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.fair_value import FairValue, FairValueBook
from lstarb_sdk.layout import pubkey_at, u64
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, Clock, Mint
from lstarb_sdk.tokens import token_by_mint


@dataclass(frozen=True, slots=True)
class LstToken:
    symbol: str
    mint: Pubkey
    kind: str  # pool_kind in the table: spl_stake_pool, marinade, sanctum_infinity, ...
    program: Pubkey
    pricing_account: Pubkey


def lst_tokens() -> list[LstToken]:
    """The LSTs the plugin prices (the table shipped with it).

    The table holds only how each LST is priced; what the token is (symbol, decimals) is
    the SDK's :mod:`lstarb_sdk.tokens`, so the two cannot drift apart: a mint the SDK does not
    list as an LST is refused here.
    """
    doc = json.loads((resources.files("lstarb_lst") / "lst_tokens.json").read_text())
    out = []
    for t in doc["tokens"]:
        mint = Pubkey.from_string(t["mint"])
        token = token_by_mint(mint)
        if token is None or not token.liquid_staking:
            raise DecodeError(f"lst_tokens.json: {mint} is not an LST of lstarb_sdk.tokens")
        out.append(
            LstToken(
                token.symbol,
                mint,
                t["pool_kind"],
                Pubkey.from_string(t["pool_program"]),
                Pubkey.from_string(t["stake_pool"]),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class InfinityState:
    """What INF's price needs from the S controller's PoolState."""

    lp_due_lamports: int
    lp_token_mint: Pubkey


def decode_infinity_pool_state(data: bytes) -> InfinityState:
    """PoolState v1 (176 bytes) or v2 (240 bytes); the version byte is at offset 12."""
    if len(data) < 176:
        raise DecodeError(f"Infinity PoolState: {len(data)} bytes, at least 176 expected")
    version = data[12]
    total = u64(data, 0)
    mint = pubkey_at(data, 144)
    if version == 1:
        return InfinityState(total, mint)
    if version == 2:
        if len(data) < 240:
            raise DecodeError(f"Infinity PoolState v2: {len(data)} bytes, 240 expected")
        withheld = u64(data, 216)
        protocol = u64(data, 224)
        return InfinityState(max(total - withheld - protocol, 0), mint)
    raise DecodeError(f"Infinity PoolState: unknown version {version}")


class FairValueTracker:
    """Follows the pricing accounts of every LST in the table and keeps a FairValueBook."""

    def __init__(self, tokens: list[LstToken] | None = None) -> None:
        self.tokens = lst_tokens() if tokens is None else tokens
        self.book = FairValueBook()
        self._by_account = {t.pricing_account: t for t in self.tokens}
        self._epoch: int | None = None
        self._inf: dict[Pubkey, tuple[LstToken, InfinityState | None, int | None]] = {}
        for t in self.tokens:
            if t.kind == "sanctum_infinity":
                self._inf[t.mint] = (t, None, None)
        self.errors: dict[Pubkey, str] = {}

    def accounts(self) -> list[Pubkey]:
        """Every account fair values are read from (pricing accounts, INF mints, the Clock)."""
        return [*self._by_account, *self._inf, SYSVAR_CLOCK_ID]

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> list[Pubkey]:
        """Take fresh accounts; returns the mints whose fair value changed. Bad bytes are
        recorded in ``errors`` (by account) and skipped: one broken account never stops the rest."""
        changed: list[Pubkey] = []
        clock = accounts.get(SYSVAR_CLOCK_ID)
        if clock is not None:
            try:
                self._epoch = Clock.from_account(clock).epoch
            except DecodeError as exc:
                self.errors[SYSVAR_CLOCK_ID] = str(exc)
            else:
                changed.extend(self._restale())
        for key, account in accounts.items():
            if account is None or key == SYSVAR_CLOCK_ID:
                continue
            try:
                mint = self._read(key, account)
            except DecodeError as exc:
                self.errors[key] = str(exc)
                continue
            self.errors.pop(key, None)
            if mint is not None:
                changed.append(mint)
        return changed

    def _restale(self) -> list[Pubkey]:
        out = []
        for fv in list(self.book):
            if fv.epoch is not None and self._epoch is not None:
                stale = fv.epoch < self._epoch
                if stale != fv.stale:
                    self.book.put(
                        FairValue(fv.mint, fv.lamports, fv.tokens, fv.epoch, stale, fv.source)
                    )
                    out.append(fv.mint)
        return out

    def _read(self, key: Pubkey, account: Account) -> Pubkey | None:
        token = self._by_account.get(key)
        data = bytes(account.data)
        if token is not None:
            if account.owner != token.program:
                raise DecodeError(f"{token.symbol} pricing account {key}: owner {account.owner}")
            if token.program in STAKE_POOL_PROGRAM_IDS:
                pool = decode_stake_pool(data)
                stale = self._epoch is not None and pool.last_update_epoch < self._epoch
                value = FairValue(
                    pool.pool_mint,
                    pool.total_lamports,
                    pool.pool_token_supply,
                    pool.last_update_epoch,
                    stale,
                    key,
                )
            elif token.program == MARINADE_PROGRAM_ID:
                s = decode_marinade_state(data)
                value = FairValue(
                    s.msol_mint, s.total_virtual_staked_lamports, s.msol_supply, None, False, key
                )
            elif token.program == SANCTUM_INFINITY_PROGRAM_ID:
                state = decode_infinity_pool_state(data)
                _, _, supply = self._inf[token.mint]
                self._inf[token.mint] = (token, state, supply)
                return self._put_inf(token.mint)
            else:
                return None
            self.book.put(value)
            return value.mint
        if key in self._inf:
            token, state, _ = self._inf[key]
            supply = Mint.decode(data, name=f"{token.symbol} mint").supply
            self._inf[key] = (token, state, supply)
            return self._put_inf(key)
        return None

    def _put_inf(self, mint: Pubkey) -> Pubkey | None:
        token, state, supply = self._inf[mint]
        if state is None or supply is None:
            return None
        self.book.put(
            FairValue(mint, state.lp_due_lamports, supply, None, False, token.pricing_account)
        )
        return mint
