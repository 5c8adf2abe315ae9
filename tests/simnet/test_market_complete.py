"""The bundled market is complete: every account a pool reads is served, or said why not.

Checked twice: on the peer's own store (every key of every adapter's
``accounts_to_update()`` after a full update), and end to end: the rpc data source
following a driven ``lstarb simnet`` feeds a pool book in which every bundled pool of
every first-party adapter quotes both ways and publishes its state.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_rpc import RpcConfig, RpcSource
from lstarb_runtime.builtin.replay import bundled_market
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.simnet import Simnet
from lstarb_runtime.simnet.server import installed_adapters
from lstarb_runtime.simnet.synthesis import RESERVE_SHARE, STAKE_PROGRAM, VAULT_MARGIN
from lstarb_sdk import AccountUpdate, PoolAdapter
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.layout import u64

from .conftest import manual

PWRSOL = "DfiQgSvpW3Dy4gKfhtdHnWGHwFUrE8exvaxqjtMtAVxk"
LEFT_OUT_DIRECTIONS = {
    # the pool's real sol_withdraw_authority makes WithdrawSol permissioned
    (PWRSOL, "pWrSoLAhue6jUxUkbWgmEy5rD9VJzkFmvfTDV5KgNuu"): "permissioned",
}
FIRST_PARTY = {
    "raydium-amm-v4",
    "raydium-cpmm",
    "raydium-clmm",
    "pumpswap",
    "orca-whirlpool",
    "meteora-dlmm",
    "spl-stake-pool",
    "sanctum-spl",
    "sanctum-spl-multi",
    "marinade",
}


def _declared() -> dict[str, str]:
    manifest = json.loads((bundled_market() / "MANIFEST.json").read_text())
    return {
        item["pubkey"]: item["what"]
        for group in ("absent_on_chain", "not_dumped")
        for item in manifest[group]
    }


def _full_book(net: Simnet) -> PoolBook:
    """A book given every account the peer serves, until the pools ask for nothing more."""
    book = PoolBook(installed_adapters())
    for _ in range(3):
        for entry in net.store.entries():
            book.apply(entry.pubkey, entry.account())
    return book


def test_every_account_a_pool_reads_is_served_or_declared() -> None:
    net = Simnet(manual(drive=True, seed=5))
    book = _full_book(net)
    declared = _declared()
    dexes = {pool.dex for pool in book.pools.values()}
    assert dexes >= FIRST_PARTY
    missing = {
        f"{pool.dex} {address}: {key}"
        for address, pool in book.pools.items()
        for key in pool.accounts_to_update()
        if str(key) not in net.store and str(key) not in declared
    }
    assert not missing, sorted(missing)
    served = [key for key in declared if key in net.store]
    assert not served, f"declared missing but served: {served}"


def test_synthesized_accounts_follow_their_rules() -> None:
    net = Simnet(manual())
    made = {s.key: s for s in net.synthetic}
    assert Counter(s.kind for s in net.synthetic) == {
        "Orca vault": 6,  # both vaults of the 3 Whirlpools
        "reserve stake account": 3,  # JitoSOL, jupSOL, pwrSOL (bSOL, laineSOL: real dumps)
        "manager fee account": 3,
        "pool mint": 3,  # jupSOL, pwrSOL, laineSOL (the others come with the Orca sets)
        "Marinade SOL leg": 1,
        "Marinade mSOL leg": 1,
    }
    # real dumps win: bSOL's and laineSOL's reserve and fee accounts are files
    for real in (
        "rsrxDvYUXjH1RQj2Ke36LNZEVqGztATxFkqNukERqFT",
        "H2HfvQc8JcZxCvAQNdYou9jYHSo2oUU8aadqo2wQ1vK",
    ):
        assert real not in made and real in net.store
    for entry in net.store.entries():
        pool_bytes = entry.data
        if entry.owner == "SPoo1Ku8WFXoNDMHPsrGSTSG1Y47rzgn41SLUNakuHy" and len(pool_bytes) == 611:
            reserve = str(Pubkey.from_bytes(pool_bytes[130:162]))
            if reserve not in made:
                continue
            held = net.store.get(reserve)
            assert held is not None and held.owner == STAKE_PROGRAM
            authority = Pubkey.find_program_address(
                [bytes(entry.pubkey), b"withdraw"], Pubkey.from_string(entry.owner)
            )[0]
            assert u64(held.data, 0) & 0xFFFFFFFF == 1  # Initialized
            assert held.data[12:44] == held.data[44:76] == bytes(authority)
            rent = u64(held.data, 4)
            assert held.lamports - rent == round(u64(pool_bytes, 258) * RESERVE_SHARE)
    for address in ("8phK65jxmTPEN158xLgSr4oZvssw9SyTErpNZj3g7px4",):
        _check_vaults_against_floats(net, address, made)


def _check_vaults_against_floats(net: Simnet, address: str, made: dict[str, object]) -> None:
    """The vault rule, recomputed in floats from the tick arrays with the plugin's decoder:
    token B below the price, token A above it, over the served arrays."""
    from lstarb_orca.state import decode_tick_array, decode_whirlpool

    pool = decode_whirlpool(net.store.get(address).data)  # type: ignore[union-attr]
    ticks: dict[int, int] = {}
    starts = []
    for entry in net.store.entries():
        if len(entry.data) == 9988 and entry.data[9956:9988] == bytes(Pubkey.from_string(address)):
            array = decode_tick_array(entry.data)
            starts.append(array.start_tick_index)
            for i, tick in enumerate(array.ticks):
                if tick.initialized:
                    ticks[array.start_tick_index + i * pool.tick_spacing] = tick.liquidity_net
    low, high = min(starts), max(starts) + 88 * pool.tick_spacing
    price = pool.sqrt_price / 2**64

    def sqrt_at(t: int) -> float:
        return float(1.0001 ** (t / 2))

    amount_b, liquidity, current = 0.0, pool.liquidity, price
    for t in [*sorted((t for t in ticks if t <= pool.tick_current_index), reverse=True), low]:
        amount_b += liquidity * (current - sqrt_at(t))
        liquidity -= ticks.get(t, 0)
        current = sqrt_at(t)
    amount_a, liquidity, current = 0.0, pool.liquidity, price
    for t in [*sorted(t for t in ticks if t > pool.tick_current_index), high]:
        amount_a += liquidity * (1 / current - 1 / sqrt_at(t))
        liquidity += ticks.get(t, 0)
        current = sqrt_at(t)
    for vault, expected, owed in (
        (pool.token_vault_a, amount_a, pool.protocol_fee_owed_a),
        (pool.token_vault_b, amount_b, pool.protocol_fee_owed_b),
    ):
        assert str(vault) in made
        held = u64(net.store.get(str(vault)).data, 64)  # type: ignore[union-attr]
        assert (held - owed) / (1 + VAULT_MARGIN) == pytest.approx(expected, rel=1e-6)


def _sizes(book: PoolBook, pool: PoolAdapter) -> list[tuple[Pubkey, int]]:
    """An input for each direction: a thousandth of the input reserve, at most one whole
    token (a stake pool's reserve bounds what it pays out)."""
    summary = pool.summary()
    assert summary is not None, (pool.dex, pool.address)
    out = []
    for mint, reserve in zip(pool.mints, (summary.reserve_a, summary.reserve_b), strict=True):
        whole = book.whole_token(mint)
        out.append((mint, max(min(reserve // 1000, whole), whole // 1000, 1)))
    return out


async def test_rpc_source_following_simnet_quotes_every_pool_both_ways() -> None:
    async with Simnet(manual(drive=True, seed=9)) as net:
        source = RpcSource(RpcConfig(url=net.http_url, backoff_initial_s=0.05, backoff_max_s=0.3))
        book = PoolBook(installed_adapters())
        try:
            keys = [
                e.pubkey
                for e in net.store.entries()
                if e.owner != "11111111111111111111111111111111"
            ]
            pending, asked = list(keys), set(keys)
            while pending:  # the snapshot: pools, then what they ask for, as the scanner does
                fetched = await source.fetch(pending)
                wanted: list[Pubkey] = []
                for key, account in fetched.items():
                    change = book.apply(key, account, (net.chain.slot, 0))
                    if change is not None:
                        wanted.extend(change.wanted)
                pending = [k for k in dict.fromkeys(wanted) if k not in book.accounts]
                pending += [k for k in wanted if k in fetched and k not in asked]
                asked.update(pending)
            await source.subscribe(list(book.accounts))
            stream = source.stream()
            for _ in range(20):  # the market moves; every change comes as a notification
                net.step()
            seen = 0
            deadline = asyncio.get_running_loop().time() + 10
            while asyncio.get_running_loop().time() < deadline:
                try:
                    item = await asyncio.wait_for(anext(stream), 0.5)
                except TimeoutError:
                    break
                if isinstance(item, AccountUpdate):
                    seen += 1
                    account = Account(item.lamports, item.data, item.owner, item.executable, 0)
                    book.apply(item.pubkey, account, (item.slot, item.write_version))
        finally:
            await source.close()
        assert seen > 20
        assert net.driver is not None and net.driver.trades > 10
        by_dex: dict[str, int] = {}
        for address, pool in book.pools.items():
            by_dex[pool.dex] = by_dex.get(pool.dex, 0) + 1
            for mint, amount in _sizes(book, pool):
                if LEFT_OUT_DIRECTIONS.get((str(address), str(mint))):
                    with pytest.raises(
                        LstarbError, match=LEFT_OUT_DIRECTIONS[(str(address), str(mint))]
                    ):
                        pool.quote(amount, mint)
                    continue
                quote = pool.quote(amount, mint)
                assert quote.in_amount > 0 and quote.out_amount > 0, (pool.dex, address, mint)
            state = book.state(address)
            assert state is not None, (pool.dex, address)  # published on MARKET_DATA
            if pool.dex == "orca-whirlpool":
                assert (
                    state is not None
                    and state.summary.reserve_a > 0
                    and state.summary.reserve_b > 0
                )
        assert set(by_dex) >= FIRST_PARTY
        assert by_dex["orca-whirlpool"] == 3 and by_dex["spl-stake-pool"] == 3
        # the book the source fed holds exactly the peer's bytes
        for key, account in book.accounts.items():
            held = net.store.get(str(key))
            if held is None:
                assert account is None or account.lamports == 0, key
            else:
                assert account is not None and bytes(account.data) == held.data, key
