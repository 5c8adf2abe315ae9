"""Orca Whirlpools and Raydium CLMM pools as the peer executes swaps on them.

Each class knows where its program keeps what a swap reads and writes (offsets from
the programs' sources, the same the DEX plugins decode): price, tick, liquidity, fee
growth and owed fees in the pool; the initialized ticks of its tick arrays and their
"outside" accumulators, which crossing a tick flips; the reward accumulators a swap
brings up to the Clock first. :meth:`ClmmPool.execute` writes a :class:`Swap` as the
program's ``update_after_swap`` and tick updates would.

Only what the peer can execute exactly is movable: fixed-size tick arrays, SPL Token
vaults, a static fee (no Orca adaptive fee, no Raydium dynamic fee, fees on the input),
no Raydium limit orders on a tick a swap crosses. A pool that is not movable stands
still and the driver says why (:func:`clmm_pool`).
"""

from __future__ import annotations

import abc
from typing import ClassVar

from solders.pubkey import Pubkey

from lstarb_runtime.simnet.clmm_math import ORCA, RAYDIUM, U128_MAX, TickMath
from lstarb_runtime.simnet.clmm_swap import FeeSplit, Swap, SwapRefused
from lstarb_runtime.simnet.store import AccountStore
from lstarb_sdk.layout import i32, i128, u16, u32, u64, u128
from lstarb_sdk.solana import Clock

WHIRLPOOL = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc"
RAYDIUM_CLMM = "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
_DEFAULT_KEY = bytes(32)


class Unmovable(ValueError):
    """The peer cannot execute swaps on this pool exactly (the message says why)."""


def _put(buf: bytearray, offset: int, value: int, size: int, signed: bool = False) -> None:
    buf[offset : offset + size] = value.to_bytes(size, "little", signed=signed)


def _flip(buf: bytearray, offset: int, growth: int) -> None:
    """``outside = global - outside`` (wrapping u128), as crossing a tick does."""
    outside = int.from_bytes(buf[offset : offset + 16], "little")
    _put(buf, offset, (growth - outside) & U128_MAX, 16)


def _key(data: bytes, offset: int) -> str:
    return str(Pubkey.from_bytes(data[offset : offset + 32]))


def _mul_div_or_zero(a: int, b: int, d: int) -> int:
    """``a * b / d`` floored, 0 when the product overflows u128 (``checked_mul_div`` or 0)."""
    product = a * b
    return 0 if product > U128_MAX or d == 0 else product // d


class ClmmPool(abc.ABC):
    """A concentrated pool's fixed keys and the program rules for executing a swap."""

    program: ClassVar[str]
    math: ClassVar[TickMath]
    ticks_per_array: ClassVar[int]

    def __init__(self, address: str, data: bytes) -> None:
        self.address = address
        self.tick_spacing = self._spacing(data)
        self.span = self.ticks_per_array * self.tick_spacing
        self.mint_a, self.mint_b, self.vault_a, self.vault_b = self._keys(data)
        self._array_keys: dict[int, str] = {}

    # ------------------------------------------------------------ program specifics
    @abc.abstractmethod
    def _spacing(self, data: bytes) -> int: ...

    @abc.abstractmethod
    def _keys(self, data: bytes) -> tuple[str, str, str, str]: ...

    def array_key(self, start: int) -> str:
        """The tick array PDA starting at ``start`` (derived once)."""
        key = self._array_keys.get(start)
        if key is None:
            key = self._array_keys[start] = self._derive_array_key(start)
        return key

    @abc.abstractmethod
    def _derive_array_key(self, start: int) -> str: ...

    @abc.abstractmethod
    def sqrt_price(self, data: bytes) -> int: ...

    @abc.abstractmethod
    def tick(self, data: bytes) -> int: ...

    @abc.abstractmethod
    def liquidity(self, data: bytes) -> int: ...

    @abc.abstractmethod
    def fee_rate(self, store: AccountStore, data: bytes) -> int: ...

    @abc.abstractmethod
    def fee_growth(self, data: bytes, a_to_b: bool) -> int: ...

    @abc.abstractmethod
    def fee_split(self, store: AccountStore, data: bytes) -> FeeSplit: ...

    @abc.abstractmethod
    def array_ticks(self, data: bytes) -> list[tuple[int, int, bool]]:
        """(tick, liquidity_net, crossable) of an array's initialized ticks; a tick the
        peer cannot cross exactly is not crossable."""

    @abc.abstractmethod
    def window(self, tick: int, a_to_b: bool) -> tuple[int, int]:
        """The ticks a swap from ``tick`` may end in, as the program's array window allows."""

    @abc.abstractmethod
    def _write_pool(self, data: bytes, swap: Swap, clock: Clock) -> tuple[bytes, list[int]]:
        """The pool after the swap, and the reward growths crossing ticks flip."""

    @abc.abstractmethod
    def _flip_tick(
        self,
        data: bytearray,
        at: int,
        swap: Swap,
        growth_in: int,
        growth_other: int,
        rewards: list[int],
    ) -> None: ...

    @abc.abstractmethod
    def _tick_offset(self, start: int, tick: int) -> int: ...

    @abc.abstractmethod
    def _touch_array(self, data: bytearray, clock: Clock) -> None:
        """What else the program writes to a tick array it updates."""

    # ------------------------------------------------------------ shared
    def array_start(self, tick: int) -> int:
        return tick // self.span * self.span

    def reachable(self, store: AccountStore, data: bytes, a_to_b: bool) -> tuple[int, int]:
        """Ticks a swap may end in: the program's window, within the loaded arrays around
        the price (an array the peer does not hold is never entered)."""
        tick = self.tick(data)
        low, high = self.window(tick, a_to_b)
        first = self.array_start(tick)
        start = first
        while start - self.span >= low and self.array_key(start - self.span) in store:
            start -= self.span
        low = max(low, start)
        end = first
        while end + self.span <= high and self.array_key(end + self.span) in store:
            end += self.span
        high = min(high, end + self.span - 1)
        if self.array_key(first) not in store:
            return tick, tick
        return low, high

    def ticks_between(
        self, store: AccountStore, tick: int, target_tick: int, a_to_b: bool
    ) -> list[tuple[int, int]]:
        """Initialized ticks a swap from ``tick`` to ``target_tick`` crosses, in order."""
        low, high = (target_tick + 1, tick) if a_to_b else (tick + 1, target_tick)
        found: list[tuple[int, int]] = []
        start = self.array_start(low)
        while start <= high:
            entry = store.get(self.array_key(start))
            if entry is None:
                raise Unmovable(f"tick array {self.array_key(start)} is not served")
            for at, net, crossable in self.array_ticks(entry.data):
                if low <= at <= high:
                    if not crossable:
                        raise Unmovable(f"tick {at} cannot be crossed exactly")
                    found.append((at, net))
            start += self.span
        found.sort(reverse=a_to_b)
        return found

    def execute(self, store: AccountStore, swap: Swap, clock: Clock) -> dict[str, bytes]:
        """The new data of the pool and the tick arrays the swap crosses (the vaults take
        ``amount_in`` and pay ``amount_out``); SwapRefused when the program would fail it."""
        pool = store.get(self.address)
        assert pool is not None
        new_pool, rewards = self._write_pool(pool.data, swap, clock)
        writes: dict[str, bytes] = {self.address: new_pool}
        arrays: dict[str, bytearray] = {}
        growth_other = self.fee_growth(pool.data, not swap.a_to_b)
        for crossing in swap.crossings:
            start = self.array_start(crossing.tick)
            key = self.array_key(start)
            if key not in arrays:
                entry = store.get(key)
                assert entry is not None
                arrays[key] = bytearray(entry.data)
                self._touch_array(arrays[key], clock)
            at = self._tick_offset(start, crossing.tick)
            self._flip_tick(arrays[key], at, swap, crossing.fee_growth_in, growth_other, rewards)
        writes.update({k: bytes(v) for k, v in arrays.items()})
        return writes


class Whirlpool(ClmmPool):
    """An Orca Whirlpool (653-byte account, fixed 9988-byte tick arrays of 88 ticks)."""

    program = WHIRLPOOL
    math = ORCA
    ticks_per_array = 88
    _TICK_LEN = 113

    def _spacing(self, data: bytes) -> int:
        return u16(data, 41)

    def _keys(self, data: bytes) -> tuple[str, str, str, str]:
        return _key(data, 101), _key(data, 181), _key(data, 133), _key(data, 213)

    def _derive_array_key(self, start: int) -> str:
        seeds = [b"tick_array", bytes(Pubkey.from_string(self.address)), str(start).encode()]
        return str(Pubkey.find_program_address(seeds, Pubkey.from_string(WHIRLPOOL))[0])

    def sqrt_price(self, data: bytes) -> int:
        return u128(data, 65)

    def tick(self, data: bytes) -> int:
        return i32(data, 81)

    def liquidity(self, data: bytes) -> int:
        return u128(data, 49)

    def fee_rate(self, store: AccountStore, data: bytes) -> int:
        return u16(data, 45)

    def fee_growth(self, data: bytes, a_to_b: bool) -> int:
        return u128(data, 165 if a_to_b else 245)

    def fee_split(self, store: AccountStore, data: bytes) -> FeeSplit:
        rate = u16(data, 47)

        def split(fee: int, liquidity: int) -> tuple[int, int, int]:
            protocol = fee * rate // 10_000
            return protocol, 0, fee - protocol

        return split

    def array_ticks(self, data: bytes) -> list[tuple[int, int, bool]]:
        if len(data) != 9988:
            raise Unmovable("a dynamic tick array (only fixed arrays are executed)")
        start = i32(data, 8)
        out = []
        for i in range(self.ticks_per_array):
            at = 12 + i * self._TICK_LEN
            if data[at]:
                out.append((start + i * self.tick_spacing, i128(data, at + 1), True))
        return out

    def window(self, tick: int, a_to_b: bool) -> tuple[int, int]:
        """Three arrays in the swap's direction: from the one holding the tick (a to b) or
        the tick plus one spacing (b to a); the far edge is a step of its own, so it stays
        out of reach."""
        if a_to_b:
            return self.array_start(tick) - 2 * self.span + 1, tick
        return tick, self.array_start(tick + self.tick_spacing) + 3 * self.span - 2

    def _tick_offset(self, start: int, tick: int) -> int:
        return 12 + (tick - start) // self.tick_spacing * self._TICK_LEN

    def _touch_array(self, data: bytearray, clock: Clock) -> None:
        """Whirlpool tick arrays record nothing but the ticks."""

    def _rewards(self, data: bytes, now: int) -> list[int]:
        """``next_whirlpool_reward_infos``: growth globals brought up to ``now``."""
        last, liquidity = u64(data, 261), self.liquidity(data)
        if now < last:
            raise SwapRefused(f"Clock {now} is before the rewards' last update {last}")
        growths = []
        for i in range(3):
            at = 269 + 128 * i
            growth = u128(data, at + 112)
            if data[at : at + 32] != _DEFAULT_KEY and liquidity and now != last:
                growth += _mul_div_or_zero(now - last, u128(data, at + 96), liquidity)
            growths.append(growth & U128_MAX)
        return growths

    def _write_pool(self, data: bytes, swap: Swap, clock: Clock) -> tuple[bytes, list[int]]:
        rewards = self._rewards(data, clock.unix_timestamp)
        out = bytearray(data)
        _put(out, 49, swap.liquidity, 16)
        _put(out, 65, swap.sqrt_price, 16)
        _put(out, 81, swap.tick, 4, signed=True)
        owed_at, growth_at = (85, 165) if swap.a_to_b else (93, 245)
        _put(out, owed_at, u64(data, owed_at) + swap.protocol_fee, 8)
        _put(out, growth_at, swap.fee_growth_in, 16)
        _put(out, 261, clock.unix_timestamp, 8)
        for i, growth in enumerate(rewards):
            _put(out, 269 + 128 * i + 112, growth, 16)
        initialized = [data[269 + 128 * i : 301 + 128 * i] != _DEFAULT_KEY for i in range(3)]
        return bytes(out), [g if ok else -1 for g, ok in zip(rewards, initialized, strict=True)]

    def _flip_tick(
        self,
        data: bytearray,
        at: int,
        swap: Swap,
        growth_in: int,
        growth_other: int,
        rewards: list[int],
    ) -> None:
        growth_a, growth_b = (growth_in, growth_other) if swap.a_to_b else (growth_other, growth_in)
        _flip(data, at + 33, growth_a)
        _flip(data, at + 49, growth_b)
        for i, growth in enumerate(rewards):
            if growth >= 0:
                _flip(data, at + 65 + 16 * i, growth)


class RaydiumClmm(ClmmPool):
    """A Raydium CLMM pool (1544-byte PoolState, 10240-byte tick arrays of 60 ticks)."""

    program = RAYDIUM_CLMM
    math = RAYDIUM
    ticks_per_array = 60
    _TICK_LEN = 168

    def _spacing(self, data: bytes) -> int:
        return u16(data, 235)

    def _keys(self, data: bytes) -> tuple[str, str, str, str]:
        return _key(data, 73), _key(data, 105), _key(data, 137), _key(data, 169)

    def _derive_array_key(self, start: int) -> str:
        seeds = [
            b"tick_array",
            bytes(Pubkey.from_string(self.address)),
            start.to_bytes(4, "big", signed=True),
        ]
        return str(Pubkey.find_program_address(seeds, Pubkey.from_string(RAYDIUM_CLMM))[0])

    def sqrt_price(self, data: bytes) -> int:
        return u128(data, 253)

    def tick(self, data: bytes) -> int:
        return i32(data, 269)

    def liquidity(self, data: bytes) -> int:
        return u128(data, 237)

    def _config(self, store: AccountStore, data: bytes) -> bytes:
        entry = store.get(_key(data, 9))
        if entry is None:
            raise Unmovable(f"amm_config {_key(data, 9)} is not served")
        return entry.data

    def fee_rate(self, store: AccountStore, data: bytes) -> int:
        return u32(self._config(store, data), 47)

    def fee_growth(self, data: bytes, a_to_b: bool) -> int:
        return u128(data, 277 if a_to_b else 293)

    def fee_split(self, store: AccountStore, data: bytes) -> FeeSplit:
        config = self._config(store, data)
        protocol_rate, fund_rate = u32(config, 43), u32(config, 53)

        def split(fee: int, liquidity: int) -> tuple[int, int, int]:
            protocol, fund = fee * protocol_rate // 1_000_000, fee * fund_rate // 1_000_000
            rest = fee - protocol - fund
            return (protocol, fund, rest) if liquidity > 0 else (protocol + rest, fund, 0)

        return split

    def array_ticks(self, data: bytes) -> list[tuple[int, int, bool]]:
        """Initialized: liquidity or limit orders; one with limit orders is not crossable
        (a crossing fills them, which the peer does not execute)."""
        out = []
        for i in range(self.ticks_per_array):
            at = 44 + i * self._TICK_LEN
            orders = u64(data, at + 124) or u64(data, at + 132)
            if u128(data, at + 20) or orders:
                out.append((i32(data, at), i128(data, at + 4), not orders))
        return out

    def window(self, tick: int, a_to_b: bool) -> tuple[int, int]:
        """The program walks any number of initialized arrays it is given."""
        return (-443636, tick) if a_to_b else (tick, 443636)

    def _tick_offset(self, start: int, tick: int) -> int:
        return 44 + (tick - start) // self.tick_spacing * self._TICK_LEN

    def _touch_array(self, data: bytearray, clock: Clock) -> None:
        _put(data, 10125, clock.epoch, 8)  # update_tick_state stamps recent_epoch

    def _rewards(self, data: bytes, out: bytearray, now: int) -> list[int]:
        """``update_reward_infos``: growths, emitted totals, last update and state."""
        liquidity = self.liquidity(data)
        growths = []
        for i in range(3):
            at = 397 + 169 * i
            if data[at + 57 : at + 89] == _DEFAULT_KEY:
                growths.append(-1)
                continue
            growth = u128(data, at + 153)
            growths.append(growth)
            open_time, end_time, last = u64(data, at + 1), u64(data, at + 9), u64(data, at + 17)
            emitted = u64(data, at + 41)
            if emitted == (1 << 64) - 1 or now <= open_time:
                continue
            latest = min(now, end_time)
            if liquidity:
                delta = max(0, latest - last)
                if delta == 0:
                    continue
                emissions = u128(data, at + 25)
                emitted_delta = -(-delta * emissions // (1 << 64))
                growth_delta = delta * emissions // liquidity
                remain = (1 << 64) - 1 - emitted
                if emitted_delta <= remain:
                    emitted += emitted_delta
                else:
                    emitted = (1 << 64) - 1
                    growth_delta = (remain << 64) // liquidity
                growths[i] = (growth + growth_delta) & U128_MAX
                _put(out, at + 153, growths[i], 16)
                _put(out, at + 41, emitted, 8)
            _put(out, at + 17, latest, 8)
            if open_time <= latest < end_time:
                out[at] = 2  # Opening
            elif latest == end_time:
                out[at] = 3  # Ended
        return growths

    def _write_pool(self, data: bytes, swap: Swap, clock: Clock) -> tuple[bytes, list[int]]:
        now = clock.unix_timestamp & 0xFFFF_FFFF  # the program reads a u32 block time
        if now <= u64(data, 1080):
            raise SwapRefused("the pool is not open yet")
        out = bytearray(data)
        rewards = self._rewards(data, out, now)
        _put(out, 1088, clock.epoch, 8)
        _put(out, 237, swap.liquidity, 16)
        _put(out, 253, swap.sqrt_price, 16)
        _put(out, 269, swap.tick, 4, signed=True)
        growth_at, protocol_at, fund_at = (277, 309, 1064) if swap.a_to_b else (293, 317, 1072)
        if swap.lp_fee:
            _put(out, growth_at, swap.fee_growth_in, 16)
        _put(out, protocol_at, u64(data, protocol_at) + swap.protocol_fee, 8)
        _put(out, fund_at, u64(data, fund_at) + swap.fund_fee, 8)
        return bytes(out), rewards

    def _flip_tick(
        self,
        data: bytearray,
        at: int,
        swap: Swap,
        growth_in: int,
        growth_other: int,
        rewards: list[int],
    ) -> None:
        growth_0, growth_1 = (growth_in, growth_other) if swap.a_to_b else (growth_other, growth_in)
        _flip(data, at + 36, growth_0)
        _flip(data, at + 52, growth_1)
        for i, growth in enumerate(rewards):
            if growth >= 0:
                _flip(data, at + 68 + 16 * i, growth)


def clmm_pool(address: str, owner: str, data: bytes, store: AccountStore) -> ClmmPool | str | None:
    """The movable concentrated pool at ``address``; a string saying why it stands still;
    None when the account is not a Whirlpool or Raydium CLMM pool."""
    pool: ClmmPool
    if owner == WHIRLPOOL and len(data) == 653:
        pool = Whirlpool(address, data)
        if u16(data, 43) != pool.tick_spacing:
            return "an adaptive-fee Whirlpool (the peer does not execute adaptive fees)"
    elif owner == RAYDIUM_CLMM and len(data) == 1544:
        pool = RaydiumClmm(address, data)
        if any(data[1096:1134]):
            return "a dynamic-fee Raydium pool (the peer does not execute dynamic fees)"
        if data[390] != 0:
            return f"fees on token {data[390] - 1}, not on the input"
        if data[389] & (1 << 4):
            return "swaps are disabled (status bit 4)"
    else:
        return None
    for key in (pool.vault_a, pool.vault_b):
        entry = store.get(key)
        if entry is None:
            return f"vault {key} is not served"
        if entry.owner != TOKEN_PROGRAM:
            return f"vault {key} is not an SPL Token account (Token-2022 fees are not executed)"
    return pool
