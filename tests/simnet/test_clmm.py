"""Concentrated pools trade as their programs trade.

The peer's swaps on Whirlpools and Raydium CLMM are checked against the DEX plugins
(independent implementations, each proven to the unit against its program's SDK): the
tick tables bit for bit; every swap's input, output and fee against the adapter's quote;
the end price and the ticks crossed against the adapter's own swap loop; and every byte
the swap writes (price, tick, liquidity, fee growth, owed fees, rewards, the crossed
ticks' outside accumulators, the vaults) read back with the plugins' decoders.
"""

from __future__ import annotations

import random

import pytest
from solders.pubkey import Pubkey

from lstarb_orca.state import decode_tick_array, decode_whirlpool
from lstarb_orca.tick_math import sqrt_price_at_tick as orca_at
from lstarb_orca.tick_math import tick_at_sqrt_price as orca_tick
from lstarb_raydium.clmm.state import PoolState, TickArray
from lstarb_raydium.clmm.tick_math import sqrt_price_at_tick as raydium_at
from lstarb_raydium.clmm.tick_math import tick_at_sqrt_price as raydium_tick
from lstarb_runtime.simnet import Simnet
from lstarb_runtime.simnet.clmm_math import MAX_TICK, MIN_TICK, ORCA, RAYDIUM, price_of
from lstarb_runtime.simnet.clmm_pools import ClmmPool, RaydiumClmm, Whirlpool, clmm_pool
from lstarb_runtime.simnet.clmm_swap import Swap
from lstarb_sdk.layout import u64, u128

from .conftest import manual

WHIRLPOOLS = {
    "bSOL": "8phK65jxmTPEN158xLgSr4oZvssw9SyTErpNZj3g7px4",
    "mSOL": "HQcY5n2zP6rW74fyFEhWeBd3LnJpBcZechkvJpmdb8cx",
    "JitoSOL": "Hp53XEtt4S8SvPCXarsLSdGfZBuUr5mMmZmX2DRNXQKp",
}
RAYDIUM_SOL_USDC = "CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq"


def test_tick_tables_are_the_programs() -> None:
    rng = random.Random(4)
    ticks = [*range(-2000, 2000), MIN_TICK, MAX_TICK]
    ticks += [rng.randint(MIN_TICK, MAX_TICK) for _ in range(5000)]
    for tick in ticks:
        assert ORCA.sqrt_price_at_tick(tick) == orca_at(tick), tick
        assert RAYDIUM.sqrt_price_at_tick(tick) == raydium_at(tick), tick
    for _ in range(5000):
        tick = rng.randint(MIN_TICK + 1, MAX_TICK - 2)
        price = orca_at(tick) + rng.randrange(orca_at(tick + 1) - orca_at(tick))
        assert ORCA.tick_at(price) == orca_tick(price) == tick
        price = raydium_at(tick) + rng.randrange(raydium_at(tick + 1) - raydium_at(tick))
        assert RAYDIUM.tick_at(price) == raydium_tick(price) == tick


def _snapshot(net: Simnet, pool: ClmmPool) -> dict[str, bytes]:
    keys = [pool.address, pool.vault_a, pool.vault_b]
    keys += [
        e.key
        for e in net.store.entries()
        if e.data[-32:] == bytes(Pubkey.from_string(pool.address))
    ]
    keys += [
        e.key
        for e in net.store.entries()
        if len(e.data) == 10240 and e.data[8:40] == bytes(Pubkey.from_string(pool.address))
    ]
    return {k: net.store.get(k).data for k in keys}  # type: ignore[union-attr]


def _ticks(pool: ClmmPool, accounts: dict[str, bytes]) -> dict[int, tuple[int, int, int]]:
    """tick -> (liquidity_net, fee growth outside a, b), with the plugins' decoders."""
    out = {}
    for data in accounts.values():
        if isinstance(pool, Whirlpool) and len(data) == 9988:
            array = decode_tick_array(data)
            for i, tick in enumerate(array.ticks):
                if tick.initialized:
                    at = array.start_tick_index + i * pool.tick_spacing
                    out[at] = (
                        tick.liquidity_net,
                        tick.fee_growth_outside_a,
                        tick.fee_growth_outside_b,
                    )
        elif isinstance(pool, RaydiumClmm) and len(data) == 10240:
            array = TickArray.decode(data)
            for i in range(60):
                at = 44 + 168 * i
                if u128(data, at + 20):
                    tick = array.start_tick_index + i * pool.tick_spacing
                    out[tick] = (
                        int.from_bytes(data[at + 4 : at + 20], "little", signed=True),
                        u128(data, at + 36),
                        u128(data, at + 52),
                    )
    return out


def _pool_fields(pool: ClmmPool, data: bytes) -> tuple[int, int, int, int, int, int, int]:
    """(sqrt price, tick, liquidity, growth a, growth b, owed a, owed b) by the plugins."""
    if isinstance(pool, Whirlpool):
        w = decode_whirlpool(data)
        return (
            w.sqrt_price,
            w.tick_current_index,
            w.liquidity,
            w.fee_growth_global_a,
            w.fee_growth_global_b,
            w.protocol_fee_owed_a,
            w.protocol_fee_owed_b,
        )
    p = PoolState.decode(data)
    return (
        p.sqrt_price_x64,
        p.tick_current,
        p.liquidity,
        p.fee_growth_global_0_x64,
        p.fee_growth_global_1_x64,
        p.protocol_fees_token_0 + p.fund_fees_token_0,
        p.protocol_fees_token_1 + p.fund_fees_token_1,
    )


def _check_swap(net: Simnet, pool: ClmmPool, swap: Swap, before: dict[str, bytes]) -> None:
    after = _snapshot(net, pool)
    old, new = _pool_fields(pool, before[pool.address]), _pool_fields(pool, after[pool.address])
    assert new[:3] == (swap.sqrt_price, swap.tick, swap.liquidity)
    assert (ORCA if isinstance(pool, Whirlpool) else RAYDIUM).tick_at(new[0]) == new[1]
    # liquidity: the old one plus the nets of the initialized ticks between (the arrays' word)
    ticks = _ticks(pool, before)
    low, high = sorted((old[1], new[1]))
    crossed = sorted(t for t in ticks if low < t <= high)
    assert crossed == sorted(c.tick for c in swap.crossings)
    net_change = sum(ticks[t][0] for t in crossed)
    assert new[2] == old[2] + (-net_change if swap.a_to_b else net_change)
    # fee growth and owed fees of the input token; the other token's untouched
    side = 0 if swap.a_to_b else 1
    assert new[3 + side] == swap.fee_growth_in and new[4 - side] == old[4 - side]
    assert new[5 + side] - old[5 + side] == swap.protocol_fee + swap.fund_fee
    assert swap.fee == swap.protocol_fee + swap.fund_fee + swap.lp_fee
    # each crossed tick: outside = global then - outside before
    now = _ticks(pool, after)
    for crossing in swap.crossings:
        grown_in, other = crossing.fee_growth_in, old[4 - side]
        growth_a, growth_b = (grown_in, other) if swap.a_to_b else (other, grown_in)
        _, was_a, was_b = ticks[crossing.tick]
        assert now[crossing.tick][1:] == (
            (growth_a - was_a) % 2**128,
            (growth_b - was_b) % 2**128,
        )
    for t in set(ticks) - set(crossed):
        assert now[t] == ticks[t]
    # vaults: the input in, the output out
    into, out_of = (pool.vault_a, pool.vault_b) if swap.a_to_b else (pool.vault_b, pool.vault_a)
    assert u64(after[into], 64) - u64(before[into], 64) == swap.amount_in
    assert u64(before[out_of], 64) - u64(after[out_of], 64) == swap.amount_out


@pytest.mark.parametrize("name", [*WHIRLPOOLS, "Raydium SOL/USDC"])
@pytest.mark.parametrize("move", [-0.004, 0.003, -0.0007, 0.0011])
def test_swaps_cross_ticks_exactly(name: str, move: float) -> None:
    net = Simnet(manual(drive=True, seed=2))
    assert net.driver is not None
    trader, market = net.driver.trader, net.driver.market
    address = WHIRLPOOLS.get(name, RAYDIUM_SOL_USDC)
    move *= 1 if name in WHIRLPOOLS else 2  # Raydium's ticks are sparser
    pool = market.clmm[address]
    adapter = market.book.pools[Pubkey.from_string(address)]
    start = price_of(pool.sqrt_price(net.store.get(address).data))  # type: ignore[union-attr]
    seen: list[bool] = []
    agrees = trader._agrees

    def also_the_adapters_loop(checked: ClmmPool, swap: Swap) -> bool:
        """Before the peer writes: the adapter's own swap loop on the same input."""
        if isinstance(checked, Whirlpool):
            result = adapter.swap(swap.amount_in, swap.a_to_b, True)  # type: ignore[attr-defined]
            seen.append(
                (result.end_sqrt_price, result.ticks_crossed, result.amount_out)
                == (swap.sqrt_price, len(swap.crossings), swap.amount_out)
            )
        else:
            _, out, fee, _, crossed = adapter.swap_amounts(swap.amount_in, swap.a_to_b, True)  # type: ignore[attr-defined]
            seen.append((out, fee, crossed) == (swap.amount_out, swap.fee, len(swap.crossings)))
        return agrees(checked, swap)

    trader._agrees = also_the_adapters_loop  # type: ignore[method-assign]
    for step in (move, -move / 2):
        before = _snapshot(net, pool)
        swap = trader.move_clmm(pool, start * (1 + step))
        assert swap is not None, trader.refused
        assert seen[-1], "the adapter's swap loop ends elsewhere"
        _check_swap(net, pool, swap, before)
        if step == move < -0.003:
            assert swap.crossings  # each pool has initialized ticks that near below
    assert not trader.mismatches
    moved = abs(price_of(pool.sqrt_price(net.store.get(address).data)) / start - 1)  # type: ignore[union-attr]
    assert moved > abs(move) / 4


def test_whirlpool_rewards_grow_to_the_clock() -> None:
    net = Simnet(manual(drive=True, seed=2))
    assert net.driver is not None
    pool = net.driver.market.clmm[WHIRLPOOLS["mSOL"]]
    before = decode_whirlpool(net.store.get(pool.address).data)  # type: ignore[union-attr]
    swap = net.driver.trader.move_clmm(pool, price_of(before.sqrt_price) * 0.999)
    assert swap is not None
    after = decode_whirlpool(net.store.get(pool.address).data)  # type: ignore[union-attr]
    now = net.chain.clock().unix_timestamp
    assert after.reward_last_updated_timestamp == now
    elapsed = now - before.reward_last_updated_timestamp
    grown = 0
    for old, new in zip(before.reward_infos, after.reward_infos, strict=True):
        if str(old.mint) == "11111111111111111111111111111111":
            assert new.growth_global_x64 == old.growth_global_x64
            continue
        delta = elapsed * old.emissions_per_second_x64 // before.liquidity
        assert new.growth_global_x64 == old.growth_global_x64 + delta
        grown += delta > 0
    assert grown == 2  # orca and MNDE emissions


def test_a_limit_order_on_the_way_stops_a_raydium_swap() -> None:
    net = Simnet(manual(drive=True, seed=2))
    assert net.driver is not None
    trader = net.driver.trader
    pool = net.driver.market.clmm[RAYDIUM_SOL_USDC]
    data = net.store.get(RAYDIUM_SOL_USDC).data  # type: ignore[union-attr]
    tick = pool.tick(data)
    ahead = pool.ticks_between(net.store, tick, tick - 100, True)[0][0]
    array = net.store.get(pool.array_key(pool.array_start(ahead)))
    assert array is not None
    at = 44 + (ahead - pool.array_start(ahead)) * 168 + 124
    orders = array.data[:at] + (5).to_bytes(8, "little") + array.data[at + 8 :]
    net.store.put(array.with_data(orders), net.chain.slot)
    target = price_of(RAYDIUM.sqrt_price_at_tick(ahead - 5))
    assert trader.move_clmm(pool, target) is None
    assert any("cannot be crossed" in reason for reason in trader.refused)
    assert pool.tick(net.store.get(RAYDIUM_SOL_USDC).data) == tick  # type: ignore[union-attr]


def test_the_price_stays_inside_the_served_arrays() -> None:
    """A target far below: swaps as far as each window reaches, then none past the
    lowest served tick array."""
    net = Simnet(manual(drive=True, seed=2))
    assert net.driver is not None
    pool = net.driver.market.clmm[WHIRLPOOLS["mSOL"]]
    ends = []
    while (swap := net.driver.trader.move_clmm(pool, 1e-9)) is not None:
        ends.append(swap.tick)
        assert len(ends) < 20
    assert len(ends) >= 2 and ends == sorted(ends, reverse=True)
    lowest = pool.array_start(ends[-1])
    assert ends[-1] == lowest  # mid-tick on the first tick of the array
    assert pool.array_key(lowest) in net.store
    assert pool.array_key(lowest - pool.span) not in net.store
    assert not net.driver.trader.mismatches


def test_pools_the_peer_cannot_execute_stand_still() -> None:
    net = Simnet(manual())
    entry = net.store.get(WHIRLPOOLS["bSOL"])
    assert entry is not None
    adaptive = entry.data[:43] + (7).to_bytes(2, "little") + entry.data[45:]
    assert "adaptive" in str(clmm_pool(entry.key, entry.owner, adaptive, net.store))
    raydium = net.store.get(RAYDIUM_SOL_USDC)
    assert raydium is not None
    for offset, value, reason in (
        (390, 1, "fees on token 0"),
        (389, 16, "disabled"),
        (1100, 1, "dynamic"),
    ):
        changed = raydium.data[:offset] + bytes([value]) + raydium.data[offset + 1 :]
        assert reason in str(clmm_pool(raydium.key, raydium.owner, changed, net.store))
    assert isinstance(clmm_pool(raydium.key, raydium.owner, raydium.data, net.store), RaydiumClmm)
