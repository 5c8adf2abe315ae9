"""Stake pools as the driver moves them: their SOL-per-LST rate and the epoch crank.

Three families hold the rate of an LST (see the LST pricing reference): SPL stake
pools (and the two Sanctum deployments of the same program) with ``total_lamports``
against ``pool_token_supply``; Marinade with its staked-lamport components against
``msol_supply``; Sanctum Infinity with ``total_sol_value`` against the INF mint's supply.
The driver rescales a rate once (to sit near the LST's DEX price) and then, at each
epoch, applies what the update crank applies: the epoch's staking rewards, and for SPL
pools and Marinade the manager's fee minted as new LST.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_sdk.solana import u64

SPL_STAKE_POOL_PROGRAMS = frozenset(
    {
        "SPoo1Ku8WFXoNDMHPsrGSTSG1Y47rzgn41SLUNakuHy",
        "SP12tWFxD9oJsVWNavTTBZvMbA6gkAmxtVgxdqvyvhY",
        "SPMBzsVUuoHA4Jm6KunbsotaahvVikZs1JyTW6iJvbn",
    }
)
MARINADE = "MarBmsSgKXdrN1egZf5sqe1TMai9K1rChYNDJgjq7aD"
MARINADE_STATE_DISCRIMINATOR = bytes.fromhex("d8926b5e684bb6b1")
INF_PROGRAM = "5ocnV1qiCgaQR8Jb8xWnVbApfaygJ8tNoZfgPwsgx9kx"
INF_MINT = "5oVNBeEEQvYi1cX3ir8Dx5n1P7pdxydbGF2X4TxVusJm"
MSOL_MINT = "mSoLzYCxHdYgdzU16g5QSh3i5K3z3KZK7ytfqcJm7So"

# SPL StakePool fixed offsets
_TOTAL, _SUPPLY, _EPOCH, _FEE = 258, 266, 274, 330
# Marinade State offsets (with the 8-byte discriminator)
_M_ACTIVE, _M_COOLING, _M_EMERGENCY = 376, 226, 568
_M_RESERVE, _M_SUPPLY, _M_PRICE, _M_TICKETS, _M_REWARD_FEE = 496, 504, 512, 528, 146


def _put_u64(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + value.to_bytes(8, "little") + data[offset + 8 :]


def _spl_last_epoch_offset(data: bytes) -> int:
    """Offset of ``last_epoch_pool_token_supply``: the Borsh fields after offset 346 have
    optional parts, so the offset is found by walking them."""
    at = 346
    at += 1 + (16 if data[at] else 0)  # next_epoch_fee: FutureEpoch<Fee>
    at += 1 + (32 if data[at] else 0)  # preferred_deposit_validator
    at += 1 + (32 if data[at] else 0)  # preferred_withdraw_validator
    at += 16 + 16  # stake_deposit_fee, stake_withdrawal_fee
    at += 1 + (16 if data[at] else 0)  # next_stake_withdrawal_fee
    at += 1  # stake_referral_fee
    at += 1 + (32 if data[at] else 0)  # sol_deposit_authority
    at += 16 + 1  # sol_deposit_fee, sol_referral_fee
    at += 1 + (32 if data[at] else 0)  # sol_withdraw_authority
    at += 16  # sol_withdrawal_fee
    at += 1 + (16 if data[at] else 0)  # next_sol_withdrawal_fee
    return at


@dataclass(frozen=True, slots=True)
class StakePool:
    """Which family an account is, and the mint whose rate it holds."""

    address: str
    family: str  # "spl", "marinade" or "inf"
    mint: str

    # ------------------------------------------------------------ reading
    def rate(self, data: bytes, inf_supply: int = 0) -> tuple[int, int]:
        """(lamports, LST supply): SOL per LST is their ratio."""
        if self.family == "spl":
            return u64(data, _TOTAL), u64(data, _SUPPLY)
        if self.family == "marinade":
            return marinade_staked(data), u64(data, _M_SUPPLY)
        return u64(data, 0), inf_supply

    # ------------------------------------------------------------ writing
    def with_rate(self, data: bytes, target: float, inf_supply: int = 0) -> bytes:
        """The account rescaled so that SOL per LST is ``target`` (the supply is kept)."""
        lamports, supply = self.rate(data, inf_supply)
        wanted = round(supply * target)
        if self.family == "spl":
            return _put_u64(data, _TOTAL, wanted)
        if self.family == "marinade":
            active = u64(data, _M_ACTIVE) + (wanted - lamports)
            return _marinade_price(_put_u64(data, _M_ACTIVE, active))
        return _put_u64(data, 0, wanted)

    def with_epoch(self, data: bytes, epoch: int) -> bytes:
        """SPL pools record the epoch of their last update; the others have no such field."""
        return _put_u64(data, _EPOCH, epoch) if self.family == "spl" else data

    def last_update_epoch(self, data: bytes) -> int | None:
        return u64(data, _EPOCH) if self.family == "spl" else None

    def crank(self, data: bytes, epoch: int, reward_rate: float) -> bytes:
        """What the epoch's update crank writes: rewards added, the manager's fee minted.

        SPL (UpdateStakePoolBalance): reward = new - old total lamports; the epoch fee
        (numerator/denominator) of the reward is minted to the manager as pool tokens at
        the post-reward rate; last_epoch_* keep the values before the update.
        """
        if self.family == "spl":
            total, supply = u64(data, _TOTAL), u64(data, _SUPPLY)
            reward = int(total * reward_rate)
            denominator, numerator = u64(data, _FEE), u64(data, _FEE + 8)
            fee = reward * numerator // denominator if denominator else 0
            new_total = total + reward
            fee_tokens = fee * supply // (new_total - fee) if fee and new_total > fee else 0
            out = _put_u64(data, _TOTAL, new_total)
            out = _put_u64(out, _SUPPLY, supply + fee_tokens)
            out = _put_u64(out, _EPOCH, epoch)
            last = _spl_last_epoch_offset(data)
            if last + 16 <= len(out):
                out = _put_u64(out, last, supply)
                out = _put_u64(out, last + 8, total)
            return out
        if self.family == "marinade":
            staked, supply = marinade_staked(data), u64(data, _M_SUPPLY)
            reward = int(u64(data, _M_ACTIVE) * reward_rate)
            fee = reward * int.from_bytes(data[_M_REWARD_FEE : _M_REWARD_FEE + 4], "little")
            fee //= 10_000
            new_staked = staked + reward
            fee_tokens = fee * supply // (new_staked - fee) if fee and new_staked > fee else 0
            out = _put_u64(data, _M_ACTIVE, u64(data, _M_ACTIVE) + reward)
            out = _put_u64(out, _M_SUPPLY, supply + fee_tokens)
            return _marinade_price(out)
        total = u64(data, 0)
        return _put_u64(data, 0, total + int(total * reward_rate))


def marinade_staked(data: bytes) -> int:
    """total_virtual_staked_lamports: what mSOL is a claim on."""
    under_control = (
        u64(data, _M_ACTIVE)
        + u64(data, _M_COOLING)
        + u64(data, _M_EMERGENCY)
        + u64(data, _M_RESERVE)
    )
    return max(0, under_control - u64(data, _M_TICKETS))


def _marinade_price(data: bytes) -> bytes:
    supply = u64(data, _M_SUPPLY)
    price = (marinade_staked(data) << 32) // supply if supply else 1 << 32
    return _put_u64(data, _M_PRICE, price)


def stake_pool(address: str, owner: str, data: bytes) -> StakePool | None:
    """The stake pool at ``address``, if its bytes are one of the three families."""
    if owner in SPL_STAKE_POOL_PROGRAMS and len(data) >= 435 and data[0] == 1:
        return StakePool(address, "spl", str(_pubkey(data, 162)))
    if owner == MARINADE and len(data) >= 638 and data[:8] == MARINADE_STATE_DISCRIMINATOR:
        return StakePool(address, "marinade", str(_pubkey(data, 8)))
    if owner == INF_PROGRAM and len(data) >= 176 and data[12] in (1, 2):
        return StakePool(address, "inf", str(_pubkey(data, 144)))
    return None


def _pubkey(data: bytes, offset: int) -> str:
    return str(Pubkey.from_bytes(data[offset : offset + 32]))
