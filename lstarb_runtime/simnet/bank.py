"""Transactions, executed for real on ``solders.litesvm`` against the served accounts.

The account store is the truth; LiteSVM holds copies. Before a transaction runs, every
account it names (static keys and lookup-table addresses) is copied in where the store
changed it since the last copy; after a sent transaction, every one of them is read back
and written to the store, so getAccountInfo and subscriptions see what it did.

What a validator checks before it executes is checked here in the same order, because
LiteSVM words some failures differently: the status cache (AlreadyProcessed) and the
blockhash queue (BlockhashNotFound), the fee payer (AccountNotFound,
InsufficientFundsForFee, with the priority fee counted, which LiteSVM does not charge),
lookup tables, then the programs: a top-level program that LiteSVM does not have is
``ProgramAccountNotFound`` (LiteSVM would say InvalidProgramForExecution), an account
that exists but is no program is ``InvalidProgramForExecution``.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from solders.account import Account
from solders.clock import Clock as SvmClock
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcSimulateTransactionResult
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from lstarb_runtime.simnet.chain import Chain
from lstarb_runtime.simnet.encoding import b58encode
from lstarb_runtime.simnet.store import AccountStore, Entry
from lstarb_sdk.solana import COMPUTE_BUDGET_PROGRAM_ID, SYSTEM_PROGRAM_ID

log = logging.getLogger("lstarb.simnet")

LAMPORTS_PER_SIGNATURE = 5_000
DEFAULT_INSTRUCTION_CU = 200_000
MAX_CU = 1_400_000
LOOKUP_TABLE_META_SIZE = 56
LOADERS = frozenset(
    {
        "NativeLoader1111111111111111111111111111111",
        "BPFLoader1111111111111111111111111111111111",
        "BPFLoader2111111111111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "LoaderV411111111111111111111111111111111111",
    }
)
_COMPUTE_BUDGET = str(COMPUTE_BUDGET_PROGRAM_ID)
_SYSVAR = "Sysvar1111111111111111111111111111111111111"

FIELDLESS_MESSAGES = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "InvalidAddressLookupTableOwner": (
        "Transaction loads an address table account with an invalid owner"
    ),
    "InvalidAddressLookupTableData": (
        "Transaction loads an address table account with invalid data"
    ),
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "UnsupportedVersion": "Transaction version is unsupported",
    "MaxLoadedAccountsDataSizeExceeded": ("Transaction exceeded max loaded accounts data size cap"),
}


class TxRejected(Exception):
    """The transaction was refused before it ran (the error is in RPC JSON form)."""

    def __init__(self, err: Any) -> None:
        super().__init__(describe_error(err))
        self.err = err


@dataclass
class Outcome:
    """What running (or simulating) a transaction gave."""

    signature: str
    err: Any
    logs: list[str] = field(default_factory=list)
    units_consumed: int = 0
    return_data: dict[str, Any] | None = None
    inner_instructions: list[dict[str, Any]] | None = None
    post_accounts: dict[str, Entry | None] = field(default_factory=dict)
    fee: int = 0
    priority_fee_per_cu: int = 0


class Bank:
    """LiteSVM behind the account store."""

    def __init__(self, store: AccountStore, chain: Chain) -> None:
        self.store = store
        self.chain = chain
        self.svm = LiteSVM()
        self.svm.with_blockhash_check(False)  # the chain's blockhash queue decides
        self.svm.with_sigverify(False)  # signatures are verified before, per the request
        self._pushed: dict[str, Entry] = {}
        self._clock_slot = -1
        self._builtin: dict[str, str] = {}

    # ------------------------------------------------------------ checks
    def _kind(self, key: str) -> str:
        """ "program", "sysvar" or "" for an account LiteSVM provides itself (asked once per
        key: a program account is large to copy out of LiteSVM)."""
        kind = self._builtin.get(key)
        if kind is None:
            account = self.svm.get_account(Pubkey.from_string(key))
            if account is not None and account.executable:
                kind = "program"
            elif account is not None and str(account.owner) == _SYSVAR:
                kind = "sysvar"
            else:
                kind = ""
            self._builtin[key] = kind
        return kind

    def has_program(self, key: str) -> bool:
        return self._kind(key) == "program"

    def builtin(self, key: str) -> bool:
        """Programs and sysvars LiteSVM provides: never copied from the store."""
        return self._kind(key) != ""

    def account_keys(self, tx: VersionedTransaction) -> list[str]:
        """Static keys, then writable and read-only lookup-table addresses, in message order."""
        message = tx.message
        keys = [str(k) for k in message.account_keys]
        if isinstance(message, MessageV0) and message.address_table_lookups:
            writable: list[str] = []
            readonly: list[str] = []
            for lookup in message.address_table_lookups:
                table = self.store.get(str(lookup.account_key))
                if table is None:
                    raise TxRejected("AddressLookupTableNotFound")
                if table.owner != "AddressLookupTab1e1111111111111111111111111":
                    raise TxRejected("InvalidAddressLookupTableOwner")
                body = table.data[LOOKUP_TABLE_META_SIZE:]
                addresses = [
                    str(Pubkey.from_bytes(body[i : i + 32])) for i in range(0, len(body), 32)
                ]
                for indexes, into in (
                    (lookup.writable_indexes, writable),
                    (lookup.readonly_indexes, readonly),
                ):
                    for index in bytes(indexes):
                        if index >= len(addresses):
                            raise TxRejected("InvalidAddressLookupTableIndex")
                        into.append(addresses[index])
            keys += writable + readonly
        return keys

    def fees(self, tx: VersionedTransaction, keys: list[str]) -> tuple[int, int, int]:
        """(total fee, priority fee, micro-lamports per CU) as a validator charges them."""
        message = tx.message
        limit: int | None = None
        price = 0
        others = 0
        for ix in message.instructions:
            if keys[ix.program_id_index] != _COMPUTE_BUDGET:
                others += 1
                continue
            data = bytes(ix.data)
            if data[:1] == b"\x02" and len(data) >= 5:
                limit = int.from_bytes(data[1:5], "little")
            elif data[:1] == b"\x03" and len(data) >= 9:
                price = int.from_bytes(data[1:9], "little")
        units = min(MAX_CU, limit if limit is not None else DEFAULT_INSTRUCTION_CU * others)
        priority = -(-units * price // 1_000_000)
        base = LAMPORTS_PER_SIGNATURE * message.header.num_required_signatures
        return base + priority, priority, price

    def _precheck(
        self, tx: VersionedTransaction, *, check_blockhash: bool
    ) -> tuple[list[str], int, int, int]:
        signature = str(tx.signatures[0])
        if signature in self.chain.statuses:
            raise TxRejected("AlreadyProcessed")
        if check_blockhash and not self.chain.blockhash_valid(str(tx.message.recent_blockhash)):
            raise TxRejected("BlockhashNotFound")
        keys = self.account_keys(tx)
        fee, priority, price = self.fees(tx, keys)
        payer = self.store.get(keys[0])
        if payer is None:
            raise TxRejected("AccountNotFound")
        if payer.owner != str(SYSTEM_PROGRAM_ID):
            raise TxRejected("InvalidAccountForFee")
        if payer.lamports < fee:
            raise TxRejected("InsufficientFundsForFee")
        for ix in tx.message.instructions:
            program = keys[ix.program_id_index]
            if self.has_program(program):
                continue
            held = self.store.get(program)
            if held is not None and held.owner not in LOADERS:
                raise TxRejected("InvalidProgramForExecution")
            if held is not None:
                log.warning("simnet: program %s is served but LiteSVM cannot run it", program)
            raise TxRejected("ProgramAccountNotFound")
        return keys, fee, priority, price

    # ------------------------------------------------------------ execution
    def _push(self, keys: list[str]) -> None:
        """Copy into LiteSVM the accounts the store changed since the last copy."""
        if self._clock_slot != self.chain.slot:
            c = self.chain.clock()
            self.svm.set_clock(
                SvmClock(
                    c.slot,
                    c.epoch_start_timestamp,
                    c.epoch,
                    c.leader_schedule_epoch,
                    c.unix_timestamp,
                )
            )
            self._clock_slot = self.chain.slot
        for key in keys:
            entry = self.store.get(key)
            if entry is None:
                if key in self._pushed:  # closed in the store since: close it here too
                    del self._pushed[key]
                    self.svm.set_account(Pubkey.from_string(key), _EMPTY)
                continue
            if self._pushed.get(key) is entry or self.builtin(key):
                continue
            self.svm.set_account(Pubkey.from_string(key), entry.account())
            self._pushed[key] = entry

    def _pull(self, keys: list[str], payer_extra: int) -> None:
        """Write back what the transaction changed; the fee payer also pays the priority fee."""
        for i, key in enumerate(dict.fromkeys(keys)):
            pubkey = Pubkey.from_string(key)
            if self.builtin(key):
                continue
            account = self.svm.get_account(pubkey) or _EMPTY
            if i == 0 and payer_extra:
                account = _debit(account, payer_extra)
                self.svm.set_account(pubkey, account)
            entry = Entry.of(key, account)
            self.store.put(entry, self.chain.slot)
            stored = self.store.get(key)
            if stored is not None:
                self._pushed[key] = stored
            else:
                self._pushed.pop(key, None)

    def simulate(
        self,
        tx: VersionedTransaction,
        *,
        check_blockhash: bool = True,
        want_accounts: list[str] | None = None,
        inner_instructions: bool = False,
    ) -> Outcome:
        signature = str(tx.signatures[0])
        try:
            keys, fee, priority, price = self._precheck(tx, check_blockhash=check_blockhash)
        except TxRejected as exc:
            return Outcome(signature, exc.err)
        self._push(keys + (want_accounts or []))
        result = self.svm.simulate_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            outcome = _outcome(
                signature, result.meta(), _err_json(result.err()), inner_instructions
            )
            outcome.fee = fee
            return outcome
        outcome = _outcome(signature, result.meta(), None, inner_instructions)
        outcome.fee, outcome.priority_fee_per_cu = fee, price
        post = {str(k): a for k, a in result.post_accounts()}
        for key in want_accounts or []:
            account = post.get(key)
            if account is not None and key == keys[0] and priority:
                account = _debit(account, priority)
            if account is None:
                entry = self.store.get(key)
                outcome.post_accounts[key] = entry
            else:
                outcome.post_accounts[key] = Entry.of(key, account) if account.lamports else None
        return outcome

    def send(self, tx: VersionedTransaction) -> Outcome:
        """Execute and commit; a transaction that fails in execution still pays its fee."""
        signature = str(tx.signatures[0])
        keys, fee, priority, price = self._precheck(tx, check_blockhash=True)
        self._push(keys)
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            outcome = _outcome(signature, result.meta(), _err_json(result.err()), False)
        else:
            outcome = _outcome(signature, result, None, False)
        outcome.fee, outcome.priority_fee_per_cu = fee, price
        self._pull(keys, priority)
        self.chain.record(signature, outcome.err, price)
        return outcome

    def charge_fee_only(self, tx: VersionedTransaction, err: Any) -> None:
        """A transaction refused while its accounts load (a missing program) still lands and
        pays its fee when preflight is skipped, as on a validator."""
        keys = self.account_keys(tx)
        fee, _, _ = self.fees(tx, keys)
        payer = self.store.get(keys[0])
        if payer is not None:
            self.store.put(
                Entry(
                    payer.key,
                    payer.lamports - fee,
                    payer.data,
                    payer.owner,
                    payer.executable,
                    payer.rent_epoch,
                ),
                self.chain.slot,
            )
        self.chain.record(str(tx.signatures[0]), err)

    def airdrop(self, key: str, lamports: int) -> str:
        self._push([key])
        result = self.svm.airdrop(Pubkey.from_string(key), lamports)
        if isinstance(result, FailedTransactionMetadata):
            raise TxRejected(_err_json(result.err()))
        self._pull([key], 0)
        signature = str(result.signature())
        self.chain.record(signature, None)
        return signature


_EMPTY = Account(0, b"", SYSTEM_PROGRAM_ID, False, 0)


def _debit(account: Account, lamports: int) -> Account:
    return Account(
        account.lamports - lamports,
        account.data,
        account.owner,
        account.executable,
        account.rent_epoch,
    )


def _err_json(err: Any) -> Any:
    """A solders TransactionError in the RPC's JSON form (``"BlockhashNotFound"``, ...)."""
    return json.loads(RpcSimulateTransactionResult(err=err).to_json())["err"]


def _outcome(signature: str, meta: TransactionMetadata, err: Any, inner: bool) -> Outcome:
    untyped: Any = meta  # solders 0.26's stubs name it transaction_return_data; it is return_data
    data = untyped.return_data()
    raw = bytes(data.data)
    return Outcome(
        signature=signature,
        err=err,
        logs=list(meta.logs()),
        units_consumed=meta.compute_units_consumed(),
        return_data=(
            {"programId": str(data.program_id), "data": [base64.b64encode(raw).decode(), "base64"]}
            if raw
            else None
        ),
        inner_instructions=_inner(meta) if inner else None,
    )


def _inner(meta: TransactionMetadata) -> list[dict[str, Any]]:
    groups = []
    for index, group in enumerate(meta.inner_instructions()):
        if not group:
            continue
        groups.append(
            {
                "index": index,
                "instructions": [_inner_json(ix) for ix in group],
            }
        )
    return groups


def _inner_json(ix: Any) -> dict[str, Any]:
    compiled = ix.instruction()
    return {
        "programIdIndex": compiled.program_id_index,
        "accounts": list(bytes(compiled.accounts)),
        "data": b58encode(bytes(compiled.data)),
        "stackHeight": ix.stack_height(),
    }


def describe_error(err: Any) -> str:
    """A TransactionError as a validator prints it (Rust's Display of the enum)."""
    if isinstance(err, str):
        return FIELDLESS_MESSAGES.get(err, err)
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        if isinstance(inner, dict) and "Custom" in inner:
            detail = f"custom program error: {inner['Custom']:#x}"
        else:
            detail = _INSTRUCTION_MESSAGES.get(str(inner), str(inner))
        return f"Error processing Instruction {index}: {detail}"
    if isinstance(err, dict) and "InsufficientFundsForRent" in err:
        index = err["InsufficientFundsForRent"]["account_index"]
        return f"Transaction results in an account ({index}) with insufficient funds for rent"
    return json.dumps(err)


_INSTRUCTION_MESSAGES = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountNotRentExempt": "account does not have enough lamports to be rent-exempt",
    "IllegalOwner": "Provided owner is not allowed",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "InvalidAccountOwner": "Invalid account owner",
}
