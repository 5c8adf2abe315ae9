"""A DEX adapter to learn from: Raydium CPMM pools of two SPL Token mints, quoted exactly.

Kept small on purpose (the production adapter, with Token-2022 transfer fees
and creator fees, is ``lstarb-plugin-raydium``): every part a real adapter
needs is here once. The pool account is checked by the class attributes
(owner, size, discriminator); fields are read at fixed offsets; ``update``
decodes the whole batch before it commits anything and treats an account
mapped to None as gone from the chain; quotes are the program's integer math
(``CurveCalculator`` with the trade fee rounded up); ``summary`` and
``discovery_filters`` are cheap. ``tests/test_conformance.py`` runs the SDK's
conformance kit on it in one call.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_sdk import PoolAdapter, PoolSummary, Quote, SwapInstructions, SwapParams
from lstarb_sdk.amounts import PPM_DENOMINATOR, U64_MAX, ceil_div, check_amount
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.layout import account_data, pubkey_at
from lstarb_sdk.pool import account_unavailable
from lstarb_sdk.solana import TOKEN_PROGRAM_ID, vault_amount
from lstarb_sdk.types import AccountFilter

PROGRAM_ID = Pubkey.from_string("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C")
POOL_DISCRIMINATOR = bytes.fromhex("f7ede3f5d7c3de46")
CONFIG_DISCRIMINATOR = bytes.fromhex("daf42168cbcb2b6f")
POOL_LEN, CONFIG_LEN = 637, 236
AUTHORITY = Pubkey.find_program_address([b"vault_and_lp_mint_auth_seed"], PROGRAM_ID)[0]
SWAP_BASE_INPUT = bytes([143, 190, 90, 218, 196, 30, 51, 222])
SWAP_BASE_OUTPUT = bytes([55, 217, 98, 86, 163, 74, 180, 173])
MINT_OFFSETS = (168, 200)
# status @329; protocol, fund fees owed @341..373; enable_creator_fee @390; creator fees owed @397.
_POOL_NUMBERS = struct.Struct("<B11xQQQQ")
_OWED_CREATOR = struct.Struct("<QQ")


@dataclass(frozen=True, slots=True)
class CpmmState:
    """What a quote and a swap instruction read from the pool account."""

    amm_config: Pubkey
    vaults: tuple[Pubkey, Pubkey]
    mints: tuple[Pubkey, Pubkey]
    observation: Pubkey
    status: int
    owed: tuple[int, int]

    @classmethod
    def decode(cls, data: bytes) -> CpmmState:
        for offset in (232, 264):  # token_0_program, token_1_program
            if data[offset : offset + 32] != bytes(TOKEN_PROGRAM_ID):
                raise DecodeError("example-cpmm: only pools of two SPL Token mints are supported")
        if data[390] != 0:
            raise DecodeError("example-cpmm: pools with a creator fee are not supported")
        status, p0, p1, f0, f1 = _POOL_NUMBERS.unpack_from(data, 329)
        c0, c1 = _OWED_CREATOR.unpack_from(data, 397)
        return cls(
            pubkey_at(data, 8),
            (pubkey_at(data, 72), pubkey_at(data, 104)),
            (pubkey_at(data, 168), pubkey_at(data, 200)),
            pubkey_at(data, 296),
            status,
            (p0 + f0 + c0, p1 + f1 + c1),
        )


class ExampleCpmmPool(PoolAdapter):
    """One Raydium CPMM pool of two SPL Token mints."""

    program_id: ClassVar[Pubkey] = PROGRAM_ID
    dex: ClassVar[str] = "example-cpmm"
    account_size: ClassVar[int | None] = POOL_LEN
    account_discriminator: ClassVar[bytes | None] = POOL_DISCRIMINATOR

    def __init__(self, address: Pubkey, state: CpmmState) -> None:
        self._address = address
        self._tag = f"{self.dex} pool {address}"
        self._state = state
        self._fee_rate: int | None = None  # trade fee, parts per million (AmmConfig)
        self._vault: list[int | None] = [None, None]
        self._absent: set[Pubkey] = set()  # accounts the chain reported missing

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> ExampleCpmmPool:
        return cls(address, CpmmState.decode(cls.pool_account_data(address, account)))

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        return [
            AccountFilter(POOL_LEN, ((0, POOL_DISCRIMINATOR), (offset, bytes(mint))))
            for mint in mints
            for offset in MINT_OFFSETS
        ]

    @property
    def address(self) -> Pubkey:
        return self._address

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._state.mints

    def accounts_to_update(self) -> list[Pubkey]:
        return [self._address, self._state.amm_config, *self._state.vaults]

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        s = self._state
        state, fee_rate, vaults = None, None, {}
        if (acc := accounts.get(self._address)) is not None:
            state = CpmmState.decode(self.pool_account_data(self._address, acc))
            if (state.amm_config, state.vaults, state.mints) != (s.amm_config, s.vaults, s.mints):
                raise DecodeError(f"{self._tag}: its config, vaults or mints changed")
        if (acc := accounts.get(s.amm_config)) is not None:
            data = account_data(
                acc, f"{self.dex} amm_config", owner=PROGRAM_ID, size=CONFIG_LEN,
                discriminator=CONFIG_DISCRIMINATOR,
            )  # fmt: skip
            fee_rate = int.from_bytes(data[12:20], "little")
            if fee_rate >= PPM_DENOMINATOR:
                raise DecodeError(
                    f"{self.dex} amm_config: trade fee {fee_rate} ppm is not below 100%"
                )
        for i, key in enumerate(s.vaults):
            if (acc := accounts.get(key)) is not None:
                if acc.owner != TOKEN_PROGRAM_ID:
                    raise DecodeError(f"{self.dex} vault {key}: owner {acc.owner} is not SPL Token")
                vaults[i] = vault_amount(acc, f"{self.dex} vault {key}", s.mints[i])
        # Everything decoded: commit. Keys mapped to None are gone from the chain.
        self._state = state or s
        self._fee_rate = fee_rate if fee_rate is not None else self._fee_rate
        for i, amount in vaults.items():
            self._vault[i] = amount
        self._absent.difference_update(accounts)
        for key, acc in accounts.items():
            if acc is None:
                self._absent.add(key)
                if key == s.amm_config:
                    self._fee_rate = None
                elif key in s.vaults:
                    self._vault[s.vaults.index(key)] = None

    def _reserves_and_fee(self) -> tuple[int, int, int]:
        """``(reserve_0, reserve_1, fee_rate)``, or QuoteError naming what is missing."""
        s = self._state
        if self._address in self._absent:
            raise account_unavailable(self._tag, "pool", self._address, self._absent)
        if self._fee_rate is None:
            raise account_unavailable(self._tag, "amm_config", s.amm_config, self._absent)
        reserves = []
        for i, key in enumerate(s.vaults):
            amount = self._vault[i]
            if amount is None:
                raise account_unavailable(self._tag, "vault", key, self._absent)
            reserves.append(amount - s.owed[i])
        if min(reserves) < 0:
            raise QuoteError(f"{self._tag}: owed fees exceed a vault balance")
        if s.status & 4:
            raise QuoteError(f"{self._tag}: swaps are disabled (status {s.status})")
        return reserves[0], reserves[1], self._fee_rate

    def summary(self) -> PoolSummary | None:
        try:
            r0, r1, fee = self._reserves_and_fee()
        except QuoteError:
            return None
        return PoolSummary(r0, r1, 0, fee)

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        if input_mint not in self.mints:
            raise QuoteError(f"{self._tag}: mint {input_mint} is not one of its mints")
        r0, r1, fee_rate = self._reserves_and_fee()
        if not 0 < amount <= U64_MAX:
            check_amount(amount, self._tag)  # raises, naming the amount
        r_in, r_out = (r0, r1) if input_mint == self.mints[0] else (r1, r0)
        if exact_in:
            fee = ceil_div(amount * fee_rate, PPM_DENOMINATOR)
            out = (amount - fee) * r_out // (r_in + amount - fee)
            if out == 0:
                raise QuoteError(f"{self._tag}: too small input (output is 0)")
            return Quote(amount, out, fee, input_mint)
        if amount >= r_out:
            raise QuoteError(f"{self._tag}: not enough liquidity (reserve {r_out})")
        swapped = ceil_div(r_in * amount, r_out - amount)
        total = ceil_div(swapped * PPM_DENOMINATOR, PPM_DENOMINATOR - fee_rate)
        if total > U64_MAX:
            raise QuoteError(f"{self._tag}: input exceeds u64")
        return Quote(total, amount, total - swapped, input_mint)

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """``swap_base_input`` / ``swap_base_output`` with the IDL's 13 accounts, in order."""
        s = self._state
        if params.input_mint not in self.mints:
            raise QuoteError(f"{self._tag}: mint {params.input_mint} is not one of its mints")
        i, o = (0, 1) if params.input_mint == self.mints[0] else (1, 0)
        metas = [
            AccountMeta(params.user, True, False),
            AccountMeta(AUTHORITY, False, False),
            AccountMeta(s.amm_config, False, False),
            AccountMeta(self._address, False, True),
            AccountMeta(params.user_source_token, False, True),
            AccountMeta(params.user_destination_token, False, True),
            AccountMeta(s.vaults[i], False, True),
            AccountMeta(s.vaults[o], False, True),
            AccountMeta(TOKEN_PROGRAM_ID, False, False),
            AccountMeta(TOKEN_PROGRAM_ID, False, False),
            AccountMeta(s.mints[i], False, False),
            AccountMeta(s.mints[o], False, False),
            AccountMeta(s.observation, False, True),
        ]
        amount = params.amount.to_bytes(8, "little")
        bound = params.other_amount_threshold.to_bytes(8, "little")
        data = (
            SWAP_BASE_INPUT + amount + bound
            if params.exact_in
            else SWAP_BASE_OUTPUT + bound + amount
        )
        return SwapInstructions([Instruction(PROGRAM_ID, data, metas)])
