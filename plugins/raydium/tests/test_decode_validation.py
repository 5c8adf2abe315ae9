"""Every field the programs validate is validated at decode (issue 10, items 5 and 7).

A fuzzer over the real accounts found these escaping as other exceptions
(PubkeyError, ZeroDivisionError, OverflowError, "negative shift count"), which
the scanner treats as adapter bugs and quarantines the pool for the rest of
the run. Each is a DecodeError now, and the previous state is kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.cpmm import CpmmPool
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID, SYSVAR_CLOCK_ID
from lstarb_sdk.testing import clock_account, load_dir, patched, with_data

FIXTURES = Path(__file__).parent / "fixtures"
AMM = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
CP = Pubkey.from_string("7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny")
CLMM = Pubkey.from_string("CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq")
SETS = {
    AMM: (AmmV4Pool, load_dir(FIXTURES / "amm_v4")),
    CP: (CpmmPool, load_dir(FIXTURES / "cpmm")),
    CLMM: (ClmmPool, load_dir(FIXTURES / "clmm")),
}


def _loaded(key: Pubkey) -> tuple[PoolAdapter, dict[Pubkey, Account]]:
    cls, accounts = SETS[key]
    pool = cls.from_account(key, accounts[key])
    pool.update(accounts)
    return pool, accounts


CORRUPT_POOLS = [
    # AMM V4: the nonce is the authority PDA's bump; another one derives no address.
    (AMM, 8, b"\x00", "nonce 0 is not the authority bump 254"),
    (AMM, 9, b"\x01", "is not the authority bump"),
    # CLMM: a tick spacing of 0 divided the window computation by zero.
    (CLMM, 235, b"\x00\x00", "tick_spacing is 0"),
    # CLMM: a tick beyond the tick range (sign flipped, huge) shifted bitmaps negatively.
    (CLMM, 272, b"\x7f", "tick_current 2147458602 outside the tick range"),
    (CLMM, 271, b"\x00", "tick_current -16736726 outside the tick range"),
    (CLMM, 268, b"\xff", "outside the program's range"),
    (CLMM, 390, b"\x07", "fee_on 7"),
    # CPMM: a token program that is none.
    (CP, 232, bytes(32), "is not a token program"),
]


@pytest.mark.parametrize(("key", "offset", "raw", "message"), CORRUPT_POOLS)
def test_corrupt_pool_is_a_decode_error(key: Pubkey, offset: int, raw: bytes, message: str) -> None:
    cls, accounts = SETS[key]
    bad = patched(accounts[key], offset, raw)
    with pytest.raises(DecodeError, match=message):
        cls.from_account(key, bad)
    pool, _ = _loaded(key)
    before = pool.quote(10**6, pool.mints[0]), pool.accounts_to_update()
    with pytest.raises(DecodeError):  # a refresh may also be refused for changing its keys
        pool.update({key: bad})
    assert (pool.quote(10**6, pool.mints[0]), pool.accounts_to_update()) == before


def test_clmm_config_must_agree_on_tick_spacing() -> None:
    pool, accounts = _loaded(CLMM)
    cfg = pool.pool_state.amm_config  # type: ignore[attr-defined]
    with pytest.raises(DecodeError, match="tick_spacing 1 is not its amm_config's 2"):
        pool.update({cfg: patched(accounts[cfg], 51, (2).to_bytes(2, "little"))})
    with pytest.raises(DecodeError, match="tick_spacing is 0"):
        pool.update({cfg: patched(accounts[cfg], 51, bytes(2))})


@pytest.mark.parametrize("key", [AMM, CP, CLMM])
def test_every_account_read_checks_its_owner(key: Pubkey) -> None:
    """Vaults, configs, mints, arrays, the extension, the Clock: all refused from a stranger."""
    pool, accounts = _loaded(key)
    read = [*pool.accounts_to_update(), SYSVAR_CLOCK_ID]
    stranger = Pubkey.from_string("Stranger11111111111111111111111111111111111")
    checked = 0
    for k in read:
        account = accounts.get(k) or (clock_account() if k == SYSVAR_CLOCK_ID else None)
        if account is None:
            continue
        with pytest.raises(DecodeError, match="owner"):
            pool.update({k: with_data(account, account.data, stranger)})
        checked += 1
    assert checked >= 3


def test_clock_from_the_system_program_is_refused() -> None:
    """The Clock's owner is the sysvar owner; a system account at its address is not the Clock."""
    for key in (AMM, CP, CLMM):
        pool, _ = _loaded(key)
        clock = clock_account()
        with pytest.raises(DecodeError, match="owner"):
            pool.update({SYSVAR_CLOCK_ID: with_data(clock, clock.data, SYSTEM_PROGRAM_ID)})
