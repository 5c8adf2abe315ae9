"""One check for settings that list account addresses (pools, mints, wallets, lookup tables).

Why a module of its own: every settings section that names accounts refuses a bad one with the
same words, and the settings modules cannot import each other's validators without cycles.
"""

from __future__ import annotations

from collections.abc import Iterable

from solders.pubkey import Pubkey


def check_addresses(values: Iterable[str]) -> None:
    """Raise ValueError naming the first value that is not a base58 public key."""
    for value in values:
        try:
            Pubkey.from_string(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a base58 address") from None
