"""Shared helpers for the meteora plugin tests: fixtures, clock, the IDL coder."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import DlmmPool
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, SYSVAR_OWNER_ID
from lstarb_sdk.testing import anchor_legacy_idl, load_account, load_dir, load_json
from lstarb_sdk.testing import clock_account as sdk_clock_account

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
ORACLE = HERE / "oracle" / "expected_quotes.json"
PROGRAM = HERE / "program_oracle" / "expected_program.json"


def expected() -> dict[str, Any]:
    """The SDK oracle's expected quotes (tests/oracle/quote_oracle.js)."""
    return load_json(ORACLE)  # type: ignore[no-any-return]


def program_expected() -> dict[str, Any]:
    """What the production program did (tests/program_oracle/run_program.py)."""
    return load_json(PROGRAM)  # type: ignore[no-any-return]


def program_cases(kind: str, label: str, scenario: str) -> dict[tuple[bool, bool, str], Any]:
    """The program's results of one scenario (``kind`` "pools" or "sparse") by (swap_for_y,
    exact_in, amount)."""
    doc = next(p for p in program_expected()[kind] if p["label"] == label)
    scen = next(s for s in doc["scenarios"] if s["name"] == scenario)
    return {(c["swap_for_y"], c["exact_in"], c["amount"]): c for c in scen["cases"]}


SYSVAR_OWNER = SYSVAR_OWNER_ID
LABELS = ("jlp-hubsol-bs8", "pump-sol-bs250", "sol-usdc-bs4", "ttfz-sol-bs10-token2022")
DEFAULT_EPOCH = 1000


def manifest() -> dict[str, Any]:
    return load_json(FIXTURES / "MANIFEST.json")  # type: ignore[no-any-return]


def pair_address(label: str) -> Pubkey:
    return Pubkey.from_string(fixture_doc(label, "lb_pair.json")["pubkey"])


@functools.cache
def accounts(label: str) -> dict[Pubkey, Account]:
    return load_dir(FIXTURES / label)


def clock_account(unix_timestamp: int, epoch: int = DEFAULT_EPOCH, slot: int = 1) -> Account:
    """A Clock sysvar account at a stated time (the fixtures recorded none)."""
    return sdk_clock_account(unix_timestamp, epoch, slot)


def default_timestamp(label: str) -> int:
    """The pair's last swap time plus its filter period (or a fixed time)."""
    pool = DlmmPool.from_account(pair_address(label), accounts(label)[pair_address(label)])
    last = pool.pair.v_parameters.last_update_timestamp
    return last + pool.pair.parameters.filter_period if last else 1_700_000_000


def pool_feed(
    label: str, pair_file: str | None = None, absent: Sequence[int] = ()
) -> tuple[DlmmPool, dict[Pubkey, Account | None]]:
    """A pool and every account of its fixture set, as ``update`` takes them: None for the
    bitmap extension where the MANIFEST says its PDA does not exist on chain and for the
    ``absent`` bin arrays; ``pair_file`` (under fixtures/) replaces the pair account (the
    synthetic variants). The pool has not been updated yet."""
    feed: dict[Pubkey, Account | None] = dict(accounts(label))
    address = pair_address(label)
    if pair_file is not None:
        address, feed[address] = load_account(FIXTURES / pair_file)
    pool = DlmmPool.from_account(address, feed[address])  # type: ignore[arg-type]
    feed.setdefault(pool.bitmap_extension_address, None)
    for index in absent:
        feed[pool.bin_array_key(index)] = None
    return pool, feed


def load_pool(
    label: str,
    unix_timestamp: int | None = None,
    epoch: int = DEFAULT_EPOCH,
    *,
    pair_file: str | None = None,
    absent: Sequence[int] = (),
) -> DlmmPool:
    """A pool fed its fixture set (see :func:`pool_feed`) plus a Clock."""
    pool, feed = pool_feed(label, pair_file, absent)
    ts = default_timestamp(label) if unix_timestamp is None else unix_timestamp
    pool.update({**feed, SYSVAR_CLOCK_ID: clock_account(ts, epoch)})
    return pool


def fixture_doc(label: str, name: str) -> dict[str, Any]:
    return load_json(FIXTURES / label / name)  # type: ignore[no-any-return]


# -- anchorpy: the IDL is Anchor 0.30 format, anchorpy 0.21 reads the legacy one.


@functools.cache
def legacy_idl_json() -> str:
    """lb_clmm.json in the legacy IDL form anchorpy 0.21 reads."""
    return json.dumps(anchor_legacy_idl(load_json(FIXTURES / "idl" / "lb_clmm.json")))


@functools.cache
def idl_coder() -> Any:
    from anchorpy import Idl
    from anchorpy.coder.coder import Coder

    return Coder(Idl.from_json(legacy_idl_json()))


def idl_instruction_accounts(name: str) -> list[dict[str, Any]]:
    """The IDL's account list (new format) for an instruction."""
    idl = load_json(FIXTURES / "idl" / "lb_clmm.json")
    return next(i for i in idl["instructions"] if i["name"] == name)["accounts"]
