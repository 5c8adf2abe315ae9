"""AMM V4 and CPMM adapters: bad input, missing accounts, status rules, transfer fees."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.cpmm import CpmmPool
from lstarb_raydium.plugin import lstarb_dex_adapters
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_2022_PROGRAM_ID
from lstarb_sdk.testing import clock_account, load_dir, patched, token2022_mint, with_data

HERE = Path(__file__).parent
AMM_KEY = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
CP_KEY = Pubkey.from_string("7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny")
AMM_ACC = load_dir(HERE / "fixtures" / "amm_v4")
CP_ACC = load_dir(HERE / "fixtures" / "cpmm")


def _amm(accounts: dict[Pubkey, Account] | None = None) -> AmmV4Pool:
    accounts = accounts or AMM_ACC
    p = AmmV4Pool.from_account(AMM_KEY, accounts[AMM_KEY])
    p.update(accounts)
    return p


def _cp(accounts: dict[Pubkey, Account] | None = None) -> CpmmPool:
    accounts = accounts or CP_ACC
    p = CpmmPool.from_account(CP_KEY, accounts[CP_KEY])
    p.update(accounts)
    return p


def test_plugin_registers_all_three() -> None:
    names = [c.__name__ for c in lstarb_dex_adapters()]
    assert names == ["AmmV4Pool", "CpmmPool", "ClmmPool"]


@pytest.mark.parametrize(
    ("cls", "accounts", "key"), [(AmmV4Pool, AMM_ACC, AMM_KEY), (CpmmPool, CP_ACC, CP_KEY)]
)
def test_decode_errors_name_the_problem(
    cls: type[AmmV4Pool] | type[CpmmPool], accounts: dict[Pubkey, Account], key: Pubkey
) -> None:
    acc = accounts[key]
    assert cls.matches(acc)
    with pytest.raises(DecodeError, match="owner"):
        cls.from_account(key, with_data(acc, acc.data, Pubkey.new_unique()))
    with pytest.raises(DecodeError, match="truncated"):
        cls.from_account(key, with_data(acc, bytes(acc.data)[:-1]))
    with pytest.raises(DecodeError, match="expected"):
        cls.from_account(key, with_data(acc, bytes(acc.data) + b"\0"))
    assert not cls.matches(with_data(acc, bytes(acc.data)[:-1]))


def test_cpmm_wrong_discriminator() -> None:
    acc = CP_ACC[CP_KEY]
    with pytest.raises(DecodeError, match="discriminator"):
        CpmmPool.from_account(CP_KEY, patched(acc, 0, b"\x01" * 8))
    pool = _cp()
    cfg = pool.pool_state.amm_config
    with pytest.raises(DecodeError, match="discriminator"):
        pool.update({cfg: patched(CP_ACC[cfg], 0, b"\x02" * 8)})
    assert pool.amm_config is not None and pool.amm_config.trade_fee_rate == 2500


def test_amm_bad_status_and_vault_owner() -> None:
    acc = AMM_ACC[AMM_KEY]
    with pytest.raises(DecodeError, match="status 9"):
        AmmV4Pool.from_account(AMM_KEY, patched(acc, 0, (9).to_bytes(8, "little")))
    pool = _amm()
    vault = pool.amm_info.coin_vault
    with pytest.raises(DecodeError, match="token program"):
        pool.update({vault: with_data(AMM_ACC[vault], AMM_ACC[vault].data, TOKEN_2022_PROGRAM_ID)})
    with pytest.raises(DecodeError, match="mint"):
        pool.update({vault: AMM_ACC[pool.amm_info.pc_vault]})
    assert pool.reserves()[0] == 45890814872617  # old state kept


def test_missing_accounts_raise_quote_error() -> None:
    amm = AmmV4Pool.from_account(AMM_KEY, AMM_ACC[AMM_KEY])
    with pytest.raises(QuoteError, match=r"coin vault .* is not loaded"):
        amm.quote(10**9, amm.mints[0])
    cp = CpmmPool.from_account(CP_KEY, CP_ACC[CP_KEY])
    with pytest.raises(QuoteError, match=r"amm_config .* is not loaded"):
        cp.quote(10**6, cp.mints[0])
    with pytest.raises(QuoteError, match="not one of its mints"):
        _cp().quote(10, Pubkey.new_unique())
    with pytest.raises(QuoteError, match="outside"):
        _amm().quote(0, amm.mints[0])
    with pytest.raises(QuoteError, match="outside"):
        _cp().quote(2**64, cp.mints[0])


def test_accounts_to_update() -> None:
    amm = _amm()
    i = amm.amm_info
    assert amm.accounts_to_update() == [AMM_KEY, i.coin_vault, i.pc_vault]
    cp = _cp()
    s = cp.pool_state
    base = [CP_KEY, s.amm_config, s.token_0_vault, s.token_1_vault]
    assert cp.accounts_to_update() == [*base, SYSVAR_CLOCK_ID]  # open_time not yet seen passed
    cp.update({SYSVAR_CLOCK_ID: clock_account(s.open_time + 1)})
    assert cp.accounts_to_update() == base


def test_amm_status_rules() -> None:
    acc = AMM_ACC[AMM_KEY]
    for status, msg in ((1, "OpenBook"), (5, "OpenBook"), (4, "not allowed")):
        pool = _amm({**AMM_ACC, AMM_KEY: patched(acc, 0, status.to_bytes(8, "little"))})
        with pytest.raises(QuoteError, match=msg):
            pool.quote(10**9, pool.mints[0])
    waiting = patched(patched(acc, 0, (7).to_bytes(8, "little")), 224, (1000).to_bytes(8, "little"))
    pool = _amm({**AMM_ACC, AMM_KEY: waiting})
    assert SYSVAR_CLOCK_ID in pool.accounts_to_update()
    with pytest.raises(QuoteError, match="Clock"):
        pool.quote(10**9, pool.mints[0])
    pool.update({SYSVAR_CLOCK_ID: clock_account(999)})
    with pytest.raises(QuoteError, match="not open"):
        pool.quote(10**9, pool.mints[0])
    pool.update({SYSVAR_CLOCK_ID: clock_account(1000)})
    assert pool.quote(10**9, pool.mints[0]) == _amm().quote(10**9, pool.mints[0])


def test_amm_need_take_pnl_lowers_reserves() -> None:
    acc = AMM_ACC[AMM_KEY]
    pnl = patched(patched(acc, 192, (10**12).to_bytes(8, "little")), 200, (5).to_bytes(8, "little"))
    pool = _amm({**AMM_ACC, AMM_KEY: pnl})
    assert pool.reserves() == (45890814872617 - 10**12, 3656849666245 - 5)
    too_much = patched(acc, 200, (10**15).to_bytes(8, "little"))
    with pytest.raises(QuoteError, match="need_take_pnl"):
        _amm({**AMM_ACC, AMM_KEY: too_much}).quote(10**6, pool.mints[1])


def test_cpmm_swap_disabled_and_open_time() -> None:
    acc = CP_ACC[CP_KEY]
    pool = _cp({**CP_ACC, CP_KEY: patched(acc, 329, bytes([4]))})
    with pytest.raises(QuoteError, match="disabled"):
        pool.quote(10**6, pool.mints[0])
    pool = _cp()
    pool.update({SYSVAR_CLOCK_ID: clock_account(pool.pool_state.open_time - 1)})
    with pytest.raises(QuoteError, match="not open"):
        pool.quote(10**6, pool.mints[0])


def test_cpmm_creator_fee_when_enabled() -> None:
    """enable_creator_fee=1 with creator_fee_on=0: 500 ppm more is taken from the input."""
    acc = CP_ACC[CP_KEY]
    on = _cp({**CP_ACC, CP_KEY: patched(acc, 390, bytes([1]))})
    off = _cp()
    amount = 10**7
    q_on, q_off = on.quote(amount, on.mints[0]), off.quote(amount, off.mints[0])
    total = -(-amount * 3000 // 1_000_000)
    assert q_on.fee_amount == total and q_off.fee_amount == -(-amount * 2500 // 1_000_000)
    r0, r1 = on.reserves()
    assert q_on.out_amount == (amount - total) * r1 // (r0 + amount - total)
    # creator_fee_on=2 (token1 only): a token0 input pays it from the output instead
    out_side = _cp({**CP_ACC, CP_KEY: patched(patched(acc, 390, bytes([1])), 389, bytes([2]))})
    q = out_side.quote(amount, on.mints[0])
    gross = (amount - q_off.fee_amount) * r1 // (r0 + amount - q_off.fee_amount)
    assert q.out_amount == gross - -(-gross * 500 // 1_000_000)


def test_cpmm_token2022_transfer_fee_on_input() -> None:
    """token1 as a Token-2022 mint with a 1% fee: the pool sees 99% of an exact input."""
    acc = CP_ACC[CP_KEY]
    d = bytearray(acc.data)
    d[264:296] = bytes(TOKEN_2022_PROGRAM_ID)
    accounts = dict(CP_ACC)
    accounts[CP_KEY] = with_data(acc, bytes(d))
    pool = CpmmPool.from_account(CP_KEY, accounts[CP_KEY])
    s = pool.pool_state
    vault = accounts[s.token_1_vault]
    accounts[s.token_1_vault] = with_data(vault, vault.data, TOKEN_2022_PROGRAM_ID)
    assert s.token_1_mint in pool.accounts_to_update()
    pool.update({k: v for k, v in accounts.items() if k != s.token_1_mint})
    with pytest.raises(QuoteError, match=r"Token-2022 mint .* is not loaded"):
        pool.quote(10**6, s.token_1_mint)
    pool.update(
        {s.token_1_mint: token2022_mint(accounts[s.token_1_mint], fee_bps=100, max_fee=10**9)}
    )
    plain = _cp()
    q = pool.quote(10**6, s.token_1_mint)
    assert q.out_amount == plain.quote(10**6 - 10**4, s.token_1_mint).out_amount
    # exact out of token1: the vault must pay the inverse fee on top
    q = pool.quote(10**6, s.token_0_mint, exact_in=False)
    wanted = -(-(10**6) * 10_000 // 9_900)
    assert q.in_amount == plain.quote(wanted, s.token_0_mint, exact_in=False).in_amount


@pytest.mark.parametrize("which", ["amm_pool", "amm_vault", "cp_pool", "cp_config", "cp_vault"])
def test_an_account_the_chain_lacks_is_named(which: str) -> None:
    """update() maps it to None: quotes name it (not 'not loaded'), its data comes back."""
    pool = _amm() if which.startswith("amm") else _cp()
    accounts = AMM_ACC if which.startswith("amm") else CP_ACC
    listed = pool.accounts_to_update()
    position = {"amm_pool": 0, "amm_vault": 2, "cp_pool": 0, "cp_config": 1, "cp_vault": 3}
    key = listed[position[which]]
    before = pool.quote(10**6, pool.mints[0])
    pool.update({key: None})
    with pytest.raises(QuoteError, match=f"{key} does not exist on chain"):
        pool.quote(10**6, pool.mints[0])
    assert pool.summary() is None
    pool.update({key: accounts[key]})
    assert pool.quote(10**6, pool.mints[0]) == before


@pytest.mark.parametrize("creator", ["off", "on input", "on token 1"])
def test_cpmm_exact_in_terms_kept_per_update_quote_what_the_full_path_does(creator: str) -> None:
    """The exact-in terms worked out once per state give every quote the full sequence gives."""
    acc = CP_ACC[CP_KEY]
    data = {
        "off": acc,
        "on input": patched(acc, 390, bytes([1])),
        "on token 1": patched(patched(acc, 390, bytes([1])), 389, bytes([2])),
    }[creator]
    pool = _cp({**CP_ACC, CP_KEY: data})
    s = pool.pool_state
    amounts = [1, 2, 3, 401, 10**6, 10**9 + 7, 3**30, 2**63, 2**64 - 1]
    for vault_amount in (None, 10**12, 5, 0):
        if vault_amount is not None:  # a trade moves vault 0: the next quote sees it
            vault = patched(CP_ACC[s.token_0_vault], 64, vault_amount.to_bytes(8, "little"))
            pool.update({s.token_0_vault: vault})
        for mint in pool.mints:
            for amount in amounts:
                try:
                    want: object = pool._quote(amount, mint, True)
                except QuoteError as exc:
                    want = str(exc)
                try:
                    got: object = pool.quote(amount, mint)
                except QuoteError as exc:
                    got = str(exc)
                assert got == want, (vault_amount, mint, amount)
    pool.update({SYSVAR_CLOCK_ID: clock_account(s.open_time - 1)})
    with pytest.raises(QuoteError, match="not open"):
        pool.quote(10**6, pool.mints[0])
    with pytest.raises(QuoteError, match="not one of its mints"):
        _cp().quote(10**6, SYSVAR_CLOCK_ID)
