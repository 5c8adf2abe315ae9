"""Program id, instruction discriminators, PDAs and the default SOL markets of Kamino Lending.

Everything that never changes is computed once at import so the hot path
(building a borrow/repay pair) never hashes.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from lstarb_sdk.amounts import U64_MAX

KLEND_PROGRAM_ID = Pubkey.from_string("KLend2g3cP87fffoy8q1mQqGKjrxjC8boSyAYavgmjD")
SYSVAR_INSTRUCTIONS_ID = Pubkey.from_string("Sysvar1nstructions1111111111111111111111111")

#: Anchor sighashes: sha256("global:<name>")[:8].
FLASH_BORROW_DISCRIMINATOR = bytes.fromhex("87e734a70734d4c1")
FLASH_REPAY_DISCRIMINATOR = bytes.fromhex("b97500cb60f5b4ba")

#: klend's ``PROGRAM_VERSION``: a reserve of another version is refused (ReserveDeprecated).
PROGRAM_VERSION = 1
#: ``flash_loan_fee_sf == u64::MAX`` is the program's "flash loans disabled" sentinel.
FLASH_LOANS_DISABLED_SF = U64_MAX
#: Borsh's u8: the repay names the borrow's index in one byte.
MAX_INSTRUCTION_INDEX = 255

MAIN_MARKET = Pubkey.from_string("7u3HeHxYDLhnCoErrtycNokbQYbWGzLs6JSDqGAv5PfF")
MAIN_MARKET_SOL_RESERVE = Pubkey.from_string("d4A2prbA2whesmvHaL88BH6Ewn5N4bTSU2Ze8P6Bc4Q")
JITO_MARKET = Pubkey.from_string("H6rHXmXoCQvq8Ue81MqNh7ow5ysPa1dSozwW3PU1dDH6")
JITO_MARKET_SOL_RESERVE = Pubkey.from_string("6gTJfuPHEg6uRAijRkMqNc9kan4sVZejKMxmvx2grT1p")


def lending_market_authority(market: Pubkey, program_id: Pubkey = KLEND_PROGRAM_ID) -> Pubkey:
    """``["lma", lending_market]``: signs the transfers out of the market's vaults."""
    return Pubkey.find_program_address([b"lma", bytes(market)], program_id)[0]


def referrer_token_state(
    referrer: Pubkey, reserve: Pubkey, program_id: Pubkey = KLEND_PROGRAM_ID
) -> Pubkey:
    """``["referrer_acc", referrer, reserve]``: where a referrer's share of fees accrues."""
    return Pubkey.find_program_address(
        [b"referrer_acc", bytes(referrer), bytes(reserve)], program_id
    )[0]
