"""How a run stops its services: intake first, each stream-driven stage drained after the one
before it stopped producing, and a drained stage finishing its stop beside the next one's drain.

Why the overlap matters: a stream-driven stage's stop waits out its pull request on the server
(about a second), and a run stopped the planner, the executor and the auditor one after another,
so every `lstarb run` took about three seconds to end after its last work was done.
"""

from __future__ import annotations

import asyncio

from lstarb_runtime.bus import MemoryBus
from lstarb_runtime.config import Settings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.base import Service, ServiceEnv, ServiceState
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_runtime.services.runner import stop_services
from lstarb_sdk import PluginContext


class Stage(Service):
    """A real service whose drain and stop write what happened to a shared log."""

    def __init__(self, env: ServiceEnv, name: str, log: list[str], *, fed: bool) -> None:
        super().__init__(env)
        self.name = name
        self.log = log
        self.stream_driven = fed  # type: ignore[misc]
        self.release = asyncio.Event()
        self.release.set()

    role = "stage"

    async def on_run(self) -> None:
        await self.stopping.wait()

    async def drain(self, timeout: float = 10.0, poll: float = 0.05) -> bool:
        self.log.append(f"{self.name} drained")
        return True

    async def on_stop(self) -> None:
        self.log.append(f"{self.name} stopping")
        await self.release.wait()
        self.log.append(f"{self.name} stopped")


async def _running(names_fed: list[tuple[str, bool]], log: list[str]) -> list[Stage]:
    bus = MemoryBus()
    await bus.ensure_streams()
    env = ServiceEnv(bus, PluginHost(), PluginContext(), Settings(), HaltSwitch(), log.append)
    stages = [Stage(env, name, log, fed=fed) for name, fed in names_fed]
    for stage in stages:
        await stage.start()
        RUNS.append(asyncio.create_task(stage.run()))
    await asyncio.sleep(0)
    return stages


RUNS: list[asyncio.Task[None]] = []
"""The stages' run tasks (kept referenced until they end with their stop)."""


async def test_a_drained_stage_stops_beside_the_next_stages_drain() -> None:
    log: list[str] = []
    scanner, planner, executor = await _running(
        [("scanner", False), ("planner", True), ("executor", True)], log
    )
    planner.release.clear()  # the planner's stop waits until the executor's drain has begun

    async def release_when_the_executor_drains() -> None:
        while "executor drained" not in log:
            await asyncio.sleep(0.01)
        planner.release.set()

    helper = asyncio.create_task(release_when_the_executor_drains())
    await asyncio.wait_for(stop_services([scanner, planner, executor], drain=True), 10)
    await helper
    assert log.index("scanner stopped") < log.index("planner drained")  # intake first
    assert log.index("planner drained") < log.index("planner stopping")
    assert (
        log.index("planner stopping") < log.index("executor drained") < log.index("planner stopped")
    )
    assert all(s.state is ServiceState.STOPPED for s in (scanner, planner, executor))


async def test_without_a_drain_every_stage_still_stops() -> None:
    """A signal: nothing is drained; the intake stops first, then the rest together."""
    log: list[str] = []
    stages = await _running([("scanner", False), ("planner", True), ("auditor", True)], log)
    await asyncio.wait_for(stop_services(stages, drain=False), 10)
    assert not [line for line in log if line.endswith("drained")]
    assert log.index("scanner stopped") < log.index("planner stopping")
    assert all(s.state is ServiceState.STOPPED for s in stages)
