"""Where constant-product pools keep their reserves, read at fixed offsets.

The driver trades these pools by changing what a swap changes on chain: the SPL token
amount of the two vaults. It needs to know which token accounts are the vaults and
what the program subtracts from a vault balance to get the reserve it prices with
(fees owed to the protocol, PnL not yet taken); offsets are from the programs' sources
(see the Raydium and PumpSwap reference notes).
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_runtime.simnet.store import Entry
from lstarb_sdk.solana import u64

AMM_V4 = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
CPMM = "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C"
PUMPSWAP = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"
CPMM_POOL_DISCRIMINATOR = bytes.fromhex("f7ede3f5d7c3de46")
PUMPSWAP_POOL_DISCRIMINATOR = bytes.fromhex("f19a6d0411b16dbc")


@dataclass(frozen=True, slots=True)
class CpPool:
    """A constant-product pool: its vaults in the program's mint order, and the part of
    each vault balance that is not reserve (owed fees, PnL) or that is added to it
    (PumpSwap's virtual quote reserve, as a negative amount)."""

    address: str
    program: str
    mint_a: str
    mint_b: str
    vault_a: str
    vault_b: str
    held_back_a: int = 0
    held_back_b: int = 0

    def reserves(self, vault_a_amount: int, vault_b_amount: int) -> tuple[int, int]:
        return vault_a_amount - self.held_back_a, vault_b_amount - self.held_back_b


def _key(data: bytes, offset: int) -> str:
    return str(Pubkey.from_bytes(data[offset : offset + 32]))


def cp_pool(address: str, owner: str, data: bytes) -> CpPool | None:
    """The pool at ``address`` if its bytes are a constant-product pool this module knows."""
    if owner == AMM_V4 and len(data) == 752:
        return CpPool(
            address,
            owner,
            mint_a=_key(data, 400),
            mint_b=_key(data, 432),
            vault_a=_key(data, 336),
            vault_b=_key(data, 368),
            held_back_a=u64(data, 192),
            held_back_b=u64(data, 200),
        )
    if owner == CPMM and len(data) == 637 and data[:8] == CPMM_POOL_DISCRIMINATOR:
        return CpPool(
            address,
            owner,
            mint_a=_key(data, 168),
            mint_b=_key(data, 200),
            vault_a=_key(data, 72),
            vault_b=_key(data, 104),
            held_back_a=u64(data, 341) + u64(data, 357) + u64(data, 397),
            held_back_b=u64(data, 349) + u64(data, 365) + u64(data, 405),
        )
    if owner == PUMPSWAP and len(data) >= 203 and data[:8] == PUMPSWAP_POOL_DISCRIMINATOR:
        virtual = int.from_bytes(data[245:261], "little") if len(data) >= 261 else 0
        return CpPool(
            address,
            owner,
            mint_a=_key(data, 43),
            mint_b=_key(data, 75),
            vault_a=_key(data, 139),
            vault_b=_key(data, 171),
            held_back_b=-virtual,
        )
    return None


def token_amount(data: bytes) -> int:
    return u64(data, 64)


def with_token_amount(data: bytes, amount: int) -> bytes:
    if amount < 0:
        raise ValueError(f"token amount would go negative ({amount})")
    return data[:64] + amount.to_bytes(8, "little") + data[72:]


def with_token_balance(entry: Entry, amount: int) -> Entry:
    """The token account holding ``amount``; a native (wSOL) one holds it in lamports too,
    above the rent-exempt reserve its ``is_native`` field records (the token program's
    invariant)."""
    native = len(entry.data) >= 120 and entry.data[108:112] == b"\x01\0\0\0"
    lamports = u64(entry.data, 112) + amount if native else entry.lamports
    return Entry(
        entry.key,
        lamports,
        with_token_amount(entry.data, amount),
        entry.owner,
        entry.executable,
        entry.rent_epoch,
    )
