"""ClmmPool behaviour beyond the oracle grid: bad bytes, missing accounts, a moving
price window, Token-2022 transfer fees, and the tick math round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.clmm.bitmap import tick_array_address
from lstarb_raydium.clmm.state import POOL_STATE_LEN
from lstarb_raydium.clmm.tick_math import (
    MAX_TICK,
    MIN_TICK,
    sqrt_price_at_tick,
    tick_at_sqrt_price,
)
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_2022_PROGRAM_ID
from lstarb_sdk.testing import clock_account, load_dir, patched, token2022_mint, with_data
from lstarb_sdk.types import SwapParams

FIXTURES = Path(__file__).parent / "fixtures" / "clmm"
POOL = Pubkey.from_string("CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq")
PROGRAM = ClmmPool.program_id


@pytest.fixture()
def accounts() -> dict[Pubkey, Account]:
    return load_dir(FIXTURES)


@pytest.fixture()
def pool(accounts: dict[Pubkey, Account]) -> ClmmPool:
    p = ClmmPool.from_account(POOL, accounts[POOL])
    p.update(accounts)
    return p


# -- decoding errors ------------------------------------------------------------------------


def test_from_account_rejects_wrong_owner(accounts: dict[Pubkey, Account]) -> None:
    bad = with_data(accounts[POOL], bytes(accounts[POOL].data), owner=Pubkey.new_unique())
    with pytest.raises(DecodeError, match="owner"):
        ClmmPool.from_account(POOL, bad)
    assert not ClmmPool.matches(bad)


def test_from_account_rejects_wrong_discriminator(accounts: dict[Pubkey, Account]) -> None:
    bad = patched(accounts[POOL], 0, bytes(8))
    with pytest.raises(DecodeError, match="discriminator"):
        ClmmPool.from_account(POOL, bad)
    assert not ClmmPool.matches(bad)


def test_from_account_rejects_truncated(accounts: dict[Pubkey, Account]) -> None:
    bad = with_data(accounts[POOL], bytes(accounts[POOL].data)[:1000])
    with pytest.raises(DecodeError, match=f"expected {POOL_STATE_LEN} bytes, got 1000"):
        ClmmPool.from_account(POOL, bad)


def test_matches_only_pool_states(accounts: dict[Pubkey, Account]) -> None:
    assert ClmmPool.matches(accounts[POOL])
    assert not ClmmPool.matches(accounts[tick_array_address(POOL, -25080)])


@pytest.mark.parametrize(
    ("key", "mangle", "message"),
    [
        ("amm_config", lambda d: d[:100], "amm_config .*: expected 117 bytes"),
        ("tick_array", lambda d: d[:5000], "TickArrayState: expected 10240 bytes"),
        ("tick_array", lambda d: bytes(8) + d[8:], "TickArrayState: wrong discriminator"),
        ("extension", lambda d: d[:-1], "bitmap extension .*: expected 1832 bytes"),
        ("vault", lambda d: d[:64], "expected at least 165 bytes"),
        ("pool", lambda d: d[:-8], "pool .*: expected 1544 bytes"),
    ],
)
def test_update_rejects_bad_bytes_and_keeps_state(
    pool: ClmmPool, accounts: dict[Pubkey, Account], key: str, mangle, message: str
) -> None:
    state = pool.pool_state
    target = {
        "amm_config": state.amm_config,
        "tick_array": tick_array_address(POOL, -25080),
        "extension": pool.bitmap_extension_key,
        "vault": state.token_vault_0,
        "pool": POOL,
    }[key]
    before = pool.quote(10**9, state.token_mint_0)
    keys_before = pool.accounts_to_update()
    bad = with_data(accounts[target], mangle(bytes(accounts[target].data)))
    # A good account in the same batch is not committed either.
    with pytest.raises(DecodeError, match=message):
        pool.update({POOL: accounts[POOL], target: bad})
    assert pool.quote(10**9, state.token_mint_0) == before
    assert pool.accounts_to_update() == keys_before


def test_tick_array_at_wrong_address_is_rejected(
    pool: ClmmPool, accounts: dict[Pubkey, Account]
) -> None:
    wrong = tick_array_address(POOL, -25080)
    with pytest.raises(DecodeError, match="does not match its address"):
        pool.update({wrong: accounts[tick_array_address(POOL, -25140)]})


# -- missing accounts -----------------------------------------------------------------------


def _partial(accounts: dict[Pubkey, Account], *drop: Pubkey) -> ClmmPool:
    p = ClmmPool.from_account(POOL, accounts[POOL])
    p.update({k: v for k, v in accounts.items() if k not in drop})
    return p


def test_missing_vault_names_it(accounts: dict[Pubkey, Account], pool: ClmmPool) -> None:
    vault = pool.pool_state.token_vault_1
    p = _partial(accounts, vault)
    with pytest.raises(QuoteError, match=f"vault {vault} is not loaded"):
        p.quote(1000, p.mints[0])


def test_missing_config_names_it(accounts: dict[Pubkey, Account], pool: ClmmPool) -> None:
    cfg = pool.pool_state.amm_config
    p = _partial(accounts, cfg)
    with pytest.raises(QuoteError, match=f"amm_config {cfg} is not loaded"):
        p.quote(1000, p.mints[1])


def test_missing_tick_array_names_it(accounts: dict[Pubkey, Account]) -> None:
    missing = tick_array_address(POOL, -25140)
    p = _partial(accounts, missing)
    with pytest.raises(QuoteError, match=f"tick array {missing} \\(start -25140\\) is not loaded"):
        p.quote(10**6, p.mints[0])  # the current array has no initialized tick below the price
    current = tick_array_address(POOL, -25080)
    p = _partial(accounts, current)
    with pytest.raises(QuoteError, match=str(current)):
        p.quote(1, p.mints[1])


def test_unknown_mint_and_bad_amounts(pool: ClmmPool) -> None:
    with pytest.raises(QuoteError, match="not one of its mints"):
        pool.quote(1000, Pubkey.new_unique())
    with pytest.raises(QuoteError, match="outside"):
        pool.quote(0, pool.mints[0])
    with pytest.raises(QuoteError, match="outside"):
        pool.quote(1 << 64, pool.mints[0])


def test_swap_disabled_status(pool: ClmmPool, accounts: dict[Pubkey, Account]) -> None:
    pool.update({POOL: patched(accounts[POOL], 389, bytes([1 << 4]))})
    with pytest.raises(QuoteError, match="swaps are disabled"):
        pool.quote(1000, pool.mints[0])


def test_dynamic_fee_pool_refuses(pool: ClmmPool, accounts: dict[Pubkey, Account]) -> None:
    pool.update({POOL: patched(accounts[POOL], 1096, (30).to_bytes(2, "little"))})
    with pytest.raises(QuoteError, match="dynamic-fee"):
        pool.quote(1000, pool.mints[0])


# -- the window of accounts moves with the price --------------------------------------------


def _moved_pool(accounts: dict[Pubkey, Account], tick: int) -> Account:
    """The fixture pool with its price moved to ``tick`` (liquidity left as is)."""
    acc = patched(accounts[POOL], 253, sqrt_price_at_tick(tick).to_bytes(16, "little"))
    return patched(acc, 269, tick.to_bytes(4, "little", signed=True))


def test_accounts_to_update_lists_pool_config_vaults_extension_and_arrays(
    pool: ClmmPool,
) -> None:
    s = pool.pool_state
    keys = pool.accounts_to_update()
    assert keys[:5] == [POOL, s.amm_config, s.token_vault_0, s.token_vault_1,
                        pool.bitmap_extension_key]  # fmt: skip
    arrays = keys[5:]
    # current array, 3 initialized below, 3 initialized above (pool bitmap indices)
    starts = [-25080, -25140, -25200, -25260, -25020, -24960, -24900]
    assert arrays == [tick_array_address(POOL, st) for st in starts]
    assert len(set(keys)) == len(keys)
    assert s.token_mint_0 not in keys  # classic SPL vaults: no transfer fee possible
    assert SYSVAR_CLOCK_ID not in keys


def test_accounts_to_update_moves_with_the_price(
    pool: ClmmPool, accounts: dict[Pubkey, Account]
) -> None:
    before = pool.accounts_to_update()
    pool.update({POOL: _moved_pool(accounts, -25150)})  # now inside array -25200
    after = pool.accounts_to_update()
    assert before != after
    starts = [-25200, -25260, -25320, -25380, -25140, -25080, -25020]
    assert after[5:] == [tick_array_address(POOL, st) for st in starts]
    # Arrays that left the window are dropped: a quote can't use an array no longer refreshed.
    assert sorted(pool._arrays) == [-25200, -25140, -25080, -25020]
    pool.update({POOL: _moved_pool(accounts, -24950)})  # inside -24960, not loaded
    with pytest.raises(QuoteError, match=str(tick_array_address(POOL, -24960))):
        pool.quote(10**6, pool.mints[1])
    assert sorted(pool._arrays) == [-25140, -25080, -25020]


def test_quotes_after_the_price_moved(pool: ClmmPool, accounts: dict[Pubkey, Account]) -> None:
    pool.update({POOL: _moved_pool(accounts, -25150)})
    q0 = pool.quote(10**6, pool.mints[1])
    assert q0.out_amount > 0
    pool.update({POOL: accounts[POOL]})
    q1 = pool.quote(10**6, pool.mints[1])
    assert q0.out_amount != q1.out_amount


# -- Token-2022 transfer fees ---------------------------------------------------------------


def _fee_mint(accounts: dict[Pubkey, Account], bps_old: int, bps_new: int, max_fee: int,
              new_epoch: int = 0) -> Account:  # fmt: skip
    """token1's mint rewritten as a Token-2022 mint with a TransferFeeConfig."""
    mint = accounts[ClmmPool.from_account(POOL, accounts[POOL]).mints[1]]
    return token2022_mint(
        mint, fee_bps=bps_old, max_fee=max_fee, newer_fee_bps=bps_new, newer_epoch=new_epoch
    )


def _token2022_pool(accounts: dict[Pubkey, Account], mint: Account) -> ClmmPool:
    """The fixture pool with token1's vault and mint moved to Token-2022 and a fee on the mint."""
    p = ClmmPool.from_account(POOL, accounts[POOL])
    s = p.pool_state
    accs = dict(accounts)
    v1 = accounts[s.token_vault_1]
    accs[s.token_vault_1] = Account(v1.lamports, bytes(v1.data), TOKEN_2022_PROGRAM_ID)
    accs.pop(s.token_mint_1)
    p.update(accs)
    assert s.token_mint_1 in p.accounts_to_update()
    with pytest.raises(QuoteError, match=f"Token-2022 mint {s.token_mint_1} is not loaded"):
        p.quote(10**6, s.token_mint_1)
    p.update({s.token_mint_1: mint})
    return p


def test_transfer_fee_on_input_and_output(pool: ClmmPool, accounts: dict[Pubkey, Account]) -> None:
    bps, max_fee = 150, 5_000_000
    p = _token2022_pool(accounts, _fee_mint(accounts, bps, bps, max_fee))
    m0, m1 = p.mints
    assert SYSVAR_CLOCK_ID not in p.accounts_to_update()  # the same fee in both epochs

    def fee(x: int) -> int:
        return min(-(-x * bps // 10_000), max_fee)

    # token1 in, exact in: the pool receives amount - fee.
    amount = 2_000_000_000
    q = p.quote(amount, m1)
    assert q.in_amount == amount
    assert q.out_amount == pool.quote(amount - fee(amount), m1).out_amount
    # token0 in, exact in: the trader receives the pool's output less the fee.
    q = p.quote(10**9, m0)
    gross = pool.quote(10**9, m0).out_amount
    assert q.out_amount == gross - fee(gross)
    # token0 in, exact out of token1: the pool must send enough that `out` arrives.
    out = 50_000_000
    q = p.quote(out, m0, exact_in=False)
    assert q.out_amount == out
    sent = pool.quote(out, m0, exact_in=False)
    assert q.in_amount > sent.in_amount
    gross_out = out + fee(-(-out * 10_000 // (10_000 - bps)))
    assert q.in_amount == pool.quote(gross_out, m0, exact_in=False).in_amount
    # token1 in, exact out of token0: the trader sends the swap input plus its inverse fee.
    q = p.quote(10**9, m1, exact_in=False)
    swap_in = pool.quote(10**9, m1, exact_in=False).in_amount
    pre = -(-swap_in * 10_000 // (10_000 - bps))
    assert q.in_amount == swap_in + fee(pre)


def test_epoch_dependent_fee_needs_the_clock(accounts: dict[Pubkey, Account]) -> None:
    p = _token2022_pool(accounts, _fee_mint(accounts, 100, 300, 10**12, new_epoch=950))
    m1 = p.mints[1]
    assert SYSVAR_CLOCK_ID in p.accounts_to_update()
    with pytest.raises(QuoteError, match=f"Clock sysvar {SYSVAR_CLOCK_ID} is not loaded"):
        p.quote(10**9, m1)
    outs = []
    for epoch in (949, 950):
        p.update({SYSVAR_CLOCK_ID: clock_account(1_800_000_000, epoch)})
        outs.append(p.quote(10**9, m1).out_amount)
    plain = _token2022_pool(accounts, _fee_mint(accounts, 0, 0, 0))
    # 1% before epoch 950, 3% from it on: the input net of the fee is what swaps.
    assert outs == [
        plain.quote(10**9 - 10**7, m1).out_amount,
        plain.quote(10**9 - 3 * 10**7, m1).out_amount,
    ]
    p.update({SYSVAR_CLOCK_ID: clock_account(1_000, 949)})  # before the pool's open_time
    with pytest.raises(QuoteError, match="not open"):
        p.quote(10**9, m1)


# -- tick math ------------------------------------------------------------------------------


@pytest.mark.parametrize("tick", [MIN_TICK, -443635, -25046, -1, 0, 1, 25046, 443635, MAX_TICK - 1])
def test_tick_sqrt_price_round_trip(tick: int) -> None:
    sp = sqrt_price_at_tick(tick)
    assert tick_at_sqrt_price(sp) == tick
    assert tick_at_sqrt_price(sp + 1) == tick
    if tick > MIN_TICK:
        assert tick_at_sqrt_price(sp - 1) == tick - 1


def test_pool_tick_is_consistent_with_its_price(pool: ClmmPool) -> None:
    s = pool.pool_state
    assert tick_at_sqrt_price(s.sqrt_price_x64) == s.tick_current


# -- accounts the chain does not have (SDK API 1.1: update maps them to None) -----------------


@pytest.mark.parametrize("role", ["pool", "amm_config", "vault"])
def test_an_account_the_chain_lacks_is_named(
    pool: ClmmPool, accounts: dict[Pubkey, Account], role: str
) -> None:
    s = pool.pool_state
    key = {"pool": POOL, "amm_config": s.amm_config, "vault": s.token_vault_1}[role]
    reference = pool.quote(10**6, s.token_mint_0)
    pool.update({key: None})
    with pytest.raises(QuoteError, match=f"{key} does not exist on chain"):
        pool.quote(10**6, s.token_mint_0)
    assert pool.summary() is None
    assert key in pool.accounts_to_update()  # followed still, in case it appears
    pool.update({key: accounts[key]})
    assert pool.quote(10**6, s.token_mint_0) == reference


def test_no_bitmap_extension_means_no_arrays_beyond_the_pool_bitmap(
    pool: ClmmPool, accounts: dict[Pubkey, Account]
) -> None:
    """The extension holds arrays outside [-512, 511]; without it none exist there."""
    fresh = ClmmPool.from_account(POOL, accounts[POOL])
    ext = fresh.bitmap_extension_key
    fresh.update({**accounts, ext: None})
    m0 = fresh.mints[0]
    assert fresh.quote(10**9, m0) == pool.quote(10**9, m0)
    params = SwapParams(m0, 10**9, 1, Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique())
    (ix,) = fresh.swap_instruction(params).instructions
    assert ext not in [m.pubkey for m in ix.accounts]  # an absent account cannot be passed
    (ix,) = pool.swap_instruction(params).instructions
    assert ext in [m.pubkey for m in ix.accounts]
