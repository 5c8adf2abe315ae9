"""Built borrow/repay pairs decode with anchorpy against the klend IDL and equal the SDK's.

The SDK's pairs (tests/oracle, getFlashLoanInstructions of @kamino-finance/klend-sdk) are
compared byte for byte and flag for flag; anchorpy checks names, args and the IDL's account
order and flags; a signed v0 transaction shows the repay names the borrow's real position.
"""

from __future__ import annotations

from typing import Any

import pytest
from kamino_testlib import WSOL, expected, idl_raw, instruction_coder, loaded, market_of, reserve
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from lstarb_kamino.config import KaminoConfig, ReserveSetting
from lstarb_kamino.constants import KLEND_PROGRAM_ID
from lstarb_kamino.provider import KaminoFunding

PAIRS = expected()["instructions"]
FIXTURE = {
    "main": "klend-reserve-sol-main-market.json",
    "jito": "klend-reserve-sol-jito-market.json",
}


def _provider(variant: str, referrer: str | None) -> KaminoFunding:
    key, acc = reserve(FIXTURE[variant])
    config = KaminoConfig(
        reserves={str(WSOL): [ReserveSetting(reserve=str(key), market=str(market_of(acc)))]},
        referrer=referrer,
    )
    return loaded((key, acc), config=config)


def _as_json(ix: Instruction) -> dict[str, Any]:
    return {
        "program_id": str(ix.program_id),
        "data_hex": bytes(ix.data).hex(),
        "accounts": [
            {"pubkey": str(m.pubkey), "signer": m.is_signer, "writable": m.is_writable}
            for m in ix.accounts
        ],
    }


@pytest.mark.parametrize(
    "pair", PAIRS, ids=[f"{p['variant']}-{p['borrow_index']}-{bool(p['referrer'])}" for p in PAIRS]
)
def test_pair_equals_the_sdk(pair: dict[str, Any]) -> None:
    provider = _provider(pair["variant"], pair["referrer"])
    swap = Instruction(Pubkey.new_unique(), b"swap", [])
    funded = provider.wrap(
        [swap],
        mint=WSOL,
        amount=int(pair["amount"]),
        user=Pubkey.from_string(pair["user"]),
        user_token_account=Pubkey.from_string(pair["user_token_account"]),
        instruction_offset=pair["borrow_index"],
    )
    borrow, middle, repay = funded.instructions
    assert middle == swap
    assert _as_json(borrow) == pair["borrow"]
    assert _as_json(repay) == pair["repay"]
    assert funded.borrow_index == pair["borrow_index"]
    assert funded.repay_amount == int(pair["amount"]) + funded.fee_amount


def _spec(name: str) -> dict[str, Any]:
    return next(i for i in idl_raw()["instructions"] if i["name"] == name)


@pytest.mark.parametrize("variant", ["main", "jito"])
@pytest.mark.parametrize("referrer", [None, "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"])
def test_pair_decodes_with_anchorpy(variant: str, referrer: str | None) -> None:
    provider = _provider(variant, referrer)
    user, ata = Pubkey.new_unique(), Pubkey.new_unique()
    funded = provider.wrap(
        [], mint=WSOL, amount=123_456_789, user=user, user_token_account=ata, instruction_offset=5
    )
    borrow, repay = funded.instructions
    coder = instruction_coder()
    for ix, name, parsed_name, args in (
        (
            borrow,
            "flashBorrowReserveLiquidity",
            "flash_borrow_reserve_liquidity",
            {"liquidity_amount": 123_456_789},
        ),
        (
            repay,
            "flashRepayReserveLiquidity",
            "flash_repay_reserve_liquidity",
            {"liquidity_amount": 123_456_789, "borrow_instruction_index": 5},
        ),
    ):
        assert ix.program_id == KLEND_PROGRAM_ID
        parsed = coder.parse(bytes(ix.data))
        assert parsed.name == parsed_name
        for key, value in args.items():
            assert getattr(parsed.data, key) == value, key
        assert len(bytes(ix.data)) == 8 + 8 + (1 if "Repay" in name else 0)
        specs = _spec(name)["accounts"]
        assert len(ix.accounts) == len(specs) == 12
        for meta, spec in zip(ix.accounts, specs, strict=True):
            absent = spec.get("isOptional") and meta.pubkey == KLEND_PROGRAM_ID
            assert meta.is_signer == spec["isSigner"], spec["name"]
            assert meta.is_writable == (spec["isMut"] and not absent), spec["name"]
        assert (referrer is None) == all(m.pubkey == KLEND_PROGRAM_ID for m in ix.accounts[8:10])
    assert [m.pubkey for m in borrow.accounts] == [m.pubkey for m in repay.accounts]
    assert borrow.accounts[0].pubkey == user and borrow.accounts[6].pubkey == ata
    assert str(borrow.accounts[10].pubkey) == "Sysvar1nstructions1111111111111111111111111"


def test_repay_names_the_borrow_in_a_signed_v0_transaction() -> None:
    """compute budget (2) + ATA creation (1) before, a tip after: the borrow lands at 3."""
    payer = Keypair()
    provider = _provider("main", None)
    ata = Pubkey.new_unique()
    prefix = [
        set_compute_unit_limit(400_000),
        set_compute_unit_price(1_000),
        Instruction(Pubkey.new_unique(), b"ata", [AccountMeta(payer.pubkey(), True, True)]),
    ]
    legs = [Instruction(Pubkey.new_unique(), bytes([i]), []) for i in range(3)]
    funded = provider.wrap(
        legs,
        mint=WSOL,
        amount=2_000_000_000,
        user=payer.pubkey(),
        user_token_account=ata,
        instruction_offset=len(prefix),
    )
    tip = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=10_000)
    )
    ixs = [*prefix, *funded.instructions, tip]
    msg = MessageV0.try_compile(payer.pubkey(), ixs, [], Hash.new_unique())
    tx = VersionedTransaction.from_bytes(bytes(VersionedTransaction(msg, [payer])))
    keys = tx.message.account_keys
    compiled = tx.message.instructions
    repay = next(
        c
        for c in compiled
        if keys[c.program_id_index] == KLEND_PROGRAM_ID and c.data[-1:] == b"\x03"
    )
    index = bytes(repay.data)[-1]
    borrow = compiled[index]
    assert keys[borrow.program_id_index] == KLEND_PROGRAM_ID
    assert bytes(borrow.data)[:8] == bytes.fromhex("87e734a70734d4c1")
    assert bytes(borrow.data)[8:16] == bytes(repay.data)[8:16]
    assert list(borrow.accounts) == list(repay.accounts)
    assert compiled.index(repay) == index + 1 + len(legs)
    assert tx.verify_with_results() == [True]
