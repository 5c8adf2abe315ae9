"""Starting a coroutine in the caller's turn (:mod:`lstarb_runtime.bus.eager`): it runs at
once up to its first wait, the rest is an ordinary task that cannot tell the difference
(results, exceptions, cancellation, context variables), and an iterator's next item is taken
at once when it is there."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator

import pytest

from lstarb_runtime.bus.eager import next_if_ready, start_eagerly

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="caller")


async def test_runs_now_up_to_its_first_wait_then_as_a_task() -> None:
    steps: list[str] = []
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def work() -> int:
        steps.append("before")
        got = await gate
        steps.append(f"after {got}")
        return got * 2

    rest = start_eagerly(work())
    assert steps == ["before"]  # ran inside the call, not at a later turn of the loop
    assert rest is not None and not rest.done()
    gate.set_result(21)
    assert await rest == 42
    assert steps == ["before", "after 21"]


async def test_a_coroutine_that_never_waits_is_done_at_once() -> None:
    ran: list[int] = []

    async def quick() -> None:
        ran.append(1)

    assert start_eagerly(quick()) is None
    assert ran == [1]


async def test_exceptions_reach_whoever_waits_for_them() -> None:
    async def fails_at_once() -> None:
        raise ValueError("at once")

    with pytest.raises(ValueError, match="at once"):
        start_eagerly(fails_at_once())

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    rest = start_eagerly(fails_later())
    assert rest is not None
    with pytest.raises(KeyError, match="later"):
        await rest


async def test_an_exception_thrown_into_its_wait_is_seen_inside() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def guarded() -> str:
        try:
            await gate
        except RuntimeError as exc:
            seen.append(str(exc))
            return "recovered"
        return "plain"

    rest = start_eagerly(guarded())
    assert rest is not None
    gate.set_exception(RuntimeError("refused"))
    assert await rest == "recovered" and seen == ["refused"]


async def test_cancelling_the_rest_cancels_inside_and_runs_its_cleanup() -> None:
    cleaned: list[bool] = []

    async def long() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.append(True)

    rest = start_eagerly(long())
    assert rest is not None
    await asyncio.sleep(0)
    rest.cancel()
    with pytest.raises(asyncio.CancelledError):
        await rest
    assert cleaned == [True]


async def test_context_variables_it_sets_stay_inside_as_in_a_task() -> None:
    async def sets() -> str:
        marker.set("inside")
        await asyncio.sleep(0)
        return marker.get()

    rest = start_eagerly(sets())
    assert marker.get() == "caller"  # the first step's set did not leak out
    assert rest is not None and await rest == "inside"  # and the rest saw it
    assert marker.get() == "caller"


async def _queued(queue: asyncio.Queue[int | None]) -> AsyncIterator[int]:
    while True:
        item = await queue.get()
        if item is None:
            return
        yield item


async def test_next_if_ready_takes_what_is_there_and_waits_for_the_rest() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    items = aiter(_queued(queue))
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert next_if_ready(items) == (True, 1)
    assert next_if_ready(items) == (True, 2)
    ready, task = next_if_ready(items)
    assert not ready and isinstance(task, asyncio.Task) and not task.done()
    queue.put_nowait(3)
    assert await task == 3
    queue.put_nowait(None)
    with pytest.raises(StopAsyncIteration):
        next_if_ready(items)


async def test_next_if_ready_ends_from_the_task_when_the_end_comes_later() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    items = aiter(_queued(queue))
    ready, task = next_if_ready(items)
    assert not ready and isinstance(task, asyncio.Task)
    queue.put_nowait(None)
    with pytest.raises(StopAsyncIteration):
        await task
