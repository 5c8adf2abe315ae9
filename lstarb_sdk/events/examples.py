"""One realistic example of every event, for tests, benchmarks and documentation.

Why in the SDK: plugin authors' tests, the runtime's bus tests and the benchmarks all need
well-formed events of every type; one shared set keeps them honest about sizes.
"""

from __future__ import annotations

import struct

from solders.pubkey import Pubkey

from lstarb_sdk.events.models import (
    AccountEvent,
    Command,
    EventModel,
    ExecutionPlanEvent,
    ExecutionResultEvent,
    LegEvent,
    MetricEvent,
    OpportunityEvent,
    PoolStateEvent,
    SystemCommandEvent,
)

SOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
JITOSOL = Pubkey.from_string("J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn")
POOL_A = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
POOL_B = Pubkey.from_string("HJPjoWUrhoZzkNfRpHuieeFk9WcZWjwy6PBjZ81ngndJ")
VAULT_A = Pubkey.from_string("7VLUXrnSSDo9BfCa4NWaQXmh1ePEkvxt8hjSzNpLGUYm")
SPL_TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


def example_account(slot: int = 312_345_678, amount: int = 48_211_337_000_000) -> AccountEvent:
    """A tape event: the JitoSOL vault of :data:`POOL_A` (an SPL token account, 165 bytes)."""
    data = (
        bytes(JITOSOL)  # mint
        + bytes(POOL_A)  # owner (the pool's authority, here the pool for brevity)
        + struct.pack("<Q", amount)
        + bytes(36)  # delegate option
        + bytes([1])  # state: initialized
        + bytes(12)  # is_native option
        + struct.pack("<Q", 0)  # delegated amount
        + bytes(36)  # close authority option
    )
    return AccountEvent(
        pubkey=VAULT_A,
        owner=SPL_TOKEN,
        slot=slot,
        write_version=1,
        lamports=2_039_280,
        data=data,
        source="rpc",
        received_ns=1_760_000_000_023_456_789,
        seq=1,
    )


def example_pool_state(slot: int = 312_345_678) -> PoolStateEvent:
    """A MARKET_DATA update of a JitoSOL/SOL pool."""
    return PoolStateEvent(
        pool=POOL_A,
        dex="raydium-cpmm",
        slot=slot,
        mint_a=JITOSOL,
        mint_b=SOL,
        reserve_a=48_211_337_000_000,
        reserve_b=57_902_114_000_000,
        price=1.201_034_5,
        liquidity=52_834_110.25,
        fee_bps=25,
        write_version=1_234_567_890,
        source="rpc",
        received_ns=1_760_000_000_123_456_789,
        price_human=1.201_034_5,
        decimals_a=9,
        decimals_b=9,
        fee_ppm=2_500,
        fair_value=1.200_912_3,
        fair_value_epoch=812,
        fair_value_stale=False,
        premium_bps=1.017_6,
    )


def example_opportunity(oid: str = "opp-312345678-0001") -> OpportunityEvent:
    """A two-hop arbitrage SOL -> JitoSOL -> SOL (the seed's TwoHopArbitrageEvent)."""
    return OpportunityEvent(
        id=oid,
        strategy="lst-two-hop",
        base_mint=SOL,
        legs=(
            LegEvent(
                pool=POOL_A,
                dex="raydium-cpmm",
                input_mint=SOL,
                output_mint=JITOSOL,
                in_amount=1_000_000_000,
                out_amount=832_410_117,
                fee_amount=2_500_000,
            ),
            LegEvent(
                pool=POOL_B,
                dex="meteora-dlmm",
                input_mint=JITOSOL,
                output_mint=SOL,
                in_amount=832_410_117,
                out_amount=1_000_412_006,
                fee_amount=83_241,
            ),
        ),
        expected_profit=412_006,
        slot=312_345_678,
        detected_ns=1_760_000_000_223_456_789,
        metadata={"profit_pct": "0.0412", "confidence": "0.93"},
    )


def example_plan() -> ExecutionPlanEvent:
    """The execution plan sized from :func:`example_opportunity`, on a Kamino flash loan."""
    opp = example_opportunity()
    first, last = opp.legs
    legs = (
        first.model_copy(update={"min_out": 831_993_912}),  # 5 bps below the quote
        last.model_copy(update={"in_amount": 831_993_912, "min_out": 1_000_100_000}),
    )
    return ExecutionPlanEvent(
        id="plan-312345678-0001",
        opportunity_id=opp.id,
        strategy=opp.strategy,
        base_mint=opp.base_mint,
        legs=legs,
        amount_in=1_000_000_000,
        min_out=1_000_100_000,
        expected_profit=312_006,
        tip_lamports=100_000,
        funding_provider="kamino",
        submitter="jito",
        compute_unit_limit=400_000,
        compute_unit_price=10_000,
        expiry_slot=312_345_688,
        risk_score=0.12,
        created_ns=1_760_000_000_323_456_789,
        max_loss_lamports=110_000,
        gross_profit=412_006,
        base_fee_lamports=5_000,
        priority_fee_lamports=4_000,
        loan_fee=10_000,
        rent_lamports=0,
        loan_mint=SOL,
        loan_amount=1_000_000_000,
        opportunity_slot=312_345_678,
        planned_slot=312_345_679,
        state_fingerprint=bytes.fromhex("5d1f0c9a6b3e2f4871aa09c3de4b7f12"),
        confidence=0.93,
        slippage_bps=5,
        expiry_ns=1_760_000_002_323_456_789,
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )


def example_result() -> ExecutionResultEvent:
    """The landed outcome of :func:`example_plan`."""
    return ExecutionResultEvent(
        plan_id="plan-312345678-0001",
        opportunity_id="opp-312345678-0001",
        status="landed",
        paper=False,
        signature="5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW",
        slot=312_345_680,
        in_amount=1_000_000_000,
        out_amount=1_000_402_006,
        fee_lamports=5_000,
        tip_lamports=100_000,
        realized_profit=297_006,
        completed_ns=1_760_000_001_323_456_789,
        strategy="lst-two-hop",
        base_mint=SOL,
        legs=example_plan().legs,
        loan_fee=10_000,
        submitter="jito",
        funding_provider="kamino",
        expected_profit=312_006,
        bundle_id="a4f1c3d2e5b6978812345678901234567890abcdefabcdefabcdefabcdef0123",
        wallet=Pubkey.from_string("7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01",
        submitted_ns=1_760_000_000_333_456_789,
    )


def example_metric() -> MetricEvent:
    """One latency sample of the planner."""
    return MetricEvent(
        name="planner.latency_us",
        value=412.5,
        labels={"strategy": "lst-two-hop"},
        time_ns=1_760_000_000_423_456_789,
    )


def example_command() -> SystemCommandEvent:
    """A kill switch pulled by an automatic trigger."""
    return SystemCommandEvent(
        id="cmd-0001",
        command=Command.KILL_SWITCH,
        reason="5 consecutive failed submissions",
        triggered_by="auto:consecutive-failures",
        time_ns=1_760_000_000_523_456_789,
    )


def example_events() -> dict[str, EventModel]:
    """One example of every event type, by model name."""
    events: list[EventModel] = [
        example_account(),
        example_pool_state(),
        example_opportunity(),
        example_plan(),
        example_result(),
        example_metric(),
        example_command(),
    ]
    return {type(e).__name__: e for e in events}


def shared_leg_opportunity(n: int) -> bytes:
    """A hostile OpportunityEvent whose ``n`` legs all point at one shared Leg table.

    Issue 10's attack (a 1 MB buffer with 250,000 legs took 2.9 s to decode): for the tests
    and the benchmark that show such a buffer is refused at once.
    """
    import flatbuffers

    from lstarb_sdk.events._generated import Leg as L
    from lstarb_sdk.events._generated import OpportunityEvent as O

    leg = example_opportunity().legs[0]
    b = flatbuffers.Builder(4 * n + 1024)
    pool, mint_in, mint_out = (
        b.CreateByteVector(bytes(k)) for k in (leg.pool, leg.input_mint, leg.output_mint)
    )
    dex = b.CreateString(leg.dex)
    L.Start(b)
    L.AddPool(b, pool)
    L.AddDex(b, dex)
    L.AddInputMint(b, mint_in)
    L.AddOutputMint(b, mint_out)
    L.AddInAmount(b, leg.in_amount)
    L.AddOutAmount(b, leg.out_amount)
    shared = L.End(b)
    b.StartVector(4, n, 4)
    for _ in range(n):
        b.PrependUOffsetTRelative(shared)
    legs = b.EndVector()
    oid, base = b.CreateString("crafted"), b.CreateByteVector(bytes(leg.input_mint))
    O.Start(b)
    O.AddVersion(b, 2)
    O.AddId(b, oid)
    O.AddBaseMint(b, base)
    O.AddLegs(b, legs)
    b.Finish(O.End(b), file_identifier=b"LSOP")
    return bytes(b.Output())
