"""Pools and a lender whose instructions LiteSVM can run, to execute the executor's envelope.

No DEX or lending program binary is available here, so the envelope (compute budget, token
accounts, wrapping and unwrapping SOL, a flash loan's placement, the tip) is run around swaps
and loans made of SPL Token and System transfers: a pool's vaults are token accounts the
trader owns, so a swap is "pay into one vault, take out of the other", signed by the trader
alone. The amounts are the pool's fixed rate, so every balance after the transaction is known
to the lamport. A ``native`` pool takes its SOL as lamports of the wallet, as stake pools do.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from lstarb_sdk import FundedInstructions, FundingProvider, PoolAdapter, Quote, SwapInstructions
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import TOKEN_PROGRAM_ID, WSOL_MINT
from lstarb_sdk.types import PoolSummary, SwapParams

VAULT_PROGRAM = Pubkey.create_with_seed(Pubkey.default(), "vault-pools", Pubkey.default())
_LAYOUT = struct.Struct("<32s32s32s32sQQB")


def token_transfer(source: Pubkey, destination: Pubkey, owner: Pubkey, amount: int) -> Instruction:
    """SPL Token Transfer (instruction 3)."""
    return Instruction(
        TOKEN_PROGRAM_ID,
        bytes([3]) + amount.to_bytes(8, "little"),
        [
            AccountMeta(source, False, True),
            AccountMeta(destination, False, True),
            AccountMeta(owner, True, False),
        ],
    )


def pool_account(
    mint_a: Pubkey,
    mint_b: Pubkey,
    vault_a: Pubkey,
    vault_b: Pubkey,
    rate: tuple[int, int],
    *,
    native: bool = False,
) -> Account:
    """A pool: b out = a in x rate[0] / rate[1] (and back at the inverse rate)."""
    data = _LAYOUT.pack(
        bytes(mint_a), bytes(mint_b), bytes(vault_a), bytes(vault_b), *rate, int(native)
    )
    return Account(1_000_000, data, VAULT_PROGRAM)


class VaultPool(PoolAdapter):
    program_id: ClassVar[Pubkey] = VAULT_PROGRAM
    dex: ClassVar[str] = "vault-test"

    def __init__(self, address: Pubkey, data: bytes) -> None:
        a, b, va, vb, num, den, native = _LAYOUT.unpack(data[: _LAYOUT.size])
        self._address = address
        self._mints = (Pubkey.from_bytes(a), Pubkey.from_bytes(b))
        self.vaults = (Pubkey.from_bytes(va), Pubkey.from_bytes(vb))
        self.rate = (num, den)
        self.native = bool(native)

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> VaultPool:
        return cls(address, bytes(account.data))

    @property
    def address(self) -> Pubkey:
        return self._address

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._mints

    def accounts_to_update(self) -> list[Pubkey]:
        return [self._address]

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        account = accounts.get(self._address)
        if account is not None:
            self.__init__(self._address, bytes(account.data))  # type: ignore[misc]

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        num, den = self.rate
        if input_mint == self._mints[0]:
            return Quote(amount, amount * num // den, 0)
        if input_mint == self._mints[1]:
            return Quote(amount, amount * den // num, 0)
        raise QuoteError(f"vault pool {self._address}: mint {input_mint} is not traded")

    def summary(self) -> PoolSummary | None:
        return PoolSummary(0, 0, 0, 0)

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        out = self.quote(params.amount, params.input_mint).out_amount
        if out < params.other_amount_threshold:
            raise QuoteError(f"{out} out is below the minimum {params.other_amount_threshold}")
        a_in = params.input_mint == self._mints[0]
        vault_in, vault_out = self.vaults if a_in else self.vaults[::-1]
        user = params.user
        if self.native and params.input_mint == WSOL_MINT:
            pay = transfer(
                TransferParams(from_pubkey=user, to_pubkey=vault_in, lamports=params.amount)
            )
        else:
            pay = token_transfer(params.user_source_token, vault_in, user, params.amount)
        take = token_transfer(vault_out, params.user_destination_token, user, out)
        return SwapInstructions([pay, take])


class VaultLender(FundingProvider):
    """Lends wSOL from a token account the trader owns, for a fee of ``fee`` lamports."""

    name = "vault-lender"

    def __init__(self, vault: Pubkey, fee: int) -> None:
        self.vault = vault
        self._fee = fee

    def supports(self, mint: Pubkey) -> bool:
        return mint == WSOL_MINT

    def fee(self, mint: Pubkey, amount: int) -> int:
        return self._fee

    def wrap(
        self,
        instructions: Sequence[Instruction],
        *,
        mint: Pubkey,
        amount: int,
        user: Pubkey,
        user_token_account: Pubkey,
        instruction_offset: int = 0,
    ) -> FundedInstructions:
        borrow = token_transfer(self.vault, user_token_account, user, amount)
        repay = token_transfer(user_token_account, self.vault, user, amount + self._fee)
        return FundedInstructions(
            [borrow, *instructions, repay],
            self._fee,
            borrow_index=instruction_offset,
            repay_amount=amount + self._fee,
        )
