"""lstarb_sdk.testing.program_oracle: the shared LiteSVM harness and its helpers.

The harness runs the real SPL Token program that LiteSVM ships: a transfer between two
token accounts it built must move exactly the amount, and a transfer beyond the balance
must come back as the token program's error, not as a result.
"""

from __future__ import annotations

import json

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_sdk.solana import MINT_LEN, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, WSOL_MINT
from lstarb_sdk.testing.program_oracle import (
    SECURITY_TXT_BEGIN,
    SECURITY_TXT_END,
    TRADER,
    TRADER_DESTINATION,
    TRADER_SOURCE,
    ProgramBinary,
    ProgramHarness,
    compute_units_of,
    dumps_cases,
    fit_compute_units,
    token_account,
    token_account_like,
    token_amount,
)
from lstarb_sdk.types import DEFAULT_SWAP_COMPUTE_UNITS, ComputeUnits

MINT = Pubkey.from_string("J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn")
TRANSFER = 3  # SPL Token instruction index


def _mint() -> object:
    from solders.account import Account

    data = bytearray(MINT_LEN)
    data[36:44] = (10**18).to_bytes(8, "little")  # supply
    data[44] = 9  # decimals
    data[45] = 1  # initialized
    return Account(1_461_600, bytes(data), TOKEN_PROGRAM_ID, False, 0)


def _transfer(amount: int) -> Instruction:
    return Instruction(
        TOKEN_PROGRAM_ID,
        bytes((TRANSFER,)) + amount.to_bytes(8, "little"),
        [
            AccountMeta(TRADER_SOURCE, False, True),
            AccountMeta(TRADER_DESTINATION, False, True),
            AccountMeta(TRADER.pubkey(), True, False),
        ],
    )


def _harness() -> ProgramHarness:
    owner = TRADER.pubkey()
    harness = ProgramHarness([], {MINT: _mint()})  # type: ignore[dict-item]
    harness.set_account(TRADER_SOURCE, token_account(MINT, owner, 1_000))
    harness.set_account(TRADER_DESTINATION, token_account(MINT, owner, 5))
    return harness


def test_a_swap_between_trader_accounts_is_recorded_from_balances() -> None:
    run, record = _harness().swap(
        [_transfer(400)],
        program_id=TOKEN_PROGRAM_ID,
        source=TRADER_SOURCE,
        destination=TRADER_DESTINATION,
        source_balance=1_000,
        destination_balance=5,
    )
    assert run.ok
    assert record["in"] == "400" and record["out"] == "400"
    assert record["compute_units"] is not None and 0 < record["compute_units"] < 10_000


def test_a_failed_transaction_is_recorded_as_the_programs_error() -> None:
    run, record = _harness().swap(
        [_transfer(1_001)],
        program_id=TOKEN_PROGRAM_ID,
        source=TRADER_SOURCE,
        destination=TRADER_DESTINATION,
        source_balance=1_000,
    )
    assert not run.ok
    assert record["code"] == 1  # TokenError::InsufficientFunds
    assert "insufficient funds" in record["error_log"]
    assert "in" not in record


def test_simulation_commits_nothing() -> None:
    harness = _harness()
    for _ in range(2):
        _, record = harness.swap(
            [_transfer(1_000)],
            program_id=TOKEN_PROGRAM_ID,
            source=TRADER_SOURCE,
            destination=TRADER_DESTINATION,
            source_balance=1_000,
            destination_balance=5,
        )
        assert record["out"] == "1000", record
    assert token_amount(harness.get_account(TRADER_SOURCE)) == 1_000


def test_token_accounts() -> None:
    owner = TRADER.pubkey()
    plain = token_account(MINT, owner, 7)
    assert plain.owner == TOKEN_PROGRAM_ID and len(plain.data) == 165
    assert token_amount(plain) == 7 and bytes(plain.data)[108] == 1
    t22 = token_account(MINT, owner, 7, token_program=TOKEN_2022_PROGRAM_ID)
    assert len(t22.data) == 166 and bytes(t22.data)[165] == 2
    native = token_account(WSOL_MINT, owner, 2**64 - 1)
    assert native.lamports == 2**64 - 1  # rent plus amount, capped at u64
    copy = token_account_like(plain, Pubkey.default(), 9)
    assert bytes(copy.data)[32:64] == bytes(32) and token_amount(copy) == 9
    assert token_amount(None) == 0


def test_compute_units_come_from_the_top_level_invocation() -> None:
    program = Pubkey.from_string("LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo")
    logs = [
        f"Program {program} invoke [1]",
        f"Program {program} invoke [2]",
        f"Program {program} consumed 1200 of 1000000 compute units",
        f"Program {TOKEN_PROGRAM_ID} consumed 4000 of 900000 compute units",
        f"Program {program} consumed 52000 of 1399850 compute units",
    ]
    assert compute_units_of(logs, program) == 52_000
    assert compute_units_of(logs[:2], program) is None


def test_security_txt_is_read_from_the_elf() -> None:
    fields = b"name\x00Example\x00source_code\x00https://example.org/src\x00"
    elf = b"\x7fELF" + b"\x00" * 16 + SECURITY_TXT_BEGIN + fields + SECURITY_TXT_END
    binary = ProgramBinary(MINT, elf, "somewhere")
    assert binary.security_txt() == {"name": "Example", "source_code": "https://example.org/src"}
    described = binary.describe()
    assert described["size"] == len(elf) and len(described["sha256"]) == 64
    assert ProgramBinary(MINT, b"\x7fELF", "x").security_txt() == {}


def test_the_fit_bounds_every_measurement() -> None:
    points = [(0, 50_000), (0, 52_000), (1, 60_000), (4, 90_000), (10, 120_000)]
    fit = fit_compute_units(points, source="test")
    assert (fit.base, fit.per_crossing, fit.measured_max) == (52_000, 9_500, 120_000)
    assert all(fit.estimate(n) >= cu for n, cu in points)
    assert fit.estimate(4) == 90_000  # the binding point
    assert fit.estimate() == 120_000
    with pytest.raises(ValueError, match="no measured"):
        fit_compute_units([], source="test")


def test_the_sdk_default_is_unmeasured() -> None:
    assert DEFAULT_SWAP_COMPUTE_UNITS.estimate() == 200_000
    assert DEFAULT_SWAP_COMPUTE_UNITS.estimate(7) == 200_000
    assert ComputeUnits(10, 2).estimate(3) == 16


def test_one_case_per_line() -> None:
    doc = {"a": 1, "cases": [{"x": 1, "y": [1, 2]}, {"x": 2}], "nested": {"cases": [{"z": 3}]}}
    text = dumps_cases(doc)
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert '  {"x": 1, "y": [1, 2]},' in lines and '  {"x": 2}' in lines
    assert '   {"z": 3}' in lines
