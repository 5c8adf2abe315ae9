"""Update -> opportunities latency of the two-hop and triangular strategies (prints a table).

    .venv/bin/python plugins/lst/benchmarks/strategy_latency.py

Markets are generated from the real Raydium CPMM SOL/USDC pool of the bundled
market: each generated pool is that pool's accounts with new keys (pool,
mints, vaults substituted byte for byte) and vault balances scaled to a
shifted price, decoded by the real CPMM adapter. Each measured update moves
one pool's vault (a trade), applies it with ``update`` and times both
strategies' ``on_pool_update`` on it. Two markets: 16 token/SOL pairs of 3
pools each (48 pools), and 1,000 pools over 200 mints (SOL plus 199 tokens;
pools between tokens make triangles). Numbers are noisy on a shared machine.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst.config import LstConfig
from lstarb_lst.triangular import TriangularStrategy
from lstarb_lst.two_hop import TwoHopStrategy
from lstarb_raydium.plugin import lstarb_dex_adapters
from lstarb_runtime.builtin.replay import bundled_market, load_market
from lstarb_sdk.solana import WSOL_MINT

CPMM = bundled_market() / "raydium" / "cpmm" / "sol-usdc-7Juw"


def _load(name: str) -> tuple[Pubkey, Account]:
    accounts = load_market_files([CPMM / f"{name}.json"])
    return next(iter(accounts.items()))


def load_market_files(paths: list[Path]) -> dict[Pubkey, Account]:
    import json

    from lstarb_sdk.solana import account_from_json

    return dict(account_from_json(json.loads(p.read_text())) for p in paths)


def _swap_keys(data: bytes, subs: dict[bytes, bytes]) -> bytes:
    for old, new in subs.items():
        data = data.replace(old, new)
    return data


def _with(account: Account, data: bytes | None = None, lamports: int | None = None) -> Account:
    return Account(
        account.lamports if lamports is None else lamports,
        account.data if data is None else data,
        account.owner,
        account.executable,
        account.rent_epoch,
    )


class Generator:
    """Clones of the real CPMM pool between any two mints, at a chosen price."""

    def __init__(self) -> None:
        self.template = {n: _load(n) for n in ("pool", "vault_0", "vault_1", "mint_0", "mint_1")}
        self.shared = dict(load_market(CPMM))  # amm config, observation, authority
        self.cls = next(c for c in lstarb_dex_adapters() if c.dex == "raydium-cpmm")
        self.accounts: dict[Pubkey, Account] = {}

    def mint(self, key: Pubkey) -> None:
        _, acc = self.template["mint_1"]
        self.accounts[key] = acc

    def pool(self, mint_a: Pubkey, mint_b: Pubkey, reserve_a: int, reserve_b: int):
        t = self.template
        address, v0, v1 = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
        subs = {
            bytes(t["pool"][0]): bytes(address),
            bytes(t["vault_0"][0]): bytes(v0),
            bytes(t["vault_1"][0]): bytes(v1),
            bytes(t["mint_0"][0]): bytes(mint_a),
            bytes(t["mint_1"][0]): bytes(mint_b),
        }
        pool_acc = _with(t["pool"][1], _swap_keys(bytes(t["pool"][1].data), subs))
        accounts = dict(self.shared)
        accounts.update(self.accounts)
        for key, (_, tacc), amount in (
            (v0, t["vault_0"], reserve_a),
            (v1, t["vault_1"], reserve_b),
        ):
            data = bytearray(_swap_keys(bytes(tacc.data), subs))
            data[64:72] = amount.to_bytes(8, "little")
            accounts[key] = _with(tacc, bytes(data))
        pool = self.cls.from_account(address, pool_acc)
        accounts[address] = pool_acc
        accounts[mint_a] = self.template["mint_0"][1]
        accounts[mint_b] = self.template["mint_1"][1]
        for _ in range(2):
            pool.update({k: accounts[k] for k in pool.accounts_to_update() if k in accounts})
        return pool, (v0, accounts[v0]), (v1, accounts[v1])


def build_market(n_mints: int, n_pools: int, seed: int = 7):
    rng = random.Random(seed)
    gen = Generator()
    tokens = [Pubkey.new_unique() for _ in range(n_mints - 1)]
    price = {t: rng.uniform(0.5, 2.0) for t in tokens}  # SOL per token
    pools, vaults = {}, {}

    def add(a: Pubkey, b: Pubkey) -> None:
        pa = 1.0 if a == WSOL_MINT else price[a]
        pb = 1.0 if b == WSOL_MINT else price[b]
        depth = rng.uniform(500, 5000) * 10**9  # SOL value of each side
        shift = rng.uniform(0.99, 1.01)  # shifted prices: real gaps between pools
        pool, va, vb = gen.pool(a, b, int(depth / pa * shift), int(depth / pb))
        pools[pool.address] = pool
        vaults[pool.address] = (va, vb)

    per_token = max(1, n_pools // len(tokens))
    for t in tokens:
        for _ in range(per_token):
            if len(pools) % 3 == 2 and len(tokens) > 1:
                other = rng.choice([x for x in tokens if x != t])
                add(t, other)
            else:
                add(WSOL_MINT, t)
    while len(pools) < n_pools:
        add(WSOL_MINT, rng.choice(tokens))
    return pools, vaults


def measure(pools, vaults, updates: int, seed: int = 11) -> dict[str, list[int]]:
    rng = random.Random(seed)
    config = LstConfig(default_max_size=10**12)
    strategies = [TwoHopStrategy(config), TriangularStrategy(config)]
    for s in strategies:
        s.sync(pools)
    addresses = list(pools)
    samples: dict[str, list[int]] = {"two-hop": [], "triangular": [], "both": []}
    for i in range(updates):
        address = rng.choice(addresses)
        pool = pools[address]
        (key, acc) = vaults[address][i % 2]
        data = bytearray(acc.data)
        amount = int.from_bytes(data[64:72], "little")
        data[64:72] = int(amount * rng.uniform(0.995, 1.005)).to_bytes(8, "little")
        pool.update({key: _with(acc, bytes(data))})
        total = 0
        for s in strategies:
            t0 = time.perf_counter_ns()
            s.on_pool_update(pool, pools, 1000 + i)
            dt = time.perf_counter_ns() - t0
            samples[s.name].append(dt)
            total += dt
        samples["both"].append(total)
    return samples


def pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] / 1000


def main() -> None:
    updates = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print("| market | pools | mints | cycles (2 / 3) | strategy | p50 (µs) | p99 (µs) |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for label, mints, n in (("16 pairs", 17, 48), ("1,000 pools", 200, 1000)):
        pools, vaults = build_market(mints, n)
        two, tri = TwoHopStrategy(), TriangularStrategy()
        two.sync(pools)
        tri.sync(pools)
        counts = f"{len(two.cycles())} / {len(tri.cycles())}"
        samples = measure(pools, vaults, updates)
        for name in ("two-hop", "triangular", "both"):
            v = samples[name]
            print(
                f"| {label} | {len(pools)} | {mints} | {counts} | {name} | "
                f"{pct(v, 0.5):.0f} | {pct(v, 0.99):.0f} |"
            )
        _ = statistics.mean(samples["both"])


if __name__ == "__main__":
    main()
