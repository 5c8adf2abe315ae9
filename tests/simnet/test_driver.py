"""The market driver: deterministic per seed, constant product kept, prices believable."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from lstarb_runtime.builtin.replay import bundled_market
from lstarb_runtime.simnet import Simnet
from lstarb_runtime.simnet.cp_pools import token_amount
from lstarb_runtime.simnet.stake_pools import _spl_last_epoch_offset
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, Clock, u64

from .conftest import manual

FIXTURES = Path(__file__).parent / "fixtures"
SOL_USDC_2022 = "HJPjoWUrhoZzkNfRpHuieeFk9WcZWjwy6PBjZ81ngndJ"
JITO_POOL = "Jito4APyf642JPZPx3hGc6WWJ8zPKtRbRs4P815Awbb"
BAND = 0.0101  # the driver's widest gap (1%) plus rounding
DRIFT = 0.0011  # pools that cannot move: 5 bp of reference drift on each mint, plus rounding


def _snapshot(net: Simnet) -> dict[str, bytes]:
    return {e.key: e.data for e in net.store.entries()}


def _reference_gaps(net: Simnet) -> dict[str, float]:
    """Every pool's mid price against its pair's reference (the driver's fair market)."""
    assert net.driver is not None
    market, reference = net.driver.market, net.driver.reference
    gaps = {}
    for address in [*market.cp, *market.concentrated]:
        mid = market.mid_price(address)
        assert mid is not None, address
        gaps[address] = mid / reference.pair(*market.mints_of(address)) - 1
    return gaps


def test_same_seed_same_market_other_seed_other_market() -> None:
    a = Simnet(manual(drive=True, seed=11, epoch_slots=64))
    b = Simnet(manual(drive=True, seed=11, epoch_slots=64))
    c = Simnet(manual(drive=True, seed=12, epoch_slots=64))
    assert _snapshot(a) == _snapshot(b)
    for _ in range(150):
        for net in (a, b, c):
            net.step()
    assert a.driver is not None and a.driver.trades > 50
    assert _snapshot(a) == _snapshot(b)
    assert _snapshot(a) != _snapshot(c)


def test_trades_keep_the_constant_product_and_move_vaults_only(driven: Simnet) -> None:
    assert driven.driver is not None
    market = driven.driver.market
    pools = list(market.cp.values())
    assert {p.program for p in pools} == {
        "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
        "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C",
        "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA",
    }
    pool_bytes = {p.address: driven.store.get(p.address).data for p in pools}  # type: ignore[union-attr]
    moved = 0
    for _ in range(120):
        before = {p.address: market.reserves(p) for p in pools}
        driven.step()
        for pool in pools:
            x0, y0 = before[pool.address]
            x1, y1 = market.reserves(pool)
            if (x1, y1) == (x0, y0):
                continue
            moved += 1
            assert x1 * y1 >= x0 * y0, pool.address  # fees stay in the pool: k never falls
            assert (x1 - x0) * (y1 - y0) < 0  # one side in, the other out
            out = -min(x1 - x0, y1 - y0)
            into = max(x1 - x0, y1 - y0)
            reserve_in, reserve_out = (x0, y0) if x1 > x0 else (y0, x0)
            assert out <= reserve_out * into // (reserve_in + into)  # never above the no-fee curve
    assert moved > 60
    assert {p.address: driven.store.get(p.address).data for p in pools} == pool_bytes  # type: ignore[union-attr]


def test_aligned_pairs_agree_within_the_band(driven: Simnet) -> None:
    assert driven.driver is not None and driven.alignment is not None
    market = driven.driver.market
    sol_usdc = [
        a
        for a in [*market.concentrated, *market.cp]
        if set(market.mints_of(a))
        == {
            "So11111111111111111111111111111111111111112",
            "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
        }
    ]
    assert len(sol_usdc) == 4  # DLMM, CLMM, AMM V4, CPMM

    def spread() -> float:
        prices = [market.mid_price(a) for a in sol_usdc]
        assert all(p is not None for p in prices)
        return max(prices) / min(prices) - 1  # type: ignore[type-var,operator]

    before = driven.alignment.rescaled
    assert any(abs(after / b - 1) > 0.02 for b, after in before.values())  # something moved
    assert spread() < 0.001  # right after alignment: the concentrated pools' own gap only
    still = set(market.still)
    worst = {"moving": 0.0, "still": 0.0}
    for _ in range(200):
        driven.step()
        for address, gap in _reference_gaps(driven).items():
            kind = "still" if address in still else "moving"
            worst[kind] = max(worst[kind], abs(gap))
        assert spread() <= 2 * BAND
    assert 0.001 < worst["moving"] <= BAND  # the driver opens gaps, never beyond the cap
    assert worst["still"] <= DRIFT  # the reference stays within reach of pools that cannot move


def test_stake_pool_rates_sit_inside_their_no_arbitrage_band(driven: Simnet) -> None:
    assert driven.driver is not None and driven.alignment is not None
    values = driven.alignment.values
    stake = driven.driver.market.stake
    reference = driven.driver.reference
    checked = 0
    for address, (before, after) in driven.alignment.rates.items():
        mint = stake[address].mint
        value = values.get(mint)
        if value is None:
            assert after == pytest.approx(before)  # no DEX price: the captured rate stays
            continue
        checked += 1
        anchor = reference.anchors[mint]
        assert 0 < anchor.exit_cost <= 0.003 and 0 <= anchor.entry_cost <= 0.003
        assert after * (1 - anchor.exit_cost) <= value * (1 + 1e-9)  # leaving does not pay
        assert value <= after * (1 + anchor.entry_cost) * (1 + 1e-9)  # entering does not pay
        assert abs(after / value - 1) <= 0.003  # a few basis points to 0.3%
    assert checked == 3  # JitoSOL, bSOL, mSOL have Orca pools in the bundled market
    jito = reference.anchors["J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn"]
    assert jito.exit_cost == pytest.approx(0.001)  # WithdrawSol's 0.1%, from its adapter
    before, after = driven.alignment.rates[JITO_POOL]
    assert before == pytest.approx(1.0734, abs=1e-4) and after < 1.03


def test_epochs_make_pools_stale_then_crank_rewards(driven: Simnet) -> None:
    chain = driven.chain
    entry = driven.store.get(JITO_POOL)
    assert entry is not None
    assert u64(entry.data, 274) == chain.epoch
    total, supply = u64(entry.data, 258), u64(entry.data, 266)
    driven.step()
    while chain.slot_index != 0:
        driven.step()
    clock = Clock.decode(driven.store.get(str(SYSVAR_CLOCK_ID)).data)  # type: ignore[union-attr]
    assert (clock.slot, clock.epoch) == (chain.slot, chain.epoch)
    assert u64(driven.store.get(JITO_POOL).data, 274) == chain.epoch - 1  # type: ignore[union-attr]
    for _ in range(8):
        driven.step()
    data = driven.store.get(JITO_POOL).data  # type: ignore[union-attr]
    assert u64(data, 274) == chain.epoch
    reward = u64(data, 258) - total
    assert reward == int(total * driven.driver.epoch_reward_rate)  # type: ignore[union-attr]
    assert reward > 0
    minted = u64(data, 266) - supply
    fee = reward * 4 // 100  # JitoSOL's epoch fee: 4%
    assert minted == fee * supply // (total + reward - fee)
    offset = _spl_last_epoch_offset(data)
    assert (u64(data, offset), u64(data, offset + 8)) == (supply, total)
    assert u64(data, 258) / u64(data, 266) > total / supply  # the rate grew
    reference = driven.driver.reference  # type: ignore[union-attr]
    mint = driven.driver.market.stake[JITO_POOL].mint  # type: ignore[union-attr]
    rate = u64(data, 258) / u64(data, 266)
    assert reference.rates[mint] == rate  # the LST's value follows the new rate
    assert reference.value(mint) == pytest.approx(rate * reference.anchors[mint].share())


def test_layout_walk_matches_the_decoded_fixture() -> None:
    import json

    doc = json.loads((bundled_market() / "lst" / "jitosol-stake-pool.json").read_text())
    import base64

    data = base64.b64decode(doc["data_base64"])
    offset = _spl_last_epoch_offset(data)
    assert offset + 16 == doc["decoded"]["borsh_bytes_used"]
    assert u64(data, offset) == doc["decoded"]["last_epoch_pool_token_supply"]
    assert u64(data, offset + 8) == doc["decoded"]["last_epoch_total_lamports"]


def test_a_concentrated_set_captured_years_apart_is_traded_into_line() -> None:
    """The 2022 Orca SOL/USDC pool (SOL near $40) is swapped, tick by tick through its
    served arrays, to the bundled market's SOL price (near $82), as arbitrage would."""
    net = Simnet(
        manual(drive=True, seed=3, accounts=[bundled_market(), FIXTURES / "sol-usdc-ts64-2022"])
    )
    assert net.alignment is not None and net.driver is not None
    before, after = net.alignment.rescaled[SOL_USDC_2022]
    reference = net.driver.reference.pair(*net.driver.market.mints_of(SOL_USDC_2022))
    assert before < 0.6 * reference
    assert after == pytest.approx(reference, rel=1e-4)
    assert SOL_USDC_2022 not in net.alignment.left_out and not net.driver.trader.mismatches


def test_a_set_that_cannot_be_aligned_is_left_out(tmp_path: Path) -> None:
    """Without the tick arrays between its price and the market's, the pool cannot be
    moved there: it is left out and its accounts are no longer served."""
    extra = tmp_path / "extra"
    shutil.copytree(FIXTURES / "sol-usdc-ts64-2022", extra)
    for start in (-16896, -22528, -28160):
        (extra / f"tick_array_{start}.json").unlink()
    net = Simnet(manual(drive=True, seed=3, accounts=[bundled_market(), extra]))
    assert net.alignment is not None
    reason = net.alignment.left_out[SOL_USDC_2022]
    assert "off the pair's first pool" in reason and "cannot be moved there" in reason
    assert net.store.get(SOL_USDC_2022) is None
    tick_array = next(p for p in extra.glob("tick_array_*.json"))
    import json

    assert json.loads(tick_array.read_text())["pubkey"] not in net.store


def test_vault_amounts_are_what_the_adapter_reads(driven: Simnet) -> None:
    assert driven.driver is not None
    market = driven.driver.market
    for pool in market.cp.values():
        vault = driven.store.get(pool.vault_a)
        assert vault is not None
        x, _ = market.reserves(pool)
        assert x == token_amount(vault.data) - pool.held_back_a
        assert not math.isnan(market.mid_price(pool.address) or math.nan)


def test_a_chain_started_mid_epoch_follows_its_slot_and_still_cranks() -> None:
    """The embedded run starts after the last slot on the tape, anywhere in an epoch: the
    epoch, the Clock and the stake pools follow from that slot, and the next boundary cranks."""
    start = 64 * 7_000 + 61  # three slots before epoch 7_001 begins
    net = Simnet(manual(drive=True, seed=5, epoch_slots=64, start_slot=start))
    chain = net.chain
    assert (chain.slot, chain.epoch, chain.slot_index) == (start, 7_000, 61)
    clock = Clock.decode(net.store.get(str(SYSVAR_CLOCK_ID)).data)  # type: ignore[union-attr]
    assert (clock.slot, clock.epoch) == (start, 7_000)
    assert u64(net.store.get(JITO_POOL).data, 274) == 7_000  # type: ignore[union-attr]
    total = u64(net.store.get(JITO_POOL).data, 258)  # type: ignore[union-attr]
    for _ in range(3):
        net.step()
    assert (chain.epoch, chain.slot_index) == (7_001, 0)
    assert u64(net.store.get(JITO_POOL).data, 274) == 7_000  # type: ignore[union-attr]
    for _ in range(8):
        net.step()
    data = net.store.get(JITO_POOL).data  # type: ignore[union-attr]
    assert u64(data, 274) == 7_001
    assert u64(data, 258) > total  # the epoch's rewards


def test_a_negative_start_slot_is_refused() -> None:
    with pytest.raises(ValueError, match="start_slot must be at least 0, got -1"):
        Simnet(manual(start_slot=-1))
