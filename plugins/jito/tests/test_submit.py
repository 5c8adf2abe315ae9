"""sendBundle and sendTransaction against the local block engine; checks before sending."""

from __future__ import annotations

import random

import pytest
from block_engine import TIP_ACCOUNTS, BlockEngine
from jito_testlib import signed, submitter
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from lstarb_jito.bundle import bundle_id
from lstarb_sdk.errors import SubmissionError


async def test_bundle_is_accepted_with_its_id(engine: BlockEngine) -> None:
    txs = [signed(tip=None), signed(tip=5_000)]
    sub = submitter(engine)
    try:
        result = await sub.submit(txs)
    finally:
        await sub.close()
    want = bundle_id([tx.signatures[0] for tx in txs])
    assert (result.accepted, result.status, result.bundle_id) == (True, "accepted", want)
    assert result.signature == str(txs[0].signatures[0])
    assert want in engine.bundles
    (call,) = engine.calls("sendBundle")
    assert call.path == "/api/v1/bundles"
    assert call.body["params"][1] == {"encoding": "base64"}
    assert len(call.body["params"][0]) == 2


@pytest.mark.parametrize(
    ("txs", "message"),
    [
        (lambda: [signed() for _ in range(6)], "1..5 transactions, got 6"),
        (lambda: [], "1..5 transactions, got 0"),
        (lambda: [signed(tip=None)], "tips 0 lamports"),
        (
            lambda: [signed(tip=999)],
            "tips 999 lamports to the tip accounts, below the minimum 1000",
        ),
        (lambda: [signed(to=str(Pubkey.new_unique()))], "tips 0 lamports"),
        (lambda: [signed(memo=b"x" * 1200)], "over the 1232-byte limit"),
    ],
)
async def test_bad_bundles_are_refused_before_sending(
    engine: BlockEngine, txs, message: str
) -> None:  # type: ignore[no-untyped-def]
    sub = submitter(engine)
    try:
        with pytest.raises(SubmissionError, match=message):
            await sub.submit(txs())
    finally:
        await sub.close()
    assert engine.calls("sendBundle") == []


async def test_unsigned_transaction_is_refused(engine: BlockEngine) -> None:
    tx = signed()
    unsigned = VersionedTransaction.populate(tx.message, [Signature.default()])
    sub = submitter(engine)
    try:
        with pytest.raises(SubmissionError, match="transaction 0 is not fully signed"):
            await sub.submit([unsigned])
    finally:
        await sub.close()


async def test_peer_refusal_is_a_rejected_result(engine: BlockEngine) -> None:
    tx = signed()
    forged = VersionedTransaction.populate(tx.message, [Keypair().sign_message(b"other")])
    sub = submitter(engine)
    try:
        result = await sub.submit([forged])
    finally:
        await sub.close()
    assert (result.accepted, result.status) == (False, "rejected")
    assert result.error == "transaction #0 has an invalid signature"
    assert result.bundle_id == bundle_id([forged.signatures[0]])


async def test_tip_accounts_come_from_the_engine_and_are_cached() -> None:
    mine = [str(Pubkey.new_unique()) for _ in range(3)]
    now = [0.0]
    with BlockEngine(tip_accounts=mine) as engine:
        sub = submitter(engine, clock=lambda: now[0], tip_accounts_ttl_s=60)
        try:
            # a tip to Jito's default accounts is not a tip to this engine's
            with pytest.raises(SubmissionError, match="tips 0 lamports"):
                await sub.submit([signed(to=TIP_ACCOUNTS[0])])
            assert [str(k) for k in sub.tip_accounts()] == mine
            assert (await sub.submit([signed(to=mine[1])])).accepted
            assert len(engine.calls("getTipAccounts")) == 1
            now[0] = 61.0
            assert (await sub.submit([signed(to=mine[2])])).accepted
            assert len(engine.calls("getTipAccounts")) == 2
        finally:
            await sub.close()


async def test_send_transaction_bundle_only_reads_the_bundle_id_header(engine: BlockEngine) -> None:
    tx = signed(tip=2_000)
    sub = submitter(engine)
    try:
        result = await sub.send_transaction(tx, bundle_only=True)
        plain = await sub.send_transaction(signed(tip=None), bundle_only=False)
    finally:
        await sub.close()
    assert result.signature == str(tx.signatures[0]) and result.accepted
    assert result.bundle_id == bundle_id([tx.signatures[0]])
    first, second = engine.calls("sendTransaction")
    assert first.path == "/api/v1/transactions" and first.query == {"bundleOnly": ["true"]}
    assert second.query == {} and plain.accepted and plain.bundle_id is None


async def test_single_transaction_setting_routes_submit_to_send_transaction(
    engine: BlockEngine,
) -> None:
    sub = submitter(engine, single_transaction="transaction")
    try:
        assert (await sub.submit([signed()])).accepted
        assert (await sub.submit([signed(), signed()])).accepted  # two: still a bundle
    finally:
        await sub.close()
    assert len(engine.calls("sendTransaction")) == 1 and len(engine.calls("sendBundle")) == 1


def test_tip_instruction_pays_a_tip_account_last(engine: BlockEngine) -> None:
    sub = submitter(engine)
    payer = Pubkey.new_unique()
    ix = sub.tip_instruction(payer, 5_000, rng=random.Random(3))
    assert ix is not None
    assert str(ix.program_id) == "11111111111111111111111111111111"
    assert ix.accounts[0].pubkey == payer and ix.accounts[0].is_signer
    assert ix.accounts[1].pubkey in set(sub.tip_accounts())
    assert bytes(ix.data) == (2).to_bytes(4, "little") + (5_000).to_bytes(8, "little")
    assert sub.supports_bundles and sub.max_bundle_size == 5
    with pytest.raises(ValueError, match="below the minimum 1000"):
        sub.tip_instruction(payer, 999)
