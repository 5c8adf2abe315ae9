"""An lstarb metrics exporter in a process of its own, driven with realistic values.

    python exporter_driver.py     prints the port it serves on, then records until killed

What a paper run of every role in one process reports: account updates from two data sources a
few slots apart, opportunities detected, validated and rejected for the planner's reasons,
executions with their outcomes, the auditor's ledger and P&L, wallets, the kill switch and a
breaker trip. Stage latencies are drawn around the seed's budget.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence

from solders.pubkey import Pubkey

from lstarb_runtime import metrics as m
from lstarb_sdk import AccountUpdate, DataSource, EndpointHealth, SlotUpdate

STAGE_MEDIAN_S = {
    "update": 40e-6,
    "detect": 300e-6,
    "plan": 2e-3,
    "build": 1.5e-3,
    "sign": 150e-6,
    "submit": 30e-3,
    "land": 0.8,
}
STREAMS = {
    "MARKET_DATA": ("AccountEvent", "scanner"),
    "OPPORTUNITIES": ("OpportunityEvent", "planner"),
    "EXECUTION": ("ExecutionPlanEvent", "executor"),
    "EXECUTED": ("ExecutionResultEvent", "auditor"),
    "SYSTEM": ("SystemCommandEvent", "system"),
}
REASONS = ("below_min_profit", "stale_state", "slippage", "max_loss", "halted")
WALLET = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
LST_POOLS = {  # the bundled market's Orca LST/SOL whirlpools
    "Hp53XEtt4S8SvPCXarsLSdGfZBuUr5mMmZmX2DRNXQKp": "JitoSOL",
    "HQcY5n2zP6rW74fyFEhWeBd3LnJpBcZechkvJpmdb8cx": "mSOL",
    "8phK65jxmTPEN158xLgSr4oZvssw9SyTErpNZj3g7px4": "bSOL",
}


class TwoNodes(DataSource):
    """What an rpc source over two nodes reports of them: one keeps up, one lags and drops."""

    name = "rpc"

    def __init__(self) -> None:
        self.slot = 0
        self.counts = {"fast:8899": Counter[str](), "slow:8899": Counter[str]()}

    def tick(self, rng: random.Random, slot: int) -> None:
        self.slot = slot
        for name, counts in self.counts.items():
            counts["updates"] += rng.randrange(5, 30)
            counts["timeouts" if name == "slow:8899" else "malformed"] += rng.random() < 0.3
            counts["disconnects"] += rng.random() < 0.05

    def endpoint_health(self) -> Sequence[EndpointHealth]:
        return [
            EndpointHealth("fast:8899", True, self.slot, False, dict(self.counts["fast:8899"])),
            EndpointHealth("slow:8899", False, self.slot - 9, True, dict(self.counts["slow:8899"])),
        ]

    async def subscribe(self, accounts: Iterable[Pubkey]) -> None:
        pass

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        return
        yield

    async def close(self) -> None:
        pass


def main() -> None:
    rng = random.Random(7)
    server = m.serve(0)
    print(server.port, flush=True)
    stages = {s: m.stage(s) for s in m.STAGES}
    nodes = TwoNodes()
    sources = {"rpc": m.data_source("rpc", nodes), "shredstream": m.data_source("shredstream")}
    published = {s: m.EVENTS_PUBLISHED.labels(stream=s, type=t) for s, (t, _) in STREAMS.items()}
    consumed = {s: m.EVENTS_CONSUMED.labels(stream=s, consumer=c) for s, (_, c) in STREAMS.items()}
    for service in ("scanner", "planner", "executor", "auditor", "system"):
        m.SERVICE_STATE.labels(service=service).state("running")
    m.set_kill_switch(False)
    m.BREAKER_TRIPS.labels(breaker="consecutive_failures").inc()
    m.WALLET_BALANCE_SOL.labels(wallet=WALLET).set(12.5)
    m.WALLET_TOKEN_BALANCE.labels(
        wallet=WALLET, mint="J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn"
    ).set(3.2)
    premiums = {
        pool: m.POOL_PREMIUM_BPS.labels(pool=pool, lst=lst) for pool, lst in LST_POOLS.items()
    }
    slot = 312_000_000
    profit = {"paper": 0.0, "live": 0.0}
    tick = 0
    while True:
        tick += 1
        slot += 1
        nodes.tick(rng, slot)
        for i, source in enumerate(sources.values()):
            for _ in range(rng.randrange(5, 30)):
                source.updated(slot - 2 * i)
                stages["update"].observe(rng.lognormvariate(0, 0.4) * STAGE_MEDIAN_S["update"])
            if rng.random() < 0.05:
                source.errors.inc()
        for stream, counter in published.items():
            n = rng.randrange(1, 50) if stream == "MARKET_DATA" else rng.randrange(0, 4)
            counter.inc(n)
            consumed[stream].inc(max(0, n - rng.randrange(0, 2)))
            m.CONSUMER_LAG.labels(stream=stream, consumer=STREAMS[stream][1]).set(
                rng.randrange(0, 20)
            )
        if rng.random() < 0.1:
            m.HANDLER_ERRORS.labels(
                stream="OPPORTUNITIES", consumer="planner", kind="handler"
            ).inc()
        for gauge in premiums.values():
            gauge.set(rng.gauss(-3.0, 8.0))  # a few bps either side of fair value
        strategy = rng.choice(("lst-two-hop", "lst-triangle"))
        m.OPPORTUNITIES_DETECTED.labels(strategy=strategy).inc(3)
        stages["detect"].observe(rng.lognormvariate(0, 0.5) * STAGE_MEDIAN_S["detect"])
        m.OPPORTUNITIES_REJECTED.labels(strategy=strategy, reason=rng.choice(REASONS)).inc(2)
        m.OPPORTUNITIES_VALIDATED.labels(strategy=strategy).inc()
        for stage in ("plan", "build", "sign", "submit", "land"):
            stages[stage].observe(rng.lognormvariate(0, 0.5) * STAGE_MEDIAN_S[stage])
        submitter = rng.choice(("jito", "rpc"))
        mode = "paper" if rng.random() < 0.7 else "live"
        outcome = (
            rng.choice(("landed", "landed", "failed", "dropped")) if mode == "live" else "paper"
        )
        m.BUNDLES_SUBMITTED.labels(submitter=submitter).inc()
        m.EXECUTIONS.labels(outcome=outcome, submitter=submitter, mode=mode).inc()
        m.EXECUTION_DURATION_MS.labels(submitter=submitter, mode=mode).observe(
            rng.lognormvariate(0, 0.4) * 900
        )
        if outcome in ("landed", "paper"):
            m.BUNDLES_LANDED.labels(submitter=submitter).inc()
            m.EXECUTIONS_SUCCEEDED.labels(submitter=submitter, mode=mode).inc()
            profit[mode] += rng.randrange(-20_000, 400_000) / 1e9
        m.TRADES_RECORDED.labels(outcome=outcome, mode=mode).inc()
        if rng.random() < 0.1:
            m.LEDGER_DUPLICATES.inc()
        for key, value in profit.items():
            m.PROFIT_REALIZED_SOL.labels(mode=key).set(value)
            m.PROFIT_TODAY_SOL.labels(mode=key).set(value)
        if tick % 20 == 0:
            m.PLUGIN_ERRORS.labels(plugin="lst", hook="lstarb_on_execution_result").inc()
            m.BREAKER_TRIPS.labels(breaker="data_staleness").inc()
        time.sleep(0.05)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
