"""Table specs mirroring ``schemas/*.fbs`` field by field, in declaration order.

The order fixes each field's vtable slot, so it must match the schema exactly; a test checks
it against the flatc-generated code. Append new fields at the end of a table, never in between.
"""

from __future__ import annotations

from typing import Final

from lstarb_sdk.events._codec import Field, TableSpec

SCHEMA_VERSION: Final = 4
"""Version every writer of this SDK puts in the ``version`` field of each event.

An absent ``version`` reads as 0 (the schema default): a writer that did not say. 2 added
``AccountEvent`` (the market tape) and ``PoolStateEvent.price_human`` ... ``fee_ppm``. 3 added
``Leg.min_out``, ``ExecutionPlanEvent.max_loss_lamports`` ... ``traceparent`` (what the
executor needs from the planner) and ``ExecutionResultEvent.strategy`` ... ``submitted_ns``
(what the ledger needs without the plan). 4 added ``PoolStateEvent.fair_value`` ...
``premium_bps`` (each LST/SOL pool's premium or discount to its LST's fair value)."""

MAX_LEGS: Final = 64
"""Legs an opportunity or plan may have (a route longer than this is not a trade)."""

KEY_VALUE: Final = TableSpec("KeyValue", [Field("key", "str"), Field("value", "str")])

LEG: Final = TableSpec(
    "Leg",
    [
        Field("pool", "pubkey"),
        Field("dex", "str"),
        Field("input_mint", "pubkey"),
        Field("output_mint", "pubkey"),
        Field("in_amount", "u64"),
        Field("out_amount", "u64"),
        Field("fee_amount", "u64"),
        Field("min_out", "u64"),
    ],
)

POOL_STATE: Final = TableSpec(
    "PoolStateEvent",
    [
        Field("version", "u16", write_default=SCHEMA_VERSION),
        Field("pool", "pubkey"),
        Field("dex", "str"),
        Field("slot", "u64"),
        Field("mint_a", "pubkey"),
        Field("mint_b", "pubkey"),
        Field("reserve_a", "u64"),
        Field("reserve_b", "u64"),
        Field("price", "f64"),
        Field("liquidity", "f64"),
        Field("fee_bps", "u32"),
        Field("write_version", "u64"),
        Field("source", "str"),
        Field("received_ns", "u64"),
        Field("price_human", "f64"),
        Field("decimals_a", "u8"),
        Field("decimals_b", "u8"),
        Field("fee_ppm", "u32"),
        Field("fair_value", "f64"),
        Field("fair_value_epoch", "u64"),
        Field("fair_value_stale", "bool"),
        Field("premium_bps", "f64"),
    ],
    ident=b"LSMD",
)

ACCOUNT: Final = TableSpec(
    "AccountEvent",
    [
        Field("version", "u16", write_default=SCHEMA_VERSION),
        Field("pubkey", "pubkey"),
        Field("owner", "pubkey"),
        Field("slot", "u64"),
        Field("write_version", "u64"),
        Field("lamports", "u64"),
        Field("data", "bytes"),
        Field("executable", "bool"),
        Field("exists", "bool", default=True),
        Field("source", "str"),
        Field("received_ns", "u64"),
        Field("seq", "u64"),
    ],
    ident=b"LSAC",
)

OPPORTUNITY: Final = TableSpec(
    "OpportunityEvent",
    [
        Field("version", "u16", write_default=SCHEMA_VERSION),
        Field("id", "str"),
        Field("strategy", "str"),
        Field("base_mint", "pubkey"),
        Field("legs", "tables", LEG, max_items=MAX_LEGS),
        Field("expected_profit", "i64"),
        Field("slot", "u64"),
        Field("detected_ns", "u64"),
        Field("metadata", "kv", KEY_VALUE),
    ],
    ident=b"LSOP",
)

EXECUTION_PLAN: Final = TableSpec(
    "ExecutionPlanEvent",
    [
        Field("version", "u16", write_default=SCHEMA_VERSION),
        Field("id", "str"),
        Field("opportunity_id", "str"),
        Field("strategy", "str"),
        Field("base_mint", "pubkey"),
        Field("legs", "tables", LEG, max_items=MAX_LEGS),
        Field("amount_in", "u64"),
        Field("min_out", "u64"),
        Field("expected_profit", "i64"),
        Field("tip_lamports", "u64"),
        Field("funding_provider", "str"),
        Field("submitter", "str"),
        Field("compute_unit_limit", "u32"),
        Field("compute_unit_price", "u64"),
        Field("expiry_slot", "u64"),
        Field("risk_score", "f64"),
        Field("created_ns", "u64"),
        Field("max_loss_lamports", "u64"),
        Field("gross_profit", "i64"),
        Field("base_fee_lamports", "u64"),
        Field("priority_fee_lamports", "u64"),
        Field("loan_fee", "u64"),
        Field("rent_lamports", "u64"),
        Field("loan_mint", "bytes"),
        Field("loan_amount", "u64"),
        Field("opportunity_slot", "u64"),
        Field("planned_slot", "u64"),
        Field("state_fingerprint", "bytes"),
        Field("confidence", "f64"),
        Field("slippage_bps", "u32"),
        Field("expiry_ns", "u64"),
        Field("traceparent", "str"),
    ],
    ident=b"LSPL",
)

EXECUTION_RESULT: Final = TableSpec(
    "ExecutionResultEvent",
    [
        Field("version", "u16", write_default=SCHEMA_VERSION),
        Field("plan_id", "str"),
        Field("opportunity_id", "str"),
        Field("status", "str"),
        Field("paper", "bool"),
        Field("signature", "optstr"),
        Field("slot", "u64"),
        Field("in_amount", "u64"),
        Field("out_amount", "u64"),
        Field("fee_lamports", "u64"),
        Field("tip_lamports", "u64"),
        Field("realized_profit", "i64"),
        Field("error", "optstr"),
        Field("completed_ns", "u64"),
        Field("strategy", "str"),
        Field("base_mint", "bytes"),
        Field("legs", "tables", LEG, max_items=MAX_LEGS),
        Field("loan_fee", "u64"),
        Field("submitter", "str"),
        Field("funding_provider", "str"),
        Field("expected_profit", "i64"),
        Field("bundle_id", "optstr"),
        Field("wallet", "bytes"),
        Field("traceparent", "str"),
        Field("submitted_ns", "u64"),
    ],
    ident=b"LSRS",
)

METRIC: Final = TableSpec(
    "MetricEvent",
    [
        Field("version", "u16", write_default=SCHEMA_VERSION),
        Field("name", "str"),
        Field("value", "f64"),
        Field("labels", "kv", KEY_VALUE),
        Field("time_ns", "u64"),
    ],
    ident=b"LSMT",
)

SYSTEM_COMMAND: Final = TableSpec(
    "SystemCommandEvent",
    [
        Field("version", "u16", write_default=SCHEMA_VERSION),
        Field("id", "str"),
        Field("command", "u8"),
        Field("reason", "str"),
        Field("triggered_by", "str"),
        Field("time_ns", "u64"),
    ],
    ident=b"LSSC",
)

ROOT_SPECS: Final = (
    ACCOUNT,
    POOL_STATE,
    OPPORTUNITY,
    EXECUTION_PLAN,
    EXECUTION_RESULT,
    METRIC,
    SYSTEM_COMMAND,
)
