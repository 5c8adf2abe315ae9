"""The HTTP JSON-RPC methods: params checked and answered as Agave answers them.

Each handler takes the ``params`` array and returns the ``result`` value; failures raise
:class:`RpcError`. Read methods answer from the one bank the peer has, whatever the
commitment (all three name the same state here); ``minContextSlot`` is honoured.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from lstarb_runtime.simnet.bank import TxRejected, describe_error
from lstarb_runtime.simnet.encoding import (
    AccountConfig,
    account_config,
    account_json,
    account_text,
    b58decode,
    commitment_of,
    config_object,
    parse_filters,
    passes,
)
from lstarb_runtime.simnet.errors import (
    SEND_TRANSACTION_PREFLIGHT_FAILURE,
    TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
    RpcError,
    invalid_params,
    min_context_slot_not_reached,
)
from lstarb_runtime.simnet.jsonrpc import RawJson
from lstarb_runtime.simnet.store import Entry

if TYPE_CHECKING:
    from lstarb_runtime.simnet.server import Simnet

SOLANA_CORE_VERSION = "2.2.0"
FEATURE_SET = 3_294_202_862
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
MAX_PRIORITIZATION_FEE_ACCOUNTS = 128
MAX_BASE58_TX_CHARS = 1683
MAX_BASE64_TX_CHARS = 1644
PACKET_DATA_SIZE = 1232
TX_TYPE = "solana_transaction::versioned::VersionedTransaction"
TOKEN_PROGRAMS = (
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
)
_LOOKUP_ERRORS = frozenset(
    {
        "AddressLookupTableNotFound",
        "InvalidAddressLookupTableOwner",
        "InvalidAddressLookupTableData",
        "InvalidAddressLookupTableIndex",
    }
)

Handler = Callable[[Sequence[Any]], Any]


def pubkey_param(value: Any) -> str:
    """A base58 public key, checked as the node checks it (``Invalid param: WrongSize``)."""
    if not isinstance(value, str):
        raise invalid_params(
            f"Invalid params: invalid type: {type(value).__name__}, expected a string."
        )
    if len(value) > 44:
        raise invalid_params("Invalid param: WrongSize")
    try:
        raw = b58decode(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None
    if len(raw) != 32:
        raise invalid_params("Invalid param: WrongSize")
    return value


def _required(params: Sequence[Any], count: int) -> None:
    if len(params) < count:
        raise invalid_params(
            f"Invalid params: invalid length {len(params)}, expected at least {count} "
            f"element{'s' if count > 1 else ''}."
        )


def ui_amount(amount: int, decimals: int) -> dict[str, Any]:
    """SPL's UiTokenAmount: the raw amount as a string, and as a decimal number."""
    text = str(Decimal(amount).scaleb(-decimals)) if decimals else str(amount)
    if "E" in text or "e" in text:
        text = f"{Decimal(amount).scaleb(-decimals):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": amount / 10**decimals,
        "uiAmountString": text,
    }


class RpcMethods:
    """The HTTP method table of one peer."""

    def __init__(self, net: Simnet) -> None:
        self.net = net
        self.table: dict[str, Handler] = {
            "getAccountInfo": self.get_account_info,
            "getMultipleAccounts": self.get_multiple_accounts,
            "getProgramAccounts": self.get_program_accounts,
            "getBalance": self.get_balance,
            "getTokenAccountBalance": self.get_token_account_balance,
            "getTokenSupply": self.get_token_supply,
            "getTokenAccountsByOwner": self.get_token_accounts_by_owner,
            "getSlot": self.get_slot,
            "getBlockHeight": self.get_block_height,
            "getEpochInfo": self.get_epoch_info,
            "getEpochSchedule": self.get_epoch_schedule,
            "getLatestBlockhash": self.get_latest_blockhash,
            "isBlockhashValid": self.is_blockhash_valid,
            "getSignatureStatuses": self.get_signature_statuses,
            "sendTransaction": self.send_transaction,
            "simulateTransaction": self.simulate_transaction,
            "requestAirdrop": self.request_airdrop,
            "getHealth": lambda params: "ok",
            "getVersion": lambda params: {
                "solana-core": SOLANA_CORE_VERSION,
                "feature-set": FEATURE_SET,
            },
            "getGenesisHash": lambda params: self.net.chain.genesis_hash,
            "getIdentity": lambda params: {"identity": self.net.identity},
            "getMinimumBalanceForRentExemption": self.get_minimum_balance,
            "getRecentPrioritizationFees": self.get_recent_prioritization_fees,
            "getTransactionCount": lambda params: self.net.chain.transaction_count,
        }

    # ------------------------------------------------------------ helpers
    def context(self) -> dict[str, Any]:
        return {"slot": self.net.chain.slot, "apiVersion": SOLANA_CORE_VERSION}

    def _check_context(self, config: dict[str, Any]) -> None:
        commitment_of(config)
        min_slot = config.get("minContextSlot")
        if isinstance(min_slot, int) and min_slot > self.net.chain.slot:
            raise min_context_slot_not_reached(self.net.chain.slot)

    def _account_config(self, params: Sequence[Any], index: int, default: str) -> AccountConfig:
        config = config_object(params, index)
        parsed = account_config(config, default_encoding=default)
        if parsed.min_context_slot is not None and parsed.min_context_slot > self.net.chain.slot:
            raise min_context_slot_not_reached(self.net.chain.slot)
        return parsed

    def _context_text(self) -> str:
        return f'{{"slot":{self.net.chain.slot},"apiVersion":"{SOLANA_CORE_VERSION}"}}'

    # ------------------------------------------------------------ accounts
    def get_account_info(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        config = self._account_config(params, 1, "binary")
        key = pubkey_param(params[0])
        entry = self.net.store.get(key)
        value = "null" if entry is None else account_text(entry, config)
        return RawJson(f'{{"context":{self._context_text()},"value":{value}}}')

    def get_multiple_accounts(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        keys = params[0]
        if not isinstance(keys, list):
            raise invalid_params("Invalid params: invalid type, expected a sequence of strings.")
        if len(keys) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        config = self._account_config(params, 1, "base64")
        store = self.net.store
        values: list[str] = []
        for key in keys:
            entry = store.get(key) if isinstance(key, str) else None
            if entry is None:
                pubkey_param(key)
                values.append("null")
            else:
                values.append(account_text(entry, config))
        return RawJson(f'{{"context":{self._context_text()},"value":[{",".join(values)}]}}')

    def get_program_accounts(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        program = pubkey_param(params[0])
        raw = config_object(params, 1)
        config = self._account_config(params, 1, "binary")
        filters = parse_filters(raw.get("filters"))
        found = ",".join(
            f'{{"pubkey":"{e.key}","account":{account_text(e, config)}}}'
            for e in self.net.store.owned_by(program)
            if passes(filters, e.data)
        )
        if raw.get("withContext"):
            return RawJson(f'{{"context":{self._context_text()},"value":[{found}]}}')
        return RawJson(f"[{found}]")

    def get_balance(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        key = pubkey_param(params[0])
        self._check_context(config_object(params, 1))
        entry = self.net.store.get(key)
        return {"context": self.context(), "value": entry.lamports if entry else 0}

    def _token_account(self, key: str) -> Entry:
        entry = self.net.store.get(key)
        if entry is None:
            raise invalid_params("Invalid param: could not find account")
        if entry.owner not in TOKEN_PROGRAMS or len(entry.data) < 165:
            raise invalid_params("Invalid param: not a Token account")
        return entry

    def _decimals(self, mint_key: str) -> int:
        mint = self.net.store.get(mint_key)
        if mint is None or mint.owner not in TOKEN_PROGRAMS or len(mint.data) < 82:
            raise invalid_params("Invalid param: could not find mint")
        return mint.data[44]

    def get_token_account_balance(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        entry = self._token_account(pubkey_param(params[0]))
        self._check_context(config_object(params, 1))
        mint = str(Pubkey.from_bytes(entry.data[:32]))
        amount = int.from_bytes(entry.data[64:72], "little")
        return {"context": self.context(), "value": ui_amount(amount, self._decimals(mint))}

    def get_token_supply(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        key = pubkey_param(params[0])
        self._check_context(config_object(params, 1))
        decimals = self._decimals(key)
        mint = self.net.store.get(key)
        assert mint is not None
        supply = int.from_bytes(mint.data[36:44], "little")
        return {"context": self.context(), "value": ui_amount(supply, decimals)}

    def get_token_accounts_by_owner(self, params: Sequence[Any]) -> Any:
        _required(params, 2)
        owner = Pubkey.from_string(pubkey_param(params[0]))
        selector = params[1]
        if not isinstance(selector, dict) or len(selector) != 1:
            raise invalid_params("Invalid params: expected {mint} or {programId}.")
        if "mint" in selector:
            mint_key = pubkey_param(selector["mint"])
            mint = self.net.store.get(mint_key)
            if mint is None or mint.owner not in TOKEN_PROGRAMS:
                raise invalid_params("Invalid param: could not find mint")
            programs, wanted_mint = (mint.owner,), bytes(Pubkey.from_string(mint_key))
        elif "programId" in selector:
            program = pubkey_param(selector["programId"])
            if program not in TOKEN_PROGRAMS:
                raise invalid_params("Invalid param: unrecognized Token program id")
            programs, wanted_mint = (program,), None
        else:
            raise invalid_params("Invalid params: expected {mint} or {programId}.")
        config = self._account_config(params, 2, "binary")
        raw_owner = bytes(owner)
        found = [
            {"pubkey": e.key, "account": account_json(e, config)}
            for program in programs
            for e in self.net.store.owned_by(program)
            if len(e.data) >= 165
            and e.data[32:64] == raw_owner
            and (wanted_mint is None or e.data[:32] == wanted_mint)
        ]
        return {"context": self.context(), "value": found}

    # ------------------------------------------------------------ slots and epochs
    def get_slot(self, params: Sequence[Any]) -> Any:
        self._check_context(config_object(params, 0))
        return self.net.chain.slot

    def get_block_height(self, params: Sequence[Any]) -> Any:
        self._check_context(config_object(params, 0))
        return self.net.chain.block_height

    def get_epoch_info(self, params: Sequence[Any]) -> Any:
        self._check_context(config_object(params, 0))
        chain = self.net.chain
        return {
            "absoluteSlot": chain.slot,
            "blockHeight": chain.block_height,
            "epoch": chain.epoch,
            "slotIndex": chain.slot_index,
            "slotsInEpoch": chain.epoch_slots,
            "transactionCount": chain.transaction_count,
        }

    def get_epoch_schedule(self, params: Sequence[Any]) -> Any:
        return {
            "slotsPerEpoch": self.net.chain.epoch_slots,
            "leaderScheduleSlotOffset": self.net.chain.epoch_slots,
            "warmup": False,
            "firstNormalEpoch": 0,
            "firstNormalSlot": 0,
        }

    def get_latest_blockhash(self, params: Sequence[Any]) -> Any:
        self._check_context(config_object(params, 0))
        chain = self.net.chain
        return {
            "context": self.context(),
            "value": {
                "blockhash": chain.latest_blockhash,
                "lastValidBlockHeight": chain.last_valid_block_height,
            },
        }

    def is_blockhash_valid(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        self._check_context(config_object(params, 1))
        blockhash = params[0]
        if not isinstance(blockhash, str):
            raise invalid_params("Invalid param: Invalid")
        return {"context": self.context(), "value": self.net.chain.blockhash_valid(blockhash)}

    def get_minimum_balance(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        size = params[0]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise invalid_params("Invalid params: invalid type, expected usize.")
        return (128 + size) * 3480 * 2

    def get_recent_prioritization_fees(self, params: Sequence[Any]) -> Any:
        keys = params[0] if params else []
        if not isinstance(keys, list):
            raise invalid_params("Invalid params: invalid type, expected a sequence of strings.")
        if len(keys) > MAX_PRIORITIZATION_FEE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_PRIORITIZATION_FEE_ACCOUNTS}")
        for key in keys:
            pubkey_param(key)
        return [
            {"slot": slot, "prioritizationFee": fee}
            for slot, fee in self.net.chain.prioritization_fees()
        ]

    # ------------------------------------------------------------ signatures
    def get_signature_statuses(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        signatures = params[0]
        if not isinstance(signatures, list):
            raise invalid_params("Invalid params: invalid type, expected a sequence of strings.")
        if len(signatures) > MAX_SIGNATURE_STATUSES:
            raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
        chain = self.net.chain
        values: list[Any] = []
        for text in signatures:
            _signature_param(text)
            status = chain.statuses.get(text)
            values.append(None if status is None else chain.status_json(status))
        return {"context": self.context(), "value": values}

    # ------------------------------------------------------------ transactions
    def _decode_tx(self, text: Any, encoding: str) -> VersionedTransaction:
        if not isinstance(text, str):
            raise invalid_params("Invalid params: invalid type, expected a string.")
        if encoding == "base58":
            if len(text) > MAX_BASE58_TX_CHARS:
                raise invalid_params(
                    f"base58 encoded {TX_TYPE} too large: {len(text)} bytes "
                    f"(max: encoded/raw {MAX_BASE58_TX_CHARS}/{PACKET_DATA_SIZE})"
                )
            try:
                raw = b58decode(text)
            except ValueError as exc:
                raise invalid_params(f"invalid base58 encoding: {exc}") from None
        elif encoding == "base64":
            if len(text) > MAX_BASE64_TX_CHARS:
                raise invalid_params(
                    f"base64 encoded {TX_TYPE} too large: {len(text)} bytes "
                    f"(max: encoded/raw {MAX_BASE64_TX_CHARS}/{PACKET_DATA_SIZE})"
                )
            try:
                raw = base64.b64decode(text, validate=True)
            except ValueError as exc:
                raise invalid_params(f"invalid base64 encoding: {exc}") from None
        else:
            raise invalid_params(
                f"Invalid params: unsupported encoding: {encoding}. Supported encodings: "
                "base58, base64"
            )
        if len(raw) > PACKET_DATA_SIZE:
            raise invalid_params(
                f"decoded {TX_TYPE} too large: {len(raw)} bytes (max: {PACKET_DATA_SIZE} bytes)"
            )
        try:
            tx = VersionedTransaction.from_bytes(raw)
        except Exception as exc:
            raise invalid_params(f"failed to deserialize {TX_TYPE}: {exc}") from None
        if not tx.signatures or len(tx.signatures) != tx.message.header.num_required_signatures:
            raise invalid_params(
                "invalid transaction: Transaction failed to sanitize accounts offsets correctly"
            )
        return tx

    def _lookup_keys(self, tx: VersionedTransaction) -> list[str]:
        try:
            return self.net.bank.account_keys(tx)
        except TxRejected as exc:
            raise invalid_params(f"invalid transaction: {describe_error(exc.err)}") from None

    def send_transaction(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        config = config_object(params, 1)
        tx = self._decode_tx(params[0], config.get("encoding") or "base58")
        preflight_commitment = config.get("preflightCommitment")
        if preflight_commitment is not None:
            commitment_of({"commitment": preflight_commitment})
        self._check_context(config)
        self._lookup_keys(tx)
        signature = str(tx.signatures[0])
        bank = self.net.bank
        if not config.get("skipPreflight"):
            if not all(tx.verify_with_results()):
                raise RpcError(
                    TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
                    "Transaction signature verification failure",
                )
            preflight = bank.simulate(tx)
            if preflight.err is not None:
                raise RpcError(
                    SEND_TRANSACTION_PREFLIGHT_FAILURE,
                    f"Transaction simulation failed: {describe_error(preflight.err)}",
                    {
                        "err": preflight.err,
                        "logs": preflight.logs,
                        "accounts": None,
                        "unitsConsumed": preflight.units_consumed,
                        "returnData": preflight.return_data,
                        "innerInstructions": None,
                        "replacementBlockhash": None,
                    },
                )
        elif not all(tx.verify_with_results()):
            return signature  # the leader drops it: it never lands
        try:
            bank.send(tx)
        except TxRejected as exc:
            if exc.err in ("ProgramAccountNotFound", "InvalidProgramForExecution"):
                bank.charge_fee_only(tx, exc.err)
            # otherwise (stale blockhash, duplicate, unfunded payer) it never lands
        self.net.after_transaction(signature)
        return signature

    def simulate_transaction(self, params: Sequence[Any]) -> Any:
        _required(params, 1)
        config = config_object(params, 1)
        tx = self._decode_tx(params[0], config.get("encoding") or "base58")
        self._check_context(config)
        sig_verify = bool(config.get("sigVerify"))
        replace = bool(config.get("replaceRecentBlockhash"))
        if sig_verify and replace:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        keys = self._lookup_keys(tx)
        if sig_verify and not all(tx.verify_with_results()):
            raise RpcError(
                TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
                "Transaction signature verification failure",
            )
        wanted: list[str] | None = None
        accounts_encoding = "base64"
        raw_accounts = config.get("accounts")
        if raw_accounts is not None:
            addresses = (
                raw_accounts.get("addresses") or [] if isinstance(raw_accounts, dict) else None
            )
            if addresses is None or not isinstance(addresses, list):
                raise invalid_params("Invalid params: accounts.addresses must be a list.")
            if len(addresses) > len(keys):
                raise invalid_params(f"Too many accounts provided; max {len(keys)}")
            wanted = [pubkey_param(a) for a in addresses]
            accounts_encoding = raw_accounts.get("encoding") or "base64"
            if accounts_encoding in ("binary", "base58"):
                raise invalid_params("base58 encoding not supported")
        outcome = self.net.bank.simulate(
            tx,
            check_blockhash=not replace,
            want_accounts=wanted,
            inner_instructions=bool(config.get("innerInstructions")),
        )
        accounts = None
        if wanted is not None and outcome.err is None:
            plain = AccountConfig(accounts_encoding, None, "finalized", None)
            accounts = [
                None
                if outcome.post_accounts.get(key) is None
                else account_json(outcome.post_accounts[key], plain)  # type: ignore[arg-type]
                for key in wanted
            ]
        chain = self.net.chain
        value = {
            "err": outcome.err,
            "logs": outcome.logs,
            "accounts": accounts,
            "unitsConsumed": outcome.units_consumed,
            "returnData": outcome.return_data,
            "innerInstructions": outcome.inner_instructions,
            "replacementBlockhash": (
                {
                    "blockhash": chain.latest_blockhash,
                    "lastValidBlockHeight": chain.last_valid_block_height,
                }
                if replace
                else None
            ),
        }
        return {"context": self.context(), "value": value}

    def request_airdrop(self, params: Sequence[Any]) -> Any:
        _required(params, 2)
        key = pubkey_param(params[0])
        lamports = params[1]
        if isinstance(lamports, bool) or not isinstance(lamports, int) or lamports < 0:
            raise invalid_params("Invalid params: invalid type, expected u64.")
        self._check_context(config_object(params, 2))
        try:
            signature = self.net.bank.airdrop(key, lamports)
        except TxRejected as exc:
            raise RpcError(
                -32603, f"Internal error: airdrop failed: {describe_error(exc.err)}"
            ) from None
        self.net.after_transaction(signature)
        return signature


def _signature_param(text: Any) -> None:
    if not isinstance(text, str):
        raise invalid_params("Invalid params: invalid type, expected a string.")
    try:
        Signature.from_string(text)
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None
