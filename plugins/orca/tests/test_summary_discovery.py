"""summary() (SDK 1.1): reserves, active liquidity and fee without a quote; None until
the pool can quote. discovery_filters(): getProgramAccounts filters that select the
Whirlpools of given mints and nothing else, checked on every real fixture account."""

from __future__ import annotations

import pytest
from orca_testlib import FIXTURES, LABELS, load_pool, pool_files
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TokenAccount
from lstarb_sdk.testing import clock_account, load_account
from lstarb_sdk.types import PoolSummary

WITH_VAULTS = ["sol-usdc-ts64-2022", "bsol-usdc-ts64-2023"]


@pytest.mark.parametrize("label", WITH_VAULTS)
def test_summary_is_vaults_liquidity_and_fee(label: str) -> None:
    pool = load_pool(label)
    files = pool_files(label)
    amounts = [TokenAccount.decode(bytes(files[f"vault_{s}"][1].data)).amount for s in "ab"]
    assert all(amounts)
    st = pool.state
    assert pool.summary() == PoolSummary(amounts[0], amounts[1], st.liquidity, st.fee_rate)


@pytest.mark.parametrize("label", sorted(set(LABELS) - set(WITH_VAULTS)))
def test_summary_is_none_without_vaults(label: str) -> None:
    """No vault balances, no reserves: the pool is not published half-known."""
    pool = load_pool(label)
    pool.quote(1_000, pool.mints[0])  # it can quote, but the reserves are unknown
    assert pool.summary() is None


def test_summary_is_none_until_the_pool_can_quote() -> None:
    label = "sol-usdc-ts64-2022"
    key, acc = pool_files(label)["whirlpool"]
    pool = WhirlpoolPool.from_account(key, acc)
    files = pool_files(label)
    pool.accounts_to_update()
    pool.update({files[f"vault_{s}"][0]: files[f"vault_{s}"][1] for s in "ab"})
    assert pool.summary() is None  # no mints, no tick arrays yet
    pool.update({files[f"mint_{s}"][0]: files[f"mint_{s}"][1] for s in "ab"})
    assert pool.summary() is None  # no tick arrays yet
    pool.update({k: a for stem, (k, a) in files.items() if stem.startswith("tick_array")})
    assert pool.summary() is not None


def test_adaptive_fee_in_summary_follows_the_clock() -> None:
    """The adaptive part decays with the time since the Oracle's reference update; past
    MAX_REFERENCE_AGE only the base fee is left."""
    pool = load_pool("msol-sol-ts1", adaptive_seed=1024, timestamp=1_700_000_000 - 45)
    st = pool.state
    # its vaults are not in the fixtures: real token accounts re-pointed at its mints
    files = pool_files("sol-usdc-ts64-2022")
    for side, vault, mint in (
        ("a", st.token_vault_a, st.token_mint_a),
        ("b", st.token_vault_b, st.token_mint_b),
    ):
        token = files[f"vault_{side}"][1]
        data = bytes(mint) + bytes(token.data)[32:]
        pool.update({vault: Account(token.lamports, data, token.owner)})
    fees = []
    for ts in (1_700_000_000 - 45, 1_700_000_000 + 10_000):
        pool.update({SYSVAR_CLOCK_ID: clock_account(ts)})
        summary = pool.summary()
        assert summary is not None
        fees.append(summary.fee_ppm)
    assert fees[0] > fees[1] == st.fee_rate


# -- discovery ---------------------------------------------------------------------------

SOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
JITOSOL = Pubkey.from_string("J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn")


def _every_real_account() -> dict[tuple[str, str], bytes]:
    out = {}
    for label in LABELS:
        for path in sorted((FIXTURES / label).glob("*.json")):
            _, acc = load_account(path)
            out[(label, path.stem)] = bytes(acc.data)
    return out


@pytest.mark.parametrize(
    ("mints", "want"),
    [
        ([JITOSOL], {"jitosol-sol-ts1"}),
        (
            [USDC],
            {"sol-usdc-ts8", "sol-usdc-ts4-2024", "sol-usdc-ts64-2022", "bsol-usdc-ts64-2023"},
        ),
        ([SOL], set(LABELS) - {"bsol-usdc-ts64-2023"}),
        (
            [JITOSOL, USDC, JITOSOL],
            {
                "jitosol-sol-ts1",
                "sol-usdc-ts8",
                "sol-usdc-ts4-2024",
                "sol-usdc-ts64-2022",
                "bsol-usdc-ts64-2023",
            },
        ),
    ],
)
def test_discovery_filters_select_the_pools_of_a_mint(mints: list[Pubkey], want: set[str]) -> None:
    filters = WhirlpoolPool.discovery_filters(mints)
    assert len(filters) == 2 * len(set(mints))  # mint A side and mint B side, once per mint
    selected = {
        where
        for where, data in _every_real_account().items()
        if any(f.matches(data) for f in filters)
    }
    assert selected == {(label, "whirlpool") for label in want}
    for label, _ in selected:  # and each of them is a pool the adapter takes
        _, acc = pool_files(label)["whirlpool"]
        assert WhirlpoolPool.matches(acc)
        assert set(mints) & set(WhirlpoolPool.from_account(Pubkey.default(), acc).mints)


def test_discovery_filters_name_size_discriminator_and_mint_offsets() -> None:
    (fa, fb) = WhirlpoolPool.discovery_filters([SOL])
    for f in (fa, fb):
        assert f.data_size == 653
        assert f.memcmp[0] == (0, bytes.fromhex("3f95d10ce1806309"))
    _, acc = pool_files("sol-usdc-ts8")["whirlpool"]
    data = bytes(acc.data)
    pool = WhirlpoolPool.from_account(Pubkey.default(), acc)
    (off_a, raw_a), (off_b, raw_b) = fa.memcmp[1], fb.memcmp[1]
    assert data[off_a : off_a + 32] == bytes(pool.mints[0]) == raw_a
    assert data[off_b : off_b + 32] == bytes(pool.mints[1])
    assert raw_b == bytes(SOL)
