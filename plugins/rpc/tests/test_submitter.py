"""The rpc submitter against simnet, where transactions really execute on LiteSVM."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest
from rpc_testlib import FaultyPeer, fast_config, manual
from solana.rpc.async_api import AsyncClient
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from lstarb_rpc import RpcSubmitter
from lstarb_runtime.simnet import Simnet
from lstarb_sdk import SubmissionResult
from lstarb_sdk.errors import SubmissionError

SOL = 10**9
RAYDIUM_AMM = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
async def net() -> AsyncIterator[Simnet]:
    async with Simnet(manual()) as peer:
        yield peer


async def funded(net: Simnet, lamports: int = 5 * SOL) -> Keypair:
    payer = Keypair()
    async with AsyncClient(net.http_url) as client:
        await client.request_airdrop(payer.pubkey(), lamports)
    return payer


def signed(payer: Keypair, blockhash: Hash, *ixs: Instruction) -> VersionedTransaction:
    return VersionedTransaction(
        MessageV0.try_compile(payer.pubkey(), list(ixs), [], blockhash), [payer]
    )


def pay(payer: Keypair, to: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))


async def confirm_while_stepping(
    net: Simnet, submitter: RpcSubmitter, sent: SubmissionResult, timeout_s: float = 10.0
) -> SubmissionResult:
    """Confirm while the peer produces slots (confirmed = one slot after landing)."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.05)
            net.step()

    ticker = asyncio.create_task(tick())
    try:
        return await submitter.confirm(sent, timeout_s=timeout_s)
    finally:
        ticker.cancel()


async def test_a_transfer_lands_and_is_confirmed(net: Simnet) -> None:
    payer = await funded(net)
    to = Keypair().pubkey()
    submitter = RpcSubmitter(fast_config(net.http_url), paper=False)
    try:
        blockhash = await submitter.blockhashes.get()
        assert str(blockhash.blockhash) == net.chain.latest_blockhash
        assert blockhash.last_valid_block_height == net.chain.last_valid_block_height
        assert submitter.blockhashes.current() == blockhash  # no round trip
        tx = signed(payer, blockhash.blockhash, pay(payer, to, SOL))
        sent = await submitter.submit([tx])
        assert sent.accepted and sent.status == "accepted"
        assert sent.signature == str(tx.signatures[0])
        landed = await confirm_while_stepping(net, submitter, sent)
    finally:
        await submitter.close()
    assert landed.status == "landed" and landed.error is None
    assert landed.slot == net.chain.statuses[sent.signature].slot
    assert net.store.get(str(to)).lamports == SOL  # type: ignore[union-attr]


async def test_preflight_refusal_reports_the_program_error_and_logs(net: Simnet) -> None:
    payer = await funded(net, SOL)
    submitter = RpcSubmitter(fast_config(net.http_url), paper=False)
    try:
        blockhash = (await submitter.blockhashes.get()).blockhash
        tx = signed(payer, blockhash, pay(payer, Keypair().pubkey(), 10 * SOL))
        refused = await submitter.submit([tx])
    finally:
        await submitter.close()
    assert not refused.accepted and refused.status == "rejected"
    assert refused.error is not None
    assert "custom program error: 0x1" in refused.error
    assert '(err {"InstructionError":[0,{"Custom":1}]})' in refused.error
    assert "insufficient lamports" in refused.error  # the program's log
    assert net.chain.statuses.get(str(tx.signatures[0])) is None


async def test_without_preflight_a_failing_transaction_lands_as_failed(net: Simnet) -> None:
    payer = await funded(net, SOL)
    submitter = RpcSubmitter(fast_config(net.http_url, skip_preflight=True), paper=False)
    try:
        blockhash = (await submitter.blockhashes.get()).blockhash
        tx = signed(payer, blockhash, pay(payer, Keypair().pubkey(), 10 * SOL))
        sent = await submitter.submit([tx])
        assert sent.status == "accepted"
        failed = await confirm_while_stepping(net, submitter, sent)
    finally:
        await submitter.close()
    assert failed.status == "failed" and failed.error == '{"InstructionError":[0,{"Custom":1}]}'
    assert net.store.get(str(payer.pubkey())).lamports == SOL - 5_000  # type: ignore[union-attr]


async def test_a_missing_program_gets_the_validator_error(net: Simnet) -> None:
    payer = await funded(net)
    call = Instruction(RAYDIUM_AMM, bytes(17), [AccountMeta(payer.pubkey(), True, True)])
    submitter = RpcSubmitter(fast_config(net.http_url), paper=False)
    loose = RpcSubmitter(fast_config(net.http_url, skip_preflight=True), paper=False)
    try:
        blockhash = (await submitter.blockhashes.get()).blockhash
        tx = signed(payer, blockhash, call)
        refused = await submitter.submit([tx])
        landed = await confirm_while_stepping(net, loose, await loose.submit([tx]))
    finally:
        await submitter.close()
        await loose.close()
    assert refused.status == "rejected" and refused.error is not None
    assert refused.error.startswith(
        "Transaction simulation failed: Attempt to load a program that does not exist"
    )
    assert "(err ProgramAccountNotFound)" in refused.error
    assert landed.status == "failed" and landed.error == "ProgramAccountNotFound"


async def test_paper_mode_never_sends(net: Simnet) -> None:
    payer = await funded(net)
    before = net.chain.transaction_count
    requests = net.http.requests
    submitter = RpcSubmitter(fast_config(net.http_url, skip_preflight=True), paper=True)
    try:
        tx = signed(
            payer, Hash.from_string(net.chain.latest_blockhash), pay(payer, payer.pubkey(), 1)
        )
        with pytest.raises(SubmissionError, match="paper mode"):
            await submitter.submit([tx])
    finally:
        await submitter.close()
    assert net.chain.transaction_count == before and net.http.requests == requests
    assert net.chain.statuses.get(str(tx.signatures[0])) is None


async def test_bundles_are_refused_they_need_a_block_engine(net: Simnet) -> None:
    payer = await funded(net)
    blockhash = Hash.from_string(net.chain.latest_blockhash)
    txs = [signed(payer, blockhash, pay(payer, Keypair().pubkey(), n)) for n in (1, 2)]
    submitter = RpcSubmitter(fast_config(net.http_url), paper=False)
    try:
        result = await submitter.submit(txs)
    finally:
        await submitter.close()
    assert result.status == "rejected" and "jito" in (result.error or "")
    assert net.chain.transaction_count == 1  # the airdrop only


async def test_an_expired_blockhash_is_invalid_and_a_slow_one_pending(net: Simnet) -> None:
    payer = await funded(net)
    submitter = RpcSubmitter(fast_config(net.http_url, skip_preflight=True), paper=False)
    try:
        blockhash = (await submitter.blockhashes.get()).blockhash
        # never lands: its blockhash is not one the node knows
        stray = signed(payer, Hash.new_unique(), pay(payer, Keypair().pubkey(), 1))
        lost = await submitter.submit([stray])
        assert lost.status == "accepted"
        verdict = await submitter.confirm(lost, timeout_s=2)
        assert verdict.status == "invalid" and "expired" in (verdict.error or "")
        # lands at "processed" but no slot passes, so "confirmed" is never reached
        slow = await submitter.submit([signed(payer, blockhash, pay(payer, payer.pubkey(), 1))])
        pending = await submitter.confirm(slow, timeout_s=0.3)
        assert pending.status == "pending" and pending.accepted
        landed = await confirm_while_stepping(net, submitter, pending)
        assert landed.status == "landed"
    finally:
        await submitter.close()


async def test_confirmation_falls_back_to_polling_without_pubsub(net: Simnet) -> None:
    payer = await funded(net)
    config = fast_config(net.http_url, ws_url="ws://127.0.0.1:9", status_poll_s=0.05)
    submitter = RpcSubmitter(config, paper=False)
    try:
        blockhash = (await submitter.blockhashes.get()).blockhash
        sent = await submitter.submit([signed(payer, blockhash, pay(payer, Keypair().pubkey(), 7))])
        landed = await confirm_while_stepping(net, submitter, sent)
    finally:
        await submitter.close()
    assert landed.status == "landed"
    assert submitter.health.counts["connection_errors"] >= 1


async def test_blockhash_cache_refreshes_ahead_and_refuses_stale_ones(net: Simnet) -> None:
    config = fast_config(net.http_url, blockhash_refresh_s=0.05, blockhash_max_age_s=0.3)
    submitter = RpcSubmitter(config, paper=False)
    try:
        with pytest.raises(SubmissionError, match="no blockhash fetched yet"):
            submitter.blockhashes.current()
        first = await submitter.blockhashes.get()
        for _ in range(3):
            net.step()
        await asyncio.sleep(0.2)
        fresh = submitter.blockhashes.current()
        assert fresh.blockhash != first.blockhash
        assert str(fresh.blockhash) == net.chain.latest_blockhash
        await net.stop()  # refreshes now fail; the cached one ages past the limit
        await asyncio.sleep(0.5)
        with pytest.raises(SubmissionError, match="s old"):
            submitter.blockhashes.current()
    finally:
        await submitter.close()


async def test_transport_failures_raise_submission_error() -> None:
    submitter = RpcSubmitter(fast_config("http://127.0.0.1:9"), paper=False)
    payer = Keypair()
    tx = signed(payer, Hash.new_unique(), pay(payer, payer.pubkey(), 1))
    try:
        with pytest.raises(SubmissionError, match="sendTransaction"):
            await submitter.submit([tx])
        unknown = SubmissionResult(str(Signature.default()), True, "accepted")
        pending = await submitter.confirm(unknown, timeout_s=0.2)
        assert pending.status == "pending"
    finally:
        await submitter.close()


async def test_send_options_reach_the_node_as_configured(net: Simnet) -> None:
    payer = await funded(net)
    async with FaultyPeer(net) as proxy:
        config = fast_config(
            proxy.http_url,
            ws_url=proxy.ws_url,
            skip_preflight=True,
            preflight_commitment="processed",
            max_retries=0,
        )
        submitter = RpcSubmitter(config, paper=False)
        try:
            blockhash = (await submitter.blockhashes.get()).blockhash
            tx = signed(payer, blockhash, pay(payer, Keypair().pubkey(), 3))
            assert (await submitter.submit([tx])).status == "accepted"
        finally:
            await submitter.close()
    [send] = [r for r in proxy.requests if r["method"] == "sendTransaction"]
    options = send["params"][1]
    assert options["skipPreflight"] is True and options["maxRetries"] == 0
    assert options["preflightCommitment"] == "processed" and options["encoding"] == "base64"
    assert VersionedTransaction.from_bytes(base64.b64decode(send["params"][0])) == tx
