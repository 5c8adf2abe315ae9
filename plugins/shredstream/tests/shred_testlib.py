"""What the shredstream tests share: real transactions, a bincode encoder of entries, and a
real gRPC server on loopback that speaks the proxy's protocol.

The encoder is the test's own, written from the layout (u64 little-endian counts, the
transactions in wire format as solders serializes them), so the walker is checked against
bytes it did not produce. The server is grpcio's own aio server with a generic handler for
``/shredstream.ShredstreamProxy/SubscribeEntries`` that sends each subscriber the raw
messages a test hands it, bytes as given, so a test can send malformed ones too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import grpc
from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_shredstream.protobuf import encode_entry

FIXTURES = Path(__file__).parent / "fixtures"
VOTE_PROGRAM = Pubkey.from_string("Vote111111111111111111111111111111111111111")
WHIRLPOOL_PROGRAM = Pubkey.from_string("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc")


def fixture_account(name: str) -> tuple[Pubkey, Account]:
    doc = json.loads((FIXTURES / name).read_text())
    account = Account(
        doc["lamports"],
        base64.b64decode(doc["data_base64"]),
        Pubkey.from_string(doc["owner"]),
        doc["executable"],
        doc.get("rent_epoch") or 0,
    )
    return Pubkey.from_string(doc["pubkey"]), account


def whirlpool_keys() -> tuple[Pubkey, Pubkey, Pubkey]:
    """The JitoSOL/SOL Whirlpool of the fixture and its two vaults (real mainnet keys), read
    at the Whirlpool account's offsets of token_vault_a and token_vault_b."""
    pool, account = fixture_account("jitosol_sol_whirlpool.json")
    data = bytes(account.data)
    return pool, Pubkey.from_bytes(data[133:165]), Pubkey.from_bytes(data[213:245])


# -- transactions ----------------------------------------------------------------------------


def transaction(
    payer: Keypair,
    instructions: Sequence[Instruction],
    *,
    v0: bool = False,
    tables: Sequence[AddressLookupTableAccount] = (),
    signers: Sequence[Keypair] = (),
    blockhash: Hash | None = None,
) -> VersionedTransaction:
    """A signed legacy or v0 transaction (solders compiles the message and its header)."""
    blockhash = blockhash or Hash.new_unique()
    message: Message | MessageV0
    if v0:
        message = MessageV0.try_compile(payer.pubkey(), instructions, list(tables), blockhash)
    else:
        message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
    return VersionedTransaction(message, [payer, *signers])


def swap(
    payer: Keypair, pool: Pubkey, vault_a: Pubkey, vault_b: Pubkey, **kw: object
) -> VersionedTransaction:
    """A transaction shaped like a Whirlpool swap: it writes the pool and both vaults."""
    metas = [
        AccountMeta(pool, False, True),
        AccountMeta(vault_a, False, True),
        AccountMeta(vault_b, False, True),
        AccountMeta(Pubkey.new_unique(), False, False),
    ]
    return transaction(payer, [Instruction(WHIRLPOOL_PROGRAM, b"\xf8\xc6", metas)], **kw)  # type: ignore[arg-type]


def vote(node: Keypair | None = None) -> VersionedTransaction:
    node = node or Keypair()
    vote_account = Pubkey.new_unique()
    metas = [AccountMeta(vote_account, False, True), AccountMeta(node.pubkey(), True, False)]
    return transaction(node, [Instruction(VOTE_PROGRAM, bytes(range(40)), metas)])


def random_transaction(
    rng: random.Random, pool_keys: Sequence[Pubkey] = ()
) -> VersionedTransaction:
    """A transaction of random shape: legacy or v0 (with tables), 1 to 3 signers, 1 to 4
    instructions of 0 to 12 accounts each (random signer/writable flags, some keys given),
    0 to 300 bytes of data; long enough to need two-byte compact lengths sometimes."""
    payer = Keypair()
    signers = [Keypair() for _ in range(rng.randint(0, 2))]
    pool = [Pubkey.new_unique() for _ in range(rng.randint(1, 20))] + list(pool_keys)
    instructions = []
    for _ in range(rng.randint(1, 4)):
        metas = [
            AccountMeta(rng.choice(pool), False, rng.random() < 0.5)
            for _ in range(rng.randint(0, 12))
        ]
        metas += [AccountMeta(s.pubkey(), True, rng.random() < 0.5) for s in signers]
        data = rng.randbytes(rng.choice([0, 5, 40, 129, 300]))
        instructions.append(Instruction(rng.choice(pool), data, metas))
    v0 = rng.random() < 0.5
    tables = []
    if v0:
        for _ in range(rng.randint(0, 2)):
            tables.append(
                AddressLookupTableAccount(Pubkey.new_unique(), rng.sample(pool, min(4, len(pool))))
            )
    return transaction(payer, instructions, v0=v0, tables=tables, signers=signers)


# -- bincode entries -------------------------------------------------------------------------


def encode_entries(entries: Sequence[Sequence[VersionedTransaction]]) -> bytes:
    """bincode ``Vec<Entry>``: u64 count; each entry num_hashes u64, hash [32], u64 count,
    transactions in wire format (no length prefix). An empty list is a tick."""
    out = bytearray(len(entries).to_bytes(8, "little"))
    for i, txs in enumerate(entries):
        out += (12_500 + i).to_bytes(8, "little")
        out += bytes(Hash.new_unique())
        out += len(txs).to_bytes(8, "little")
        for tx in txs:
            out += bytes(tx)
    return bytes(out)


def message(slot: int, entries: Sequence[Sequence[VersionedTransaction]]) -> bytes:
    """One proxy stream item: protobuf Entry{slot, entries}."""
    return encode_entry(slot, encode_entries(entries))


# -- the proxy -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """A real gRPC server speaking shredstream-proxy's SubscribeEntries, on 127.0.0.1."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"127.0.0.1:{self.port}"
        self.subscribers: list[asyncio.Queue[bytes | None]] = []
        self.requests: list[bytes] = []
        self.server: grpc.aio.Server | None = None

    async def start(self) -> Proxy:
        server = grpc.aio.server()
        handler = grpc.unary_stream_rpc_method_handler(self._subscribe)  # bytes in, bytes out
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    "shredstream.ShredstreamProxy", {"SubscribeEntries": handler}
                )
            ]
        )
        bound = server.add_insecure_port(self.url)
        assert bound == self.port, f"could not bind {self.url}"
        await server.start()
        self.server = server
        return self

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving: at once, open streams cut (the client sees UNAVAILABLE), or with
        ``grace`` seconds for open streams to end."""
        if self.server is not None:
            await self.server.stop(grace)
            self.server = None
        self.subscribers.clear()

    async def _subscribe(self, request: bytes, context: object) -> AsyncIterator[bytes]:
        self.requests.append(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.subscribers.append(queue)
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            if queue in self.subscribers:
                self.subscribers.remove(queue)

    async def connected(self, n: int = 1, timeout: float = 10) -> None:
        """Wait until ``n`` subscriptions were made since the start (the n-th is streaming)."""
        async with asyncio.timeout(timeout):
            while len(self.requests) < n:
                await asyncio.sleep(0.01)

    def send(self, raw: bytes) -> None:
        """Send one raw message (a well-formed Entry or not) to every subscriber."""
        for queue in self.subscribers:
            queue.put_nowait(raw)

    def end_streams(self) -> None:
        """End every open stream normally (status OK), as a proxy that restarts its feed."""
        for queue in self.subscribers:
            queue.put_nowait(None)
