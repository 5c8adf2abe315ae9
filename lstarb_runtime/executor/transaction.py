"""From a plan to a signed v0 transaction: the envelope around each leg's swap.

The order of a transaction (``instruction_offset`` is the length of the first part)::

    SetComputeUnitLimit, SetComputeUnitPrice       (when the plan sets them)
    create token accounts (idempotent)             (every non-SOL mint of the route)
    open the wSOL account, wrap own SOL            (when the first leg takes wrapped SOL)
    flash borrow                                   <- FundedInstructions.borrow_index
      per leg: unwrap / wrap when the leg wants SOL in the other form, then its swap
      wrap what the repay needs                    (when the last leg paid native SOL)
    flash repay                                    (names the borrow's index)
    close the wSOL account                         (unwrap what is left: the profit)
    tip transfer                                   (bundles: last, a static key)

Why SOL needs a state machine: DEX programs move wrapped SOL (the wSOL token account) while
stake-pool programs move native lamports of the wallet (the lst adapters take the wSOL mint
as the SOL side and never touch the token account). The builder asks each leg's adapter for
its instructions first, sees whether they reference the wallet's wSOL account, and converts
between the two forms only where a leg needs the other one: a close unwraps everything, a
transfer and SyncNative wrap an amount.

Everything is computed from caches (pool adapters in the book, token programs of mints,
associated token addresses, decoded lookup tables, the blockhash handed in): no I/O, so
plan -> signed transaction stays well under a millisecond (benchmarks/executor_build.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from lstarb_runtime.executor.instructions import (
    BASE_FEE_LAMPORTS,
    close_account,
    create_ata_idempotent,
    priority_fee,
    set_compute_unit_limit,
    set_compute_unit_price,
    sync_native,
    transfer_lamports,
)
from lstarb_runtime.executor.lookup_tables import LookupTableError, LookupTables
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import FundedInstructions, FundingProvider, SwapParams
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import ExecutionPlanEvent, LegEvent
from lstarb_sdk.solana import TOKEN_PROGRAM_ID, TOKEN_PROGRAMS, WSOL_MINT, associated_token_address

MAX_TRANSACTION_BYTES: Final = 1_232
"""IPv6 MTU (1,280) minus 48 bytes of headers: what a validator accepts."""
TOKEN_ACCOUNT_RENT: Final = 2_039_280
"""Rent-exempt minimum of a 165-byte token account (recovered when it is closed)."""


class BuildError(LstarbError):
    """The plan cannot become a transaction; the message is the rejection's reason."""


@dataclass(frozen=True, slots=True)
class Assembly:
    """The instructions of one plan, before compiling, and what they cost."""

    instructions: list[Instruction]
    instruction_offset: int
    """Instructions before the borrow (or before the first swap when self-funded)."""
    borrow_index: int | None
    loan_fee: int
    tip_lamports: int
    tip_account: Pubkey | None
    created_accounts: tuple[Pubkey, ...]
    """Token accounts created idempotently and kept (rent when they did not exist)."""
    lookup_tables: tuple[Pubkey, ...]
    fee_lamports: int
    """Base fee plus priority fee: what the transaction pays whether it succeeds or fails."""


@dataclass(frozen=True, slots=True)
class BuiltTransaction:
    """A signed transaction ready to send, with what it costs and where its parts are."""

    transaction: VersionedTransaction
    signature: Signature
    size: int
    assembly: Assembly


def leg_swap_params(
    leg: LegEvent, payer: Pubkey, source: Pubkey, destination: Pubkey
) -> SwapParams:
    """What a leg asks its adapter for: exactly ``in_amount`` in, at least ``min_out`` out."""
    return SwapParams(
        input_mint=leg.input_mint,
        amount=leg.in_amount,
        other_amount_threshold=leg.min_out,
        user=payer,
        user_source_token=source,
        user_destination_token=destination,
        exact_in=True,
    )


class _Sol:
    """Where the trade's SOL is while instructions are emitted (native lamports of the
    wallet, or wrapped in its wSOL account), and the instructions that move it."""

    def __init__(self, payer: Pubkey, ata: Pubkey) -> None:
        self.payer = payer
        self.ata = ata
        self.open = False
        """The wSOL account exists at this point of the transaction."""
        self.wrapped = False
        """The trade's SOL is in the wSOL account (else native)."""

    def open_account(self, out: list[Instruction]) -> None:
        if not self.open:
            out.append(
                create_ata_idempotent(self.payer, self.ata, self.payer, WSOL_MINT, TOKEN_PROGRAM_ID)
            )
            self.open = True

    def wrap(self, out: list[Instruction], lamports: int) -> None:
        self.open_account(out)
        out.append(transfer_lamports(self.payer, self.ata, lamports))
        out.append(sync_native(self.ata, TOKEN_PROGRAM_ID))
        self.wrapped = True

    def unwrap(self, out: list[Instruction]) -> None:
        """Close the account: every lamport in it (wrapped SOL and rent) goes to the wallet."""
        if self.open:
            out.append(close_account(self.ata, self.payer, self.payer, TOKEN_PROGRAM_ID))
            self.open = False
        self.wrapped = False


@dataclass(frozen=True, slots=True)
class _Swap:
    instructions: Sequence[Instruction]
    native_in: bool
    native_out: bool
    tables: Sequence[Pubkey]


class TransactionBuilder:
    """Builds plans of one book into signed transactions.

    ``book`` is the executor's pool book (the market tape): each leg's adapter builds its swap
    with the plan's amounts. ``providers`` are the funding providers by name; ``tables`` the
    decoded lookup tables (``extra_tables`` are used for every transaction).
    """

    def __init__(
        self,
        book: PoolBook,
        providers: Mapping[str, FundingProvider],
        tables: LookupTables,
        *,
        extra_tables: Sequence[Pubkey] = (),
    ) -> None:
        self.book = book
        self.providers = providers
        self.tables = tables
        self.extra_tables = tuple(extra_tables)
        self._programs: dict[Pubkey, Pubkey] = {WSOL_MINT: TOKEN_PROGRAM_ID}
        self._atas: dict[tuple[Pubkey, Pubkey], Pubkey] = {}

    # ------------------------------------------------------------------ caches
    def token_program(self, mint: Pubkey) -> Pubkey:
        """The program owning ``mint`` (from the book's copy of the mint account)."""
        program = self._programs.get(mint)
        if program is None:
            account = self.book.accounts.get(mint)
            if account is None:
                raise BuildError(f"mint {mint} is not in the executor's book")
            if account.owner not in TOKEN_PROGRAMS:
                raise BuildError(f"mint {mint} is owned by {account.owner}, not a token program")
            program = self._programs[mint] = account.owner
        return program

    def ata(self, owner: Pubkey, mint: Pubkey) -> Pubkey:
        """``owner``'s associated token account of ``mint`` (derived once: 50 µs each)."""
        key = (owner, mint)
        address = self._atas.get(key)
        if address is None:
            address = self._atas[key] = associated_token_address(
                owner, mint, self.token_program(mint)
            )
        return address

    # ------------------------------------------------------------------ assembling
    def assemble(
        self,
        plan: ExecutionPlanEvent,
        payer: Pubkey,
        *,
        tip: Instruction | None = None,
        tip_lamports: int = 0,
        existing: Collection[Pubkey] = (),
    ) -> Assembly:
        """The plan's instructions for wallet ``payer``; BuildError names what cannot be built.

        ``tip`` is the submitter's tip transfer (last); ``existing`` the token accounts the
        wallet is known to have (no creation instruction for those).
        """
        sol_ata = self.ata(payer, WSOL_MINT)
        swaps = [self._swap(i, leg, payer, sol_ata) for i, leg in enumerate(plan.legs)]
        prefix: list[Instruction] = []
        if plan.compute_unit_limit:
            prefix.append(set_compute_unit_limit(plan.compute_unit_limit))
        if plan.compute_unit_price:
            prefix.append(set_compute_unit_price(plan.compute_unit_price))
        created: list[Pubkey] = []
        for leg in plan.legs:
            for mint in (leg.input_mint, leg.output_mint):
                if mint == WSOL_MINT:
                    continue  # opened and closed by the transaction itself
                ata = self.ata(payer, mint)
                if ata not in existing and ata not in created:
                    prefix.append(
                        create_ata_idempotent(payer, ata, payer, mint, self.token_program(mint))
                    )
                    created.append(ata)
        provider = self._provider(plan)
        loan_fee = provider.fee(plan.base_mint, plan.loan_amount) if provider else 0
        if provider is not None and loan_fee > plan.loan_fee:
            raise BuildError(
                f"{provider.name}: the loan now costs {loan_fee}, the plan allowed {plan.loan_fee}"
            )
        base_is_sol = plan.base_mint == WSOL_MINT
        sol = _Sol(payer, sol_ata)
        if base_is_sol:  # before the borrow: where the loan lands, the wallet's own part
            own = plan.amount_in - plan.loan_amount
            if provider is not None:
                sol.open_account(prefix)
            if own and not swaps[0].native_in:
                sol.wrap(prefix, own)
            sol.wrapped = provider is not None or not swaps[0].native_in
        offset = len(prefix)
        body: list[Instruction] = []
        tables = set(self.extra_tables)
        for leg, swap in zip(plan.legs, swaps, strict=True):
            if leg.input_mint == WSOL_MINT:
                if swap.native_in and sol.wrapped:
                    sol.unwrap(body)
                elif not swap.native_in and not sol.wrapped:
                    sol.wrap(body, leg.in_amount)
            if leg.output_mint == WSOL_MINT:
                if not swap.native_out:
                    sol.open_account(body)
                sol.wrapped = not swap.native_out
            body.extend(swap.instructions)
            tables.update(swap.tables)
        borrow_index: int | None = None
        if provider is not None:
            if base_is_sol and not sol.wrapped:
                sol.wrap(body, plan.loan_amount + loan_fee)  # the repay takes wrapped SOL
            funded = self._wrap(provider, plan, body, payer, offset)
            borrow_index = funded.borrow_index
            body = list(funded.instructions)
            tables.update(funded.address_lookup_tables)
        out = prefix + body
        if base_is_sol:
            sol.unwrap(out)  # what is left, the profit, back to native SOL
        tip_account: Pubkey | None = None
        if tip is not None:
            out.append(tip)
            tip_account = tip.accounts[1].pubkey
        fee = BASE_FEE_LAMPORTS + priority_fee(
            plan.compute_unit_limit, plan.compute_unit_price, len(out)
        )
        return Assembly(
            out,
            offset,
            borrow_index,
            loan_fee,
            tip_lamports if tip is not None else 0,
            tip_account,
            tuple(created),
            tuple(sorted(tables, key=bytes)),
            fee,
        )

    def _provider(self, plan: ExecutionPlanEvent) -> FundingProvider | None:
        if not plan.funding_provider:
            return None
        provider = self.providers.get(plan.funding_provider)
        if provider is None:
            known = ", ".join(sorted(self.providers)) or "none"
            raise BuildError(f"funding provider {plan.funding_provider!r} is not loaded ({known})")
        return provider

    def _swap(self, i: int, leg: LegEvent, payer: Pubkey, sol_ata: Pubkey) -> _Swap:
        """Leg ``i``'s instructions, whether it takes / pays native SOL, its lookup tables."""
        pool = self.book.pools.get(leg.pool)
        if pool is None:
            raise BuildError(f"leg {i}: pool {leg.pool} is not in the executor's book")
        params = leg_swap_params(
            leg, payer, self.ata(payer, leg.input_mint), self.ata(payer, leg.output_mint)
        )
        try:
            built = pool.swap_instruction(params)
        except LstarbError as exc:
            raise BuildError(f"leg {i} ({pool.dex} {leg.pool}): {exc}") from None
        except Exception as exc:  # plugin code: a bug must not take the executor down
            raise BuildError(
                f"leg {i} ({pool.dex} {leg.pool}): swap_instruction raised {exc!r}"
            ) from None
        ixs = built.instructions
        touches_sol_ata = any(m.pubkey == sol_ata for ix in ixs for m in ix.accounts)
        return _Swap(
            ixs,
            leg.input_mint == WSOL_MINT and not touches_sol_ata,
            leg.output_mint == WSOL_MINT and not touches_sol_ata,
            built.address_lookup_tables,
        )

    def _wrap(
        self,
        provider: FundingProvider,
        plan: ExecutionPlanEvent,
        body: list[Instruction],
        payer: Pubkey,
        offset: int,
    ) -> FundedInstructions:
        try:
            funded = provider.wrap(
                body,
                mint=plan.base_mint,
                amount=plan.loan_amount,
                user=payer,
                user_token_account=self.ata(payer, plan.base_mint),
                instruction_offset=offset,
            )
        except LstarbError as exc:
            raise BuildError(f"{provider.name}: {exc}") from None
        except Exception as exc:
            raise BuildError(f"{provider.name}: wrap raised {exc!r}") from None
        if funded.borrow_index != offset:
            raise BuildError(
                f"{provider.name}: the borrow was placed at {funded.borrow_index}, "
                f"it lands at {offset}"
            )
        return funded

    # ------------------------------------------------------------------ compiling, signing
    def compile(self, assembly: Assembly, payer: Pubkey, blockhash: Hash) -> MessageV0:
        """The v0 message; BuildError when a table is missing or the tip would not be static."""
        try:
            tables: list[AddressLookupTableAccount] = [
                self.tables.get(k) for k in assembly.lookup_tables
            ]
        except LookupTableError as exc:
            raise BuildError(str(exc)) from None
        try:
            message = MessageV0.try_compile(payer, assembly.instructions, tables, blockhash)
        except Exception as exc:  # solders: too many accounts, bad index
            raise BuildError(f"the message does not compile: {exc}") from None
        if assembly.tip_account is not None and assembly.tip_account not in message.account_keys:
            raise BuildError(
                f"the tip account {assembly.tip_account} would be loaded through a lookup "
                "table; block engines need it as a static key"
            )
        return message

    def sign(
        self,
        message: MessageV0,
        keypair: Keypair,
        assembly: Assembly,
        *,
        pubkey: Pubkey | None = None,
    ) -> BuiltTransaction:
        """Sign; BuildError when the transaction is larger than a validator accepts.
        ``pubkey``: ``keypair``'s, when the caller holds it (see :func:`signed`)."""
        tx = signed(message, keypair, pubkey)
        size = len(bytes(tx))
        if size > MAX_TRANSACTION_BYTES:
            raise BuildError(
                f"the transaction is {size} bytes, above the {MAX_TRANSACTION_BYTES} a "
                f"validator accepts ({len(assembly.instructions)} instructions, "
                f"{len(message.account_keys)} static keys, "
                f"{len(assembly.lookup_tables)} lookup tables)"
            )
        return BuiltTransaction(tx, tx.signatures[0], size, assembly)

    def build(
        self,
        plan: ExecutionPlanEvent,
        keypair: Keypair,
        blockhash: Hash,
        *,
        tip: Instruction | None = None,
        tip_lamports: int = 0,
        existing: Collection[Pubkey] = (),
    ) -> BuiltTransaction:
        """Assemble, compile and sign ``plan`` for ``keypair``'s wallet."""
        payer = keypair.pubkey()
        assembly = self.assemble(plan, payer, tip=tip, tip_lamports=tip_lamports, existing=existing)
        return self.sign(self.compile(assembly, payer, blockhash), keypair, assembly, pubkey=payer)


def signed(
    message: MessageV0, keypair: Keypair, pubkey: Pubkey | None = None
) -> VersionedTransaction:
    """``VersionedTransaction(message, [keypair])`` at half its cost.

    A message whose one signer is ``keypair`` (the executor's, paying) is signed directly
    and the transaction put together from the signature: the same bytes (ed25519 is
    deterministic) without the constructor's second pass over the message (about 30 us of
    its 60). Any other message goes through the constructor, which checks the signers.
    ``pubkey`` is ``keypair.pubkey()`` when the caller holds it (a wallet does): solders
    derives the public key from the secret on every ``pubkey()`` call, about as costly as
    the rest of this function without the signature.
    """
    if pubkey is None:
        pubkey = keypair.pubkey()
    if message.header.num_required_signatures != 1 or message.account_keys[0] != pubkey:
        return VersionedTransaction(message, [keypair])
    return VersionedTransaction.populate(
        message, [keypair.sign_message(to_bytes_versioned(message))]
    )
