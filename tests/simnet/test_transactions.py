"""Transactions run for real on LiteSVM; what they change is what the peer serves after."""

from __future__ import annotations

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Processed
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.memo.instructions import MemoParams, create_memo
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import (
    SyncNativeParams,
    create_associated_token_account,
    get_associated_token_address,
    sync_native,
)

from lstarb_runtime.simnet import Simnet

RAYDIUM_AMM = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
AMM_V4_POOL = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
SOL = 10**9


async def _funded(client: AsyncClient, lamports: int = 5 * SOL) -> Keypair:
    payer = Keypair()
    await client.request_airdrop(payer.pubkey(), lamports)
    return payer


async def _tx(client: AsyncClient, payer: Keypair, ixs: list[Instruction]) -> VersionedTransaction:
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash), [payer])


async def test_transfer_lands_and_is_served_after(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        payer = await _funded(client)
        assert (await client.get_balance(payer.pubkey())).value == 5 * SOL
        to = Keypair().pubkey()
        tx = await _tx(
            client,
            payer,
            [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=SOL))],
        )
        signature = (
            await client.send_raw_transaction(bytes(tx), TxOpts(preflight_commitment=Processed))
        ).value
        assert signature == tx.signatures[0]
        assert (await client.get_balance(to)).value == SOL
        assert (await client.get_balance(payer.pubkey())).value == 4 * SOL - 5_000
        account = (await client.get_account_info(to)).value
        assert account is not None and account.lamports == SOL
        status = (await client.get_signature_statuses([signature])).value[0]
        assert status is not None and status.err is None and status.slot == net.chain.slot
        assert str(status.confirmation_status) == "TransactionConfirmationStatus.Processed"
        net.step()
        status = (await client.get_signature_statuses([signature])).value[0]
        assert status is not None and str(status.confirmation_status).endswith("Confirmed")
        assert status.confirmations == 1
        for _ in range(32):
            net.step()
        status = (await client.get_signature_statuses([signature])).value[0]
        assert status is not None and str(status.confirmation_status).endswith("Finalized")
        assert status.confirmations is None
        unknown = (await client.get_signature_statuses([Signature.default()])).value[0]
        assert unknown is None


async def test_priority_fee_is_charged_like_a_validator(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        payer = await _funded(client)
        ixs = [
            set_compute_unit_limit(50_000),
            set_compute_unit_price(200_000),  # 0.2 lamport per CU -> 10_000 lamports
            create_memo(
                MemoParams(
                    program_id=Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"),
                    signer=payer.pubkey(),
                    message=b"lstarb",
                )
            ),
        ]
        tx = await _tx(client, payer, ixs)
        await client.send_raw_transaction(bytes(tx))
        assert (await client.get_balance(payer.pubkey())).value == 5 * SOL - 5_000 - 10_000


async def test_ata_creation_and_wsol_wrap(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        payer = await _funded(client)
        owner = payer.pubkey()
        ata = get_associated_token_address(owner, WRAPPED_SOL_MINT)
        assert (await client.get_account_info(ata)).value is None
        tx = await _tx(
            client,
            payer,
            [
                create_associated_token_account(owner, owner, WRAPPED_SOL_MINT),
                transfer(TransferParams(from_pubkey=owner, to_pubkey=ata, lamports=2 * SOL)),
                sync_native(SyncNativeParams(TOKEN_PROGRAM_ID, ata)),
            ],
        )
        await client.send_raw_transaction(bytes(tx))
        account = (await client.get_account_info(ata)).value
        assert account is not None and account.owner == TOKEN_PROGRAM_ID
        assert bytes(account.data[:32]) == bytes(WRAPPED_SOL_MINT)
        assert bytes(account.data[32:64]) == bytes(owner)
        balance = (await client.get_token_account_balance(ata)).value
        assert balance.amount == str(2 * SOL) and balance.decimals == 9
        found = await client.get_token_accounts_by_owner(owner, _mint_opts())
        assert [a.pubkey for a in found.value] == [ata]


def _mint_opts():  # type: ignore[no-untyped-def]
    from solana.rpc.types import TokenAccountOpts

    return TokenAccountOpts(mint=WRAPPED_SOL_MINT)


async def test_missing_program_gets_the_validator_error(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        payer = await _funded(client)
        call = Instruction(
            RAYDIUM_AMM, bytes([9]) + bytes(16), [AccountMeta(AMM_V4_POOL, False, True)]
        )
        tx = await _tx(client, payer, [call])
        with pytest.raises(RPCException) as raised:
            await client.send_raw_transaction(bytes(tx))
        error = raised.value.args[0]
        assert isinstance(error, SendTransactionPreflightFailureMessage)
        assert error.message == (
            "Transaction simulation failed: Attempt to load a program that does not exist"
        )
        assert str(error.data.err) == "TransactionErrorFieldless.ProgramAccountNotFound"
        assert (await client.get_signature_statuses([tx.signatures[0]])).value[0] is None
        balance = (await client.get_balance(payer.pubkey())).value
        # skipping preflight, the transaction lands as a failure and pays its fee
        await client.send_raw_transaction(bytes(tx), TxOpts(skip_preflight=True))
        status = (await client.get_signature_statuses([tx.signatures[0]])).value[0]
        assert (
            status is not None
            and str(status.err) == "TransactionErrorFieldless.ProgramAccountNotFound"
        )
        assert (await client.get_balance(payer.pubkey())).value == balance - 5_000
        other_call = Instruction(RAYDIUM_AMM, bytes([9]) + bytes(15) + b"\x01", call.accounts)
        simulated = await client.simulate_transaction(await _tx(client, payer, [other_call]))
        assert str(simulated.value.err) == "TransactionErrorFieldless.ProgramAccountNotFound"


async def test_instruction_error_preflight_and_landing(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        payer = await _funded(client, SOL)
        too_much = transfer(
            TransferParams(
                from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10 * SOL
            )
        )
        tx = await _tx(client, payer, [too_much])
        with pytest.raises(RPCException) as raised:
            await client.send_raw_transaction(bytes(tx))
        error = raised.value.args[0]
        assert error.message == (
            "Transaction simulation failed: "
            "Error processing Instruction 0: custom program error: 0x1"
        )
        assert any("insufficient lamports" in line for line in error.data.logs)
        await client.send_raw_transaction(bytes(tx), TxOpts(skip_preflight=True))
        status = (await client.get_signature_statuses([tx.signatures[0]])).value[0]
        assert status is not None and status.err is not None
        assert (await client.get_balance(payer.pubkey())).value == SOL - 5_000


async def test_stale_blockhash_and_duplicates(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        payer = await _funded(client)
        ix = transfer(
            TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1_000)
        )
        tx = await _tx(client, payer, [ix])
        await client.send_raw_transaction(bytes(tx))
        with pytest.raises(RPCException, match="already been processed"):
            await client.send_raw_transaction(bytes(tx))
        old = await _tx(
            client,
            payer,
            [
                transfer(
                    TransferParams(
                        from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=2_000
                    )
                )
            ],
        )
        for _ in range(151):
            net.step()
        with pytest.raises(RPCException, match="Blockhash not found"):
            await client.send_raw_transaction(bytes(old))
        random = VersionedTransaction(
            MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.new_unique()), [payer]
        )
        assert (await client.send_raw_transaction(bytes(random), TxOpts(skip_preflight=True))).value
        assert (await client.get_signature_statuses([random.signatures[0]])).value[0] is None


async def test_simulate_reports_post_state_without_committing(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        payer = await _funded(client)
        to = Keypair().pubkey()
        tx = await _tx(
            client,
            payer,
            [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=SOL))],
        )
        result = (await client.simulate_transaction(tx, sig_verify=True)).value
        assert result.err is None and result.units_consumed == 150
        assert result.logs == [
            "Program 11111111111111111111111111111111 invoke [1]",
            "Program 11111111111111111111111111111111 success",
        ]
        assert (await client.get_balance(to)).value == 0
        forged = VersionedTransaction.populate(tx.message, [Signature.default()])
        with pytest.raises(RPCException, match="SignatureVerificationFailure"):
            await client.simulate_transaction(forged, sig_verify=True)
        unsigned = (await client.simulate_transaction(forged)).value
        assert unsigned.err is None
