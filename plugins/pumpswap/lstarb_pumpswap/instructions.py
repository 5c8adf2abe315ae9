"""PumpSwap ``buy`` / ``buy_exact_quote_in`` / ``sell`` / ``extend_account`` instructions.

Account lists follow the IDL bundled in @pump-fun/pump-swap-sdk 1.20.0, and the
remaining accounts are the ones that SDK's ``buyInstructionsNoPool`` /
``sellInstructionsNoPool`` append: for cashback coins the user volume
accumulator's quote ATA (and, for sells, the accumulator itself), the
``pool-v2`` PDA when the pool has a coin creator, then a buyback fee recipient
and its quote ATA (the program fails with BuybackFeeRecipientMissing without
them).
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_pumpswap.constants import (
    DEFAULT_PUBKEY,
    EVENT_AUTHORITY,
    FEE_CONFIG,
    GLOBAL_CONFIG,
    GLOBAL_VOLUME_ACCUMULATOR,
    PUMP_AMM_PROGRAM_ID,
    PUMP_FEE_PROGRAM_ID,
    coin_creator_vault_authority,
    pool_v2,
    user_volume_accumulator,
)
from lstarb_pumpswap.state import Pool
from lstarb_sdk.solana import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    associated_token_address,
)

BUY_DISCRIMINATOR = bytes([102, 6, 61, 18, 1, 218, 235, 234])
BUY_EXACT_QUOTE_IN_DISCRIMINATOR = bytes([198, 46, 21, 82, 180, 217, 232, 112])
SELL_DISCRIMINATOR = bytes([51, 230, 133, 164, 1, 127, 131, 173])
EXTEND_ACCOUNT_DISCRIMINATOR = bytes([234, 102, 194, 203, 150, 72, 62, 229])

#: The SDK always asks the program to track volume (``{ 0: true }``).
TRACK_VOLUME = b"\x01"


@dataclass(frozen=True, slots=True)
class SwapAccounts:
    """What one swap instruction needs besides the pool state."""

    pool_address: Pubkey
    user: Pubkey
    user_base_token_account: Pubkey
    user_quote_token_account: Pubkey
    protocol_fee_recipient: Pubkey
    buyback_fee_recipient: Pubkey | None
    base_token_program: Pubkey
    quote_token_program: Pubkey


def _metas(pool: Pool, a: SwapAccounts, *, is_buy: bool) -> list[AccountMeta]:
    quote_mint = pool.quote_mint
    qprog = a.quote_token_program
    vault_authority = coin_creator_vault_authority(pool.coin_creator)
    metas = [
        AccountMeta(a.pool_address, False, True),
        AccountMeta(a.user, True, True),
        AccountMeta(GLOBAL_CONFIG, False, False),
        AccountMeta(pool.base_mint, False, False),
        AccountMeta(quote_mint, False, False),
        AccountMeta(a.user_base_token_account, False, True),
        AccountMeta(a.user_quote_token_account, False, True),
        AccountMeta(pool.pool_base_token_account, False, True),
        AccountMeta(pool.pool_quote_token_account, False, True),
        AccountMeta(a.protocol_fee_recipient, False, False),
        AccountMeta(
            associated_token_address(a.protocol_fee_recipient, quote_mint, qprog), False, True
        ),
        AccountMeta(a.base_token_program, False, False),
        AccountMeta(qprog, False, False),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
        AccountMeta(ASSOCIATED_TOKEN_PROGRAM_ID, False, False),
        AccountMeta(EVENT_AUTHORITY, False, False),
        AccountMeta(PUMP_AMM_PROGRAM_ID, False, False),
        AccountMeta(associated_token_address(vault_authority, quote_mint, qprog), False, True),
        AccountMeta(vault_authority, False, False),
    ]
    if is_buy:
        metas.append(AccountMeta(GLOBAL_VOLUME_ACCUMULATOR, False, False))
        metas.append(AccountMeta(user_volume_accumulator(a.user), False, True))
    metas.append(AccountMeta(FEE_CONFIG, False, False))
    metas.append(AccountMeta(PUMP_FEE_PROGRAM_ID, False, False))
    # remaining accounts, in the SDK's order
    if pool.is_cashback_coin:
        accumulator = user_volume_accumulator(a.user)
        metas.append(
            AccountMeta(associated_token_address(accumulator, quote_mint, qprog), False, True)
        )
        if not is_buy:
            metas.append(AccountMeta(accumulator, False, True))
    if pool.coin_creator != DEFAULT_PUBKEY:
        metas.append(AccountMeta(pool_v2(pool.base_mint), False, False))
    if a.buyback_fee_recipient is not None:
        buyback = a.buyback_fee_recipient
        metas.append(AccountMeta(buyback, False, False))
        metas.append(AccountMeta(associated_token_address(buyback, quote_mint, qprog), False, True))
    return metas


def buy(pool: Pool, a: SwapAccounts, base_amount_out: int, max_quote_amount_in: int) -> Instruction:
    """``buy``: receive exactly ``base_amount_out``, paying at most ``max_quote_amount_in``."""
    data = (
        BUY_DISCRIMINATOR
        + base_amount_out.to_bytes(8, "little")
        + max_quote_amount_in.to_bytes(8, "little")
        + TRACK_VOLUME
    )
    return Instruction(PUMP_AMM_PROGRAM_ID, data, _metas(pool, a, is_buy=True))


def buy_exact_quote_in(
    pool: Pool, a: SwapAccounts, spendable_quote_in: int, min_base_amount_out: int
) -> Instruction:
    """``buy_exact_quote_in``: spend at most ``spendable_quote_in``, get at least the minimum."""
    data = (
        BUY_EXACT_QUOTE_IN_DISCRIMINATOR
        + spendable_quote_in.to_bytes(8, "little")
        + min_base_amount_out.to_bytes(8, "little")
        + TRACK_VOLUME
    )
    return Instruction(PUMP_AMM_PROGRAM_ID, data, _metas(pool, a, is_buy=True))


def sell(
    pool: Pool, a: SwapAccounts, base_amount_in: int, min_quote_amount_out: int
) -> Instruction:
    """``sell``: send exactly ``base_amount_in``, receive at least ``min_quote_amount_out``."""
    data = (
        SELL_DISCRIMINATOR
        + base_amount_in.to_bytes(8, "little")
        + min_quote_amount_out.to_bytes(8, "little")
    )
    return Instruction(PUMP_AMM_PROGRAM_ID, data, _metas(pool, a, is_buy=False))


def extend_account(pool_address: Pubkey, user: Pubkey) -> Instruction:
    """``extend_account``: grow a pre-upgrade pool to 300 bytes, as the SDK does before a swap."""
    metas = [
        AccountMeta(pool_address, False, True),
        AccountMeta(user, True, True),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
        AccountMeta(EVENT_AUTHORITY, False, False),
        AccountMeta(PUMP_AMM_PROGRAM_ID, False, False),
    ]
    return Instruction(PUMP_AMM_PROGRAM_ID, EXTEND_ACCOUNT_DISCRIMINATOR, metas)
