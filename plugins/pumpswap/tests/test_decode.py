"""Every decoded field equals anchorpy's IDL decoding, on every fixture and scenario."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from anchorpy import Idl
from anchorpy.coder.accounts import AccountsCoder
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_pumpswap.state import (
    FEE_CONFIG_DISCRIMINATOR,
    GLOBAL_CONFIG_DISCRIMINATOR,
    GLOBAL_CONFIG_SIZE,
    POOL_DISCRIMINATOR,
    POOL_SIZE,
    FeeConfig,
    Fees,
    GlobalConfig,
    Pool,
)
from lstarb_sdk.testing import anchor_legacy_idl, load_json

FIXTURES = Path(__file__).parent / "fixtures"
ORACLE = Path(__file__).parent / "oracle"
VARIANTS = [v["name"] for v in load_json(ORACLE / "variants.json")["variants"]]
IDL = load_json(FIXTURES / "idl" / "pump_amm.json")
Scenario = Callable[[str], dict[str, tuple[Pubkey, Account]]]


@cache
def coder() -> AccountsCoder:
    return AccountsCoder(Idl.from_json(json.dumps(anchor_legacy_idl(IDL))))


def _padded(data: bytes, size: int) -> bytes:
    """The SDK's padTrailing: older, shorter accounts read their missing tail as zero."""
    return data + bytes(max(0, size - len(data)))


def _fields(name: str) -> list[str]:
    t = next(t for t in IDL["types"] if t["name"] == name)
    return [f["name"] for f in t["type"]["fields"]]


def _same_fees(ours: Fees, ref: Any) -> None:
    assert ours.lp_fee_bps == ref.lp_fee_bps
    assert ours.protocol_fee_bps == ref.protocol_fee_bps
    assert ours.creator_fee_bps == ref.creator_fee_bps


def test_discriminators_match_the_idl() -> None:
    disc = {a["name"]: bytes(a["discriminator"]) for a in IDL["accounts"]}
    assert disc["Pool"] == POOL_DISCRIMINATOR
    assert disc["GlobalConfig"] == GLOBAL_CONFIG_DISCRIMINATOR
    assert disc["FeeConfig"] == FEE_CONFIG_DISCRIMINATOR


@pytest.mark.parametrize("name", VARIANTS)
def test_pool_fields(scenario: Scenario, name: str) -> None:
    data = bytes(scenario(name)["pool"][1].data)
    ours = Pool.decode(data)
    ref = coder().decode(_padded(data, POOL_SIZE))
    fields = _fields("Pool")
    assert len(fields) == 15
    for f in fields:
        assert getattr(ours, f) == getattr(ref, f), f


@pytest.mark.parametrize("name", VARIANTS)
def test_global_config_fields(scenario: Scenario, name: str) -> None:
    data = bytes(scenario(name)["global_config"][1].data)
    ours = GlobalConfig.decode(data)
    ref = coder().decode(_padded(data, GLOBAL_CONFIG_SIZE))
    fields = _fields("GlobalConfig")
    assert len(fields) == 18
    for f in fields:
        value = getattr(ref, f)
        if isinstance(getattr(ours, f), tuple):
            value = tuple(value)
        assert getattr(ours, f) == value, f


@pytest.mark.parametrize("name", VARIANTS)
def test_fee_config_fields(scenario: Scenario, name: str) -> None:
    data = bytes(scenario(name)["fee_config"][1].data)
    ours = FeeConfig.decode(data)
    # 4073 bytes: the post-stable layout, no exotic fees; anchorpy reads the
    # exotic fees from the zero tail the SDK's length gate leaves.
    ref = coder().decode(_padded(data, 4097))
    assert _fields("FeeConfig") == [
        "bump",
        "admin",
        "flat_fees",
        "fee_tiers",
        "stable_fee_tiers",
        "exotic_flat_fees",
    ]
    assert ours.bump == ref.bump
    assert ours.admin == ref.admin
    _same_fees(ours.flat_fees, ref.flat_fees)
    _same_fees(ours.exotic_flat_fees, ref.exotic_flat_fees)
    for mine, theirs in (
        (ours.fee_tiers, ref.fee_tiers),
        (ours.stable_fee_tiers, ref.stable_fee_tiers),
    ):
        assert len(mine) == len(theirs) > 0
        for a, b in zip(mine, theirs, strict=True):
            assert a.market_cap_lamports_threshold == b.market_cap_lamports_threshold
            _same_fees(a.fees, b.fees)


def test_fee_config_length_gate(scenario: Scenario) -> None:
    """Below 4073 bytes stable tiers do not exist; from 4097 exotic fees do."""
    data = bytes(scenario("pump-usdc-flat")["fee_config"][1].data)
    assert len(data) == 4073
    full = FeeConfig.decode(data)
    pre = FeeConfig.decode(data[:2512])
    assert pre.fee_tiers == full.fee_tiers
    assert pre.stable_fee_tiers == ()
    stable_end = 65 + 4 + 40 * len(full.fee_tiers) + 4 + 40 * len(full.stable_fee_tiers)
    exotic = bytes(range(1, 25))
    post = FeeConfig.decode(data[:stable_end] + exotic + bytes(4097 - stable_end - 24))
    assert post.stable_fee_tiers == full.stable_fee_tiers
    assert post.exotic_flat_fees == Fees(
        int.from_bytes(exotic[0:8], "little"),
        int.from_bytes(exotic[8:16], "little"),
        int.from_bytes(exotic[16:24], "little"),
    )
    assert full.exotic_flat_fees == Fees(0, 0, 0)


def test_short_pool_reads_missing_fields_as_zero(scenario: Scenario) -> None:
    data = bytes(scenario("7lss-virtual-reserves")["pool"][1].data)
    old = Pool.decode(data[:243])
    assert old.coin_creator == Pool.decode(data).coin_creator
    assert old.virtual_quote_reserves == 0 and not old.is_mayhem_mode
    assert (
        Pool.decode(data[:211]).coin_creator
        == Pool.decode(bytes(270)[:0] + data[:211]).coin_creator
    )


def test_refresh_reuses_keys_only_when_unchanged(scenario: Scenario) -> None:
    data = bytes(scenario("7lss-wsol-canonical")["pool"][1].data)
    first = Pool.decode(data)
    again = Pool.decode(data, first)
    assert again == first and again.base_mint is first.base_mint
    moved = bytearray(data)
    moved[139:171] = bytes(range(32))
    other = Pool.decode(bytes(moved), first)
    assert bytes(other.pool_base_token_account) == bytes(range(32))
