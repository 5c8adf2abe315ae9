"""The peer's ShredStream: the driven market's swaps as a Jito ShredStream proxy serves them.

``lstarb simnet --drive --shredstream-port N`` serves the proxy's gRPC method
``/shredstream.ShredstreamProxy/SubscribeEntries`` on ``127.0.0.1:N``: each subscriber gets
one ``Entry`` message per slot (protobuf: ``1: slot`` varint, ``2: entries`` bytes), whose
``entries`` is the bincode of a ``Vec<solana_entry::Entry>`` (``u64`` count; per entry
``u64 num_hashes``, a 32-byte PoH hash, ``u64`` transaction count, the transactions in
wire format), as the proxy deshreds a leader's block.

What is in it: one tick entry (no transactions) and, when the driver traded, one entry with
a transaction per trade: the swap instruction the pool's own adapter builds
(``PoolAdapter.swap_instruction``, the real program, accounts and data) for the trade's
input and output, behind the compute-budget instructions, from one of a few traders' wallets
(deterministic keypairs from the seed), signed. So a ShredStream client sees which pools are
about to move and by whose hand, exactly as on mainnet.

Why it exists: the ``shredstream`` data source needs a real peer to follow, as the rpc
source follows the RPC peer. The peer sends a slot's entries first and its account
notifications ``shred_lead_ms`` later (:meth:`PubSub.hold`), as a node's notifications follow
the leader's shreds. What it does not model: lost shreds and votes. The transactions are
never executed: the driver moves the pools itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_runtime.simnet.store import AccountStore
from lstarb_sdk import PoolAdapter, SwapParams
from lstarb_sdk.solana import associated_token_address

log = logging.getLogger("lstarb.simnet")

SERVICE: Final = "shredstream.ShredstreamProxy"
METHOD: Final = "SubscribeEntries"
TRADERS: Final = 8
"""Wallets the driver's trades come from (one per trade, in turn)."""
QUEUE_SIZE: Final = 1_024
"""Slots a subscriber may fall behind before it is cut off (a proxy does not wait either)."""
_U64: Final = struct.Struct("<Q")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def entry_message(slot: int, entries: bytes) -> bytes:
    """The protobuf ``Entry`` message of the proxy's stream."""
    return b"\x08" + _varint(slot) + b"\x12" + _varint(len(entries)) + entries


def bincode_entries(entries: Sequence[tuple[int, bytes, Sequence[bytes]]]) -> bytes:
    """``Vec<Entry>`` in bincode: each entry (num_hashes, 32-byte hash, serialized
    transactions)."""
    out = bytearray(_U64.pack(len(entries)))
    for num_hashes, poh, transactions in entries:
        if len(poh) != 32:
            raise ValueError(f"an entry hash has 32 bytes, not {len(poh)}")
        out += _U64.pack(num_hashes)
        out += poh
        out += _U64.pack(len(transactions))
        for tx in transactions:
            out += tx
    return bytes(out)


class TradeTransactions:
    """The driver's trades as signed swap transactions (see the module)."""

    def __init__(self, store: AccountStore, seed: int) -> None:
        self.store = store
        self.traders = [
            Keypair.from_seed(hashlib.sha256(f"simnet trader {seed} {i}".encode()).digest())
            for i in range(TRADERS)
        ]
        self._next = 0
        self.pending: list[bytes] = []
        """This slot's transactions, not served yet."""
        self.refused = 0
        """Trades whose adapter built no instruction (counted, logged once)."""

    def _token_program(self, mint: Pubkey) -> Pubkey:
        entry = self.store.get(str(mint))
        if entry is None:
            raise ValueError(f"mint {mint} is not served")
        return Pubkey.from_string(entry.owner)

    def add(
        self,
        pool: PoolAdapter,
        input_mint: Pubkey,
        amount_in: int,
        min_out: int,
        blockhash: str,
    ) -> None:
        """A trade of ``amount_in`` into ``pool``: its transaction joins this slot's."""
        trader = self.traders[self._next % len(self.traders)]
        self._next += 1
        owner = trader.pubkey()
        mint_a, mint_b = pool.mints
        output_mint = mint_b if input_mint == mint_a else mint_a
        try:
            params = SwapParams(
                input_mint=input_mint,
                amount=amount_in,
                other_amount_threshold=min_out,
                user=owner,
                user_source_token=associated_token_address(
                    owner, input_mint, self._token_program(input_mint)
                ),
                user_destination_token=associated_token_address(
                    owner, output_mint, self._token_program(output_mint)
                ),
            )
            swap = pool.swap_instruction(params)
        except Exception as exc:  # an adapter that cannot build it: the trade goes untold
            if not self.refused:
                log.warning("simnet: no swap transaction for %s: %s", pool.address, exc)
            self.refused += 1
            return
        instructions = [
            set_compute_unit_limit(200_000),
            set_compute_unit_price(10_000),
            *swap.instructions,
        ]
        message = MessageV0.try_compile(owner, instructions, [], Hash.from_string(blockhash))
        self.pending.append(bytes(VersionedTransaction(message, [trader])))

    def take(self) -> list[bytes]:
        pending, self.pending = self.pending, []
        return pending


class ShredstreamServer:
    """The proxy's gRPC service: every subscriber gets each slot's ``Entry`` message."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._subscribers: set[asyncio.Queue[bytes | None]] = set()
        self._poh = hashlib.sha256(b"simnet poh").digest()
        self.served = 0
        """Entry messages handed to subscribers (each counted once per subscriber)."""

    @property
    def url(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def start(self) -> int:
        import grpc  # only a peer serving ShredStream needs grpcio

        server = grpc.aio.server()
        handler = grpc.unary_stream_rpc_method_handler(
            self._subscribe,
            request_deserializer=lambda data: data,
            response_serializer=lambda message: message,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler}),)
        )
        self.port = server.add_insecure_port(f"{self.host}:{self.port}")
        if not self.port:
            raise OSError(f"simnet: ShredStream could not listen on {self.host}")
        await server.start()
        self._server = server
        return self.port

    async def stop(self) -> None:
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        if self._server is not None:
            await self._server.stop(grace=0.5)
            self._server = None

    async def _subscribe(self, request: bytes, context: Any) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            while True:
                message = await queue.get()
                if message is None:
                    return
                yield message
        finally:
            self._subscribers.discard(queue)

    def publish(self, slot: int, transactions: Sequence[bytes]) -> None:
        """One slot's entries to every subscriber: a tick, then the slot's transactions."""
        entries: list[tuple[int, bytes, Sequence[bytes]]] = [(1, self._tick(), ())]
        if transactions:
            entries.append((1, self._tick(), transactions))
        message = entry_message(slot, bincode_entries(entries))
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(message)
                self.served += 1
            except asyncio.QueueFull:  # a subscriber that stopped reading is cut off
                log.warning("simnet: a ShredStream subscriber fell %d slots behind", QUEUE_SIZE)
                self._subscribers.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    def _tick(self) -> bytes:
        self._poh = hashlib.sha256(self._poh).digest()
        return self._poh
