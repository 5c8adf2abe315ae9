"""Reading accounts at fixed offsets: identity checks and little-endian readers.

Every decoder does the same two things before it reads a field: make sure
the account is the kind it claims (owner, size, discriminator) and then read
integers and keys at the program's offsets. Both live here once, so every
plugin words its :class:`~lstarb_sdk.errors.DecodeError` the same way and no
plugin re-implements ``int.from_bytes`` wrappers.

Decoders on the hot path still read runs of scalars with one
``struct.Struct.unpack_from`` call, which is faster than any per-field
reader; the readers below are for the odd field and for tests.
"""

from __future__ import annotations

from collections.abc import Collection

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError

__all__ = [
    "account_data",
    "check_data",
    "check_owner",
    "i32",
    "i64",
    "i128",
    "pubkey_at",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
]


def u8(data: bytes, offset: int) -> int:
    """The unsigned byte at ``offset``."""
    return data[offset]


def u16(data: bytes, offset: int) -> int:
    """Little-endian unsigned 16-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 2], "little")


def u32(data: bytes, offset: int) -> int:
    """Little-endian unsigned 32-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 4], "little")


def u64(data: bytes, offset: int) -> int:
    """Little-endian unsigned 64-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 8], "little")


def u128(data: bytes, offset: int) -> int:
    """Little-endian unsigned 128-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 16], "little")


def i32(data: bytes, offset: int) -> int:
    """Little-endian signed 32-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 4], "little", signed=True)


def i64(data: bytes, offset: int) -> int:
    """Little-endian signed 64-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 8], "little", signed=True)


def i128(data: bytes, offset: int) -> int:
    """Little-endian signed 128-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 16], "little", signed=True)


def pubkey_at(data: bytes, offset: int) -> Pubkey:
    """The 32-byte public key at ``offset``."""
    return Pubkey.from_bytes(data[offset : offset + 32])


def check_owner(account: Account, owner: Pubkey | Collection[Pubkey], what: str) -> None:
    """DecodeError unless ``account`` is owned by ``owner`` (or one of several owners).

    ``what`` names the account in the message (``"raydium-clmm vault <key>"``).
    """
    actual = account.owner
    if isinstance(owner, Pubkey):
        if actual != owner:
            raise DecodeError(f"{what}: owner {actual} is not {owner}")
    elif actual not in owner:
        expected = " or ".join(sorted(str(o) for o in owner))
        raise DecodeError(f"{what}: owner {actual} is not {expected}")


def check_data(
    data: bytes,
    what: str,
    *,
    size: int | None = None,
    min_size: int | None = None,
    max_size: int | None = None,
    discriminator: bytes | None = None,
) -> None:
    """DecodeError unless ``data`` has the size and discriminator of its kind.

    ``size`` is an exact length; ``min_size``/``max_size`` bound a layout that
    grew by appending fields. The discriminator is checked after the length,
    so a truncated account is reported as truncated, not as a stranger.
    """
    n = len(data)
    if size is not None and n != size:
        raise DecodeError(
            f"{what}: expected {size} bytes, got {n}" + (" (truncated)" if n < size else "")
        )
    if min_size is not None and n < min_size:
        raise DecodeError(f"{what}: truncated, {n} bytes (at least {min_size} expected)")
    if max_size is not None and n > max_size:
        raise DecodeError(f"{what}: {n} bytes, at most {max_size} expected")
    if discriminator is not None:
        k = len(discriminator)
        if n < k:
            raise DecodeError(f"{what}: truncated, {n} bytes cannot hold a discriminator")
        if data[:k] != discriminator:
            raise DecodeError(
                f"{what}: wrong discriminator {bytes(data[:k]).hex()}, "
                f"expected {discriminator.hex()}"
            )


def account_data(
    account: Account,
    what: str,
    *,
    owner: Pubkey | Collection[Pubkey],
    size: int | None = None,
    min_size: int | None = None,
    max_size: int | None = None,
    discriminator: bytes | None = None,
) -> bytes:
    """The account's data once owner, size and discriminator are right.

    solders copies ``Account.data`` on every access; this reads it once and
    hands it back, so a decoder calls this first and works on the result.
    """
    check_owner(account, owner, what)
    data = account.data
    check_data(
        data, what, size=size, min_size=min_size, max_size=max_size, discriminator=discriminator
    )
    return data
