"""Start a coroutine at once, in the caller's turn of the event loop, up to its first wait.

Why: in one process an account update, its opportunity, its plan and its signature are four
handlers on one event loop. Queued as tasks, each hop waits for everything else that became
ready meanwhile (websocket frames, server copies, acknowledgements, other roles' work), and
the update's path to a signature took milliseconds of other work. Started eagerly, a handler
runs inside the publish that fed it, so the path from update to signature is one stretch of
CPU; whatever the handler then waits for (a server round trip) continues as an ordinary task.
Python 3.12's ``asyncio.eager_task_factory`` does this for every task; lstarb runs on 3.11
and wants it only for local deliveries, so it is done here for one coroutine at a time.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any, TypeVar

_T = TypeVar("_T")


def start_eagerly(coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T] | None:
    """Run ``coro`` now until it first waits; the rest becomes a task (returned).

    Returns None when it finished without waiting. It runs in a copy of the caller's context
    (as a task would), so context variables it sets do not leak into the caller. An
    exception it raises before its first wait is raised here.
    """
    done, rest = _first_step(coro)
    return None if done else rest  # type: ignore[return-value]


def _first_step(step: Coroutine[Any, Any, _T]) -> tuple[bool, _T | asyncio.Task[_T]]:
    """``step`` run until it first waits: ``(True, its result)`` when it did not wait,
    otherwise ``(False, the task that runs the rest)``; in a copy of the caller's context."""
    context = contextvars.copy_context()
    try:
        first = context.run(step.send, None)
    except StopIteration as stop:
        return True, stop.value
    loop = asyncio.get_running_loop()
    return False, loop.create_task(_Resumed(step, first).run(), context=context)


class _Resumed:
    """Drives a coroutine that already ran its first step, from the value it yielded.

    The task running :meth:`run` sees exactly what the inner coroutine yields (the future it
    waits on, or None for a bare yield), and passes results, exceptions and cancellation
    back into it, so the inner coroutine cannot tell it was started elsewhere.
    """

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    async def run(self) -> Any:
        return await self

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self._coro, self._first
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def next_if_ready(iterator: AsyncIterator[_T]) -> tuple[bool, _T | asyncio.Task[_T]]:
    """``(True, item)`` when the iterator's next item is there without waiting; otherwise
    ``(False, task)``, the task getting it. The end of the iterator raises
    ``StopAsyncIteration`` here or from the task.

    Why: a reader that batches what has already arrived (the scanner puts a slot's burst of
    account updates on the tape before the book and the strategies take them) must know
    whether the next item would wait, and a data source's ``stream()`` has no way to say.
    """
    step = iterator.__anext__()
    if not hasattr(step, "send"):  # an awaitable that is not a coroutine (a future)
        return False, asyncio.ensure_future(step)
    return _first_step(step)  # type: ignore[arg-type]
