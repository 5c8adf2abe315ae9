"""Program ids, PDAs and well-known mints of PumpSwap (pump_amm) and its fee program.

The PDAs that never change (global config, fee config, event authority,
global volume accumulator) are derived once at import, so the hot path never
hashes; per-pool and per-user PDAs have small helpers.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

PUMP_AMM_PROGRAM_ID = Pubkey.from_string("pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA")
PUMP_FEE_PROGRAM_ID = Pubkey.from_string("pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ")
PUMP_PROGRAM_ID = Pubkey.from_string("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")

DEFAULT_PUBKEY = Pubkey.default()
USDC_MINT = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")
NATIVE_MINT_2022 = Pubkey.from_string("9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP")

#: Quote mints that select ``fee_tiers`` (pump-fees ``is_sol_like_quote_mint``).
SOL_LIKE_QUOTE_MINTS = frozenset({DEFAULT_PUBKEY, NATIVE_MINT, NATIVE_MINT_2022})
#: Quote mints that select ``stable_fee_tiers`` (pump-fees ``STABLE_QUOTE_MINTS``).
STABLE_QUOTE_MINTS = frozenset({USDC_MINT})

#: pump-amm ``TOTAL_TOKEN_SUPPLY``: the market-cap supply of mayhem-mode pools.
MAYHEM_TOTAL_TOKEN_SUPPLY = 1_000_000_000_000_000


def amm_pda(*seeds: bytes) -> Pubkey:
    """A PDA of the pump_amm program."""
    return Pubkey.find_program_address(list(seeds), PUMP_AMM_PROGRAM_ID)[0]


GLOBAL_CONFIG = amm_pda(b"global_config")
EVENT_AUTHORITY = amm_pda(b"__event_authority")
GLOBAL_VOLUME_ACCUMULATOR = amm_pda(b"global_volume_accumulator")
FEE_CONFIG = Pubkey.find_program_address(
    [b"fee_config", bytes(PUMP_AMM_PROGRAM_ID)], PUMP_FEE_PROGRAM_ID
)[0]


def pump_pool_authority(base_mint: Pubkey) -> Pubkey:
    """The pump bonding-curve program's ``pool-authority`` PDA: creator of canonical pools."""
    return Pubkey.find_program_address([b"pool-authority", bytes(base_mint)], PUMP_PROGRAM_ID)[0]


def coin_creator_vault_authority(coin_creator: Pubkey) -> Pubkey:
    """``["creator_vault", coin_creator]``: owner of the coin creator's fee ATA."""
    return amm_pda(b"creator_vault", bytes(coin_creator))


def user_volume_accumulator(user: Pubkey) -> Pubkey:
    """``["user_volume_accumulator", user]``."""
    return amm_pda(b"user_volume_accumulator", bytes(user))


def pool_v2(base_mint: Pubkey) -> Pubkey:
    """``["pool-v2", base_mint]``: the remaining account buys and sells pass for coin creators."""
    return amm_pda(b"pool-v2", bytes(base_mint))


def pool_address(index: int, creator: Pubkey, base_mint: Pubkey, quote_mint: Pubkey) -> Pubkey:
    """``["pool", index u16 LE, creator, base_mint, quote_mint]``."""
    return amm_pda(
        b"pool", index.to_bytes(2, "little"), bytes(creator), bytes(base_mint), bytes(quote_mint)
    )
