"""Wrong owner, discriminator or length -> DecodeError naming it; missing state -> QuoteError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_pumpswap.constants import FEE_CONFIG, GLOBAL_CONFIG
from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_pumpswap.state import FeeConfig, GlobalConfig, Pool
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from lstarb_sdk.testing import load_json, load_named, with_data

FIXTURES = Path(__file__).parent / "fixtures"
LABELS = [s["label"] for s in load_json(FIXTURES / "MANIFEST.json")["sets"]]
Scenario = Callable[[str], dict[str, tuple[Pubkey, Account]]]
LoadPool = Callable[[str], PumpSwapPool]

OTHER = Pubkey.from_string("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")


def _data(role: str) -> bytes:
    return bytes(load_named(FIXTURES / LABELS[0])[role][1].data)


@pytest.mark.parametrize(
    ("decoder", "role", "min_size"),
    [
        (Pool.decode, "pool", 211),
        (GlobalConfig.decode, "global_config", 321),
        (FeeConfig.decode, "fee_config", 2512),
    ],
)
def test_decoders_name_the_problem(decoder, role: str, min_size: int) -> None:
    data = _data(role)
    with pytest.raises(DecodeError, match="wrong discriminator"):
        decoder(bytes(8) + data[8:])
    with pytest.raises(DecodeError, match="truncated"):
        decoder(data[: min_size - 1])
    with pytest.raises(DecodeError, match="truncated"):
        decoder(data[:5])
    decoder(data[:min_size])  # the shortest accepted layout decodes


def test_fee_config_vectors_past_the_end() -> None:
    data = bytearray(_data("fee_config"))
    data[65:69] = (1000).to_bytes(4, "little")
    with pytest.raises(DecodeError, match="truncated, 1000 tiers"):
        FeeConfig.decode(bytes(data))


def test_from_account_wrong_owner(scenario: Scenario) -> None:
    key, acc = scenario(LABELS[0])["pool"]
    with pytest.raises(DecodeError, match="owner"):
        PumpSwapPool.from_account(key, with_data(acc, bytes(acc.data), SYSTEM_PROGRAM_ID))
    assert PumpSwapPool.matches(acc)
    assert not PumpSwapPool.matches(scenario(LABELS[0])["global_config"][1])


@pytest.mark.parametrize(
    "role", ["global_config", "fee_config", "base_vault", "quote_vault", "base_mint"]
)
def test_update_wrong_owner_keeps_state(scenario: Scenario, load_pool: LoadPool, role: str) -> None:
    pool = load_pool(LABELS[0])
    before = pool.quote(10**6, pool.mints[1])
    key, acc = scenario(LABELS[0])[role]
    with pytest.raises(DecodeError, match="owner"):
        pool.update({key: with_data(acc, bytes(acc.data), OTHER)})
    assert pool.quote(10**6, pool.mints[1]) == before


def test_update_vault_of_other_mint(scenario: Scenario, load_pool: LoadPool) -> None:
    pool = load_pool(LABELS[0])
    accs = scenario(LABELS[0])
    key, _ = accs["base_vault"]
    _, other = accs["quote_vault"]
    with pytest.raises(DecodeError, match="mint"):
        pool.update({key: other})


def test_update_truncated_vault_and_pool(scenario: Scenario, load_pool: LoadPool) -> None:
    pool = load_pool(LABELS[0])
    accs = scenario(LABELS[0])
    key, acc = accs["quote_vault"]
    with pytest.raises(DecodeError, match="165"):
        pool.update({key: with_data(acc, bytes(acc.data)[:100])})
    key, acc = accs["pool"]
    with pytest.raises(DecodeError, match="truncated"):
        pool.update({key: with_data(acc, bytes(acc.data)[:100])})


def test_update_pool_with_other_mints(scenario: Scenario, load_pool: LoadPool) -> None:
    pool = load_pool(LABELS[0])
    key, acc = scenario(LABELS[0])["pool"]
    data = bytearray(acc.data)
    data[43:75] = bytes(OTHER)
    with pytest.raises(DecodeError, match="mints, vaults or creator changed"):
        pool.update({key: with_data(acc, bytes(data))})


@pytest.mark.parametrize(
    "missing", ["global_config", "fee_config", "base_vault", "quote_vault", "base_mint"]
)
def test_quote_names_what_is_not_loaded(scenario: Scenario, missing: str) -> None:
    accs = scenario(LABELS[0])
    key, acc = accs["pool"]
    pool = PumpSwapPool.from_account(key, acc)
    pool.update({k: a for role, (k, a) in accs.items() if role != missing})
    with pytest.raises(QuoteError, match="not loaded") as err:
        pool.quote(10**6, pool.mints[1])
    assert str(accs[missing][0]) in str(err.value)


def test_quote_rejects_foreign_mint_and_bad_amounts(load_pool: LoadPool) -> None:
    pool = load_pool(LABELS[0])
    with pytest.raises(QuoteError, match="not one of its mints"):
        pool.quote(10, OTHER)
    for amount in (0, -1, 2**64):
        with pytest.raises(QuoteError, match="outside"):
            pool.quote(amount, pool.mints[0])


def test_more_than_the_pool_holds(load_pool: LoadPool) -> None:
    pool = load_pool(LABELS[0])
    base_reserve, quote_reserve = pool.reserves
    assert base_reserve and quote_reserve
    with pytest.raises(QuoteError, match="reserves"):
        pool.quote(base_reserve + 1, pool.mints[1], exact_in=False)
    with pytest.raises(QuoteError, match="depleted"):
        pool.quote(base_reserve, pool.mints[1], exact_in=False)
    with pytest.raises(QuoteError, match="reserves"):
        pool.quote(quote_reserve + 1, pool.mints[0], exact_in=False)


@pytest.mark.parametrize(("bit", "side"), [(3, 1), (4, 0)])
def test_disabled_direction(scenario: Scenario, load_pool: LoadPool, bit: int, side: int) -> None:
    pool = load_pool(LABELS[0])
    key, acc = scenario(LABELS[0])["global_config"]
    data = bytearray(acc.data)
    data[56] = 1 << bit
    pool.update({key: with_data(acc, bytes(data))})
    assert key == GLOBAL_CONFIG
    with pytest.raises(QuoteError, match="disabled"):
        pool.quote(10**6, pool.mints[side])
    pool.quote(10**6, pool.mints[1 - side])  # the other direction still trades


def test_empty_vault_is_no_liquidity(scenario: Scenario, load_pool: LoadPool) -> None:
    pool = load_pool(LABELS[0])
    key, acc = scenario(LABELS[0])["base_vault"]
    data = bytearray(acc.data)
    data[64:72] = bytes(8)
    pool.update({key: with_data(acc, bytes(data))})
    with pytest.raises(QuoteError, match="liquidity"):
        pool.quote(10**6, pool.mints[1])


def test_transfer_fee_mint_is_refused(scenario: Scenario, load_pool: LoadPool) -> None:
    """A Token-2022 transfer fee is not modelled by the SDK: refuse rather than misquote."""
    pool = load_pool("pump-usdc-flat")
    key, acc = scenario("pump-usdc-flat")["base_mint"]
    assert acc.owner == TOKEN_2022_PROGRAM_ID
    # The real mint (TransferHook, MetadataPointer, TokenMetadata) with a TransferFeeConfig
    # appended: a mint only ever grows, so the extension is added after the others.
    ext = (1).to_bytes(2, "little") + (108).to_bytes(2, "little") + bytes(64 + 8)
    fee = (0).to_bytes(8, "little") + (10**9).to_bytes(8, "little") + (50).to_bytes(2, "little")
    pool.update({key: with_data(acc, bytes(acc.data) + ext + fee + fee)})
    with pytest.raises(QuoteError, match="transfer fee"):
        pool.quote(10**6, pool.mints[0])


def test_fee_config_owner_is_the_fee_program(scenario: Scenario, load_pool: LoadPool) -> None:
    pool = load_pool(LABELS[0])
    key, acc = scenario(LABELS[0])["fee_config"]
    assert key == FEE_CONFIG
    with pytest.raises(DecodeError, match="owner"):
        pool.update({key: with_data(acc, bytes(acc.data), TOKEN_PROGRAM_ID)})
