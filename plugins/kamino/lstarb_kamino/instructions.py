"""``flash_borrow_reserve_liquidity`` / ``flash_repay_reserve_liquidity`` instructions.

Both take the same twelve accounts in the same order (the program checks the
repay lists exactly the borrow's keys): user transfer authority (signer),
lending market authority, lending market, reserve (writable), liquidity mint,
supply vault (writable), the user's token account (writable), fee vault
(writable), referrer token state and referrer account (optional: absent ones
are the klend program id itself, read-only, as Anchor expects), the
Instructions sysvar, and the token program that owns the mint.

The reserve-dependent metas are built once per reserve (:class:`ReserveMetas`);
a loan only adds the two user metas and the amount bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_kamino.constants import (
    FLASH_BORROW_DISCRIMINATOR,
    FLASH_REPAY_DISCRIMINATOR,
    KLEND_PROGRAM_ID,
    SYSVAR_INSTRUCTIONS_ID,
    lending_market_authority,
    referrer_token_state,
)
from lstarb_kamino.state import Reserve


@dataclass(frozen=True, slots=True)
class ReserveMetas:
    """The account metas of a reserve around the two user slots (#0 and #6)."""

    program_id: Pubkey
    head: tuple[AccountMeta, ...]  # accounts 1..5
    tail: tuple[AccountMeta, ...]  # accounts 7..11

    @classmethod
    def build(
        cls,
        reserve_address: Pubkey,
        reserve: Reserve,
        *,
        referrer: Pubkey | None = None,
        program_id: Pubkey = KLEND_PROGRAM_ID,
    ) -> ReserveMetas:
        market = reserve.lending_market
        head = (
            AccountMeta(lending_market_authority(market, program_id), False, False),
            AccountMeta(market, False, False),
            AccountMeta(reserve_address, False, True),
            AccountMeta(reserve.liquidity_mint, False, False),
            AccountMeta(reserve.supply_vault, False, True),
        )
        if referrer is None:
            absent = AccountMeta(program_id, False, False)
            referrer_metas = (absent, absent)
        else:
            referrer_metas = (
                AccountMeta(
                    referrer_token_state(referrer, reserve_address, program_id), False, True
                ),
                AccountMeta(referrer, False, True),
            )
        tail = (
            AccountMeta(reserve.fee_vault, False, True),
            *referrer_metas,
            AccountMeta(SYSVAR_INSTRUCTIONS_ID, False, False),
            AccountMeta(reserve.token_program, False, False),
        )
        return cls(program_id, head, tail)

    def metas(self, user: Pubkey, user_token_account: Pubkey) -> list[AccountMeta]:
        return [
            AccountMeta(user, True, False),
            *self.head,
            AccountMeta(user_token_account, False, True),
            *self.tail,
        ]


def flash_borrow(metas: list[AccountMeta], program_id: Pubkey, amount: int) -> Instruction:
    """``flash_borrow_reserve_liquidity(liquidity_amount: u64)``."""
    return Instruction(program_id, FLASH_BORROW_DISCRIMINATOR + amount.to_bytes(8, "little"), metas)


def flash_repay(
    metas: list[AccountMeta], program_id: Pubkey, amount: int, borrow_index: int
) -> Instruction:
    """``flash_repay_reserve_liquidity(liquidity_amount: u64, borrow_instruction_index: u8)``."""
    data = FLASH_REPAY_DISCRIMINATOR + amount.to_bytes(8, "little") + bytes((borrow_index,))
    return Instruction(program_id, data, metas)
