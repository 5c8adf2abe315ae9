"""Program ids, sysvars and the fixed rules of the stake-pool and Marinade programs.

The PDAs of one pool are derived once per pool (``find_program_address`` costs
tens of microseconds), never on the quote path.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

SPL_STAKE_POOL_PROGRAM_ID = Pubkey.from_string("SPoo1Ku8WFXoNDMHPsrGSTSG1Y47rzgn41SLUNakuHy")
SANCTUM_SPL_PROGRAM_ID = Pubkey.from_string("SP12tWFxD9oJsVWNavTTBZvMbA6gkAmxtVgxdqvyvhY")
SANCTUM_SPL_MULTI_PROGRAM_ID = Pubkey.from_string("SPMBzsVUuoHA4Jm6KunbsotaahvVikZs1JyTW6iJvbn")
#: The three deployments of the SPL stake-pool program: one account layout, one instruction set.
STAKE_POOL_PROGRAM_IDS = (
    SPL_STAKE_POOL_PROGRAM_ID,
    SANCTUM_SPL_PROGRAM_ID,
    SANCTUM_SPL_MULTI_PROGRAM_ID,
)
MARINADE_PROGRAM_ID = Pubkey.from_string("MarBmsSgKXdrN1egZf5sqe1TMai9K1rChYNDJgjq7aD")
MARINADE_STATE = Pubkey.from_string("8szGkuLTAux9XMgZ2vtY39jVSowEcpBfFfD8hXSEqdGC")
SANCTUM_INFINITY_PROGRAM_ID = Pubkey.from_string("5ocnV1qiCgaQR8Jb8xWnVbApfaygJ8tNoZfgPwsgx9kx")

STAKE_PROGRAM_ID = Pubkey.from_string("Stake11111111111111111111111111111111111111")
SYSVAR_STAKE_HISTORY_ID = Pubkey.from_string("SysvarStakeHistory1111111111111111111111111")
