"""Mutations of real account bytes, and a deadline for calls that must not hang.

A decoder fed hostile bytes may only raise DecodeError; the bytes that find
the bugs are rarely random noise but real accounts with one field broken:
a zero where the program divides, a sign bit in a tick, a bump that is no
bump. So the mutations start from a real account: every truncation, every
byte of small accounts set to 0x00 and 0xFF, sampled bytes and bit flips of
large ones, a few appended bytes, and random bytes with and without the
real discriminator. Everything is drawn from a seeded ``random.Random``:
the same seed gives the same cases, so a failure reproduces.
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType


@dataclass(frozen=True, slots=True)
class Mutation:
    """One mutated copy of an account's data, and how it was made (for the report)."""

    description: str
    data: bytes


def truncations(data: bytes) -> Iterator[Mutation]:
    """Every strict prefix of ``data``, longest first (most survive the size checks last)."""
    for n in range(len(data) - 1, -1, -1):
        yield Mutation(f"truncated to {n} bytes", data[:n])


def byte_sweep(data: bytes) -> Iterator[Mutation]:
    """Every byte set to 0x00 and to 0xFF (where that changes it)."""
    for i, b in enumerate(data):
        for value in (0x00, 0xFF):
            if b != value:
                yield Mutation(
                    f"byte {i} = {value:#04x}", data[:i] + bytes((value,)) + data[i + 1 :]
                )


def sampled(data: bytes, rng: random.Random, budget: int) -> Iterator[Mutation]:
    """``budget`` mutations: single bytes (0x00, 0xFF, random) at random offsets, bit flips,
    appended bytes and random bytes (half of them behind the real 8-byte prefix)."""
    n = len(data)
    if n == 0:
        return
    for k in range(budget):
        kind = k % 8
        if kind < 3:
            i = rng.randrange(n)
            value = (0x00, 0xFF, rng.randrange(256))[kind]
            yield Mutation(f"byte {i} = {value:#04x}", data[:i] + bytes((value,)) + data[i + 1 :])
        elif kind < 6:
            buf = bytearray(data)
            flips = []
            for _ in range(1 + kind - 3):
                bit = rng.randrange(8 * n)
                buf[bit // 8] ^= 1 << (bit % 8)
                flips.append(bit)
            yield Mutation(f"bits {flips} flipped", bytes(buf))
        elif kind == 6:
            extra = rng.choice((1, 8, 64))
            yield Mutation(f"{extra} random bytes appended", data + rng.randbytes(extra))
        else:
            size = rng.choice((n, n // 2, rng.randrange(2 * n + 1)))
            if rng.random() < 0.5 and size >= 8:
                yield Mutation(
                    f"{size} random bytes after the real first 8",
                    data[:8] + rng.randbytes(size - 8),
                )
            else:
                yield Mutation(f"{size} random bytes", rng.randbytes(size))


class CallTimeout(BaseException):
    """A call ran past its deadline (a BaseException, so ``except Exception`` cannot hide it)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`CallTimeout` in the block after ``seconds`` (main thread, POSIX).

    Elsewhere the block runs unbounded and overrunning it raises afterwards,
    so a slow call is still reported, only not interrupted.
    """
    use_alarm = (
        hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    start = time.perf_counter()
    if not use_alarm:
        yield
        if time.perf_counter() - start > seconds:
            raise CallTimeout(f"took {time.perf_counter() - start:.2f} s (limit {seconds} s)")
        return

    def _expired(signum: int, frame: FrameType | None) -> None:
        raise CallTimeout(f"did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
