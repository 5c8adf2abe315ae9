"""The update order: news only, numbered by slot and write order, the freshest lane wins."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from lstarb_rpc.ordering import (
    BACKWARDS,
    CLOSED,
    DUPLICATE,
    KEPT_STATES,
    STALE,
    Lane,
    State,
    UpdateOrder,
)

KEY = Pubkey.new_unique()
OWNER = Pubkey.new_unique()


def state(n: int) -> State:
    return (1_000 + n, OWNER, False, n.to_bytes(8, "little"))


def test_newer_slots_restart_the_write_order_and_older_ones_are_stale() -> None:
    order, lane = UpdateOrder(), Lane("a")
    assert order.admit(lane, KEY, 10, state(1)) == 1
    assert order.admit(lane, KEY, 12, state(2)) == 1
    other = Lane("b")
    assert order.admit(other, KEY, 11, state(9)) == STALE
    assert order.admit(lane, KEY, 11, state(3)) == BACKWARDS  # the same lane went back
    assert order.admit(lane, KEY, 13, state(2)) == 1  # a new slot is news even if equal


def test_states_within_a_slot_are_numbered_and_another_lane_adds_only_duplicates() -> None:
    order, fast, slow = UpdateOrder(), Lane("fast"), Lane("slow")
    assert [order.admit(fast, KEY, 5, state(n)) for n in (1, 2, 3)] == [1, 2, 3]
    # the slow endpoint delivers the same sequence later: nothing of it is news, and its
    # first state (older than the third) is not emitted again as if it were newer
    assert [order.admit(slow, KEY, 5, state(n)) for n in (1, 2, 3)] == [DUPLICATE] * 3
    assert order.admit(slow, KEY, 5, state(4)) == 4


def test_an_equal_state_is_no_news_within_a_slot() -> None:
    order, lane = UpdateOrder(), Lane("a")
    assert order.admit(lane, KEY, 5, state(1)) == 1
    assert order.admit(Lane("b"), KEY, 5, state(1)) == DUPLICATE


def test_fetched_snapshots_are_dropped_when_a_notification_beat_them() -> None:
    order, lane = UpdateOrder(), Lane("a")
    mark = order.mark(KEY)
    assert mark is None
    assert order.admit(lane, KEY, 7, state(2)) == 1  # arrives while the fetch is out
    assert order.admit_fetched(KEY, 7, state(1), mark) == DUPLICATE
    mark = order.mark(KEY)
    assert mark is not None
    assert order.admit_fetched(KEY, 6, state(0), mark) == STALE
    assert order.admit_fetched(KEY, 7, state(2), mark) == DUPLICATE  # the same state
    # missed while disconnected: same slot, different state -> the next write order
    assert order.admit_fetched(KEY, 7, state(3), mark) == 2
    # a read at a later slot of the same state is not a write: no news
    assert order.admit_fetched(KEY, 9, state(3), order.mark(KEY)) == DUPLICATE
    assert order.admit_fetched(KEY, 9, state(4), order.mark(KEY)) == 1


def test_null_snapshots_close_known_accounts_and_say_nothing_of_unknown_ones() -> None:
    order, lane = UpdateOrder(), Lane("a")
    assert order.admit_fetched(KEY, 3, None, None) == DUPLICATE
    assert order.mark(KEY) is None
    assert order.admit(lane, KEY, 3, state(1)) == 1
    assert order.admit_fetched(KEY, 4, None, order.mark(KEY)) == 1
    # the chain's own notification of the closure is then a duplicate
    assert order.admit(lane, KEY, 4, CLOSED) == DUPLICATE


def test_memory_per_slot_is_bounded_and_numbering_goes_on() -> None:
    order, lane = UpdateOrder(), Lane("a")
    orders = [order.admit(lane, KEY, 1, state(n)) for n in range(KEPT_STATES * 3)]
    assert orders == list(range(1, KEPT_STATES * 3 + 1))
    late = Lane("late")
    # a late lane replaying them: positions beyond the kept window count as duplicates
    assert [order.admit(late, KEY, 1, state(n)) for n in range(KEPT_STATES * 3)] == [DUPLICATE] * (
        KEPT_STATES * 3
    )
    assert order.admit(late, KEY, 1, state(999)) == KEPT_STATES * 3 + 1


SEQUENCES = st.lists(
    st.tuples(st.integers(0, 5), st.lists(st.integers(0, 3), min_size=1, max_size=3)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(SEQUENCES, st.lists(st.booleans(), min_size=40, max_size=40))
def test_two_lanes_interleaved_emit_increasing_versions_and_end_in_the_last_state(
    history: list[tuple[int, list[int]]], picks: list[bool]
) -> None:
    """Two endpoints deliver the same history (one state list per slot) interleaved at
    random: the emitted (slot, write order) strictly increase and the last emitted state is
    the history's last."""
    slots: dict[int, list[int]] = {}
    for slot, values in history:
        slots.setdefault(slot, []).extend(values)
    timeline = [(slot, v) for slot in sorted(slots) for v in slots[slot]]
    order, lanes = UpdateOrder(), (Lane("a"), Lane("b"))
    cursors = [0, 0]
    emitted: list[tuple[int, int, int]] = []
    for pick in [*picks, *([False] * len(timeline)), *([True] * len(timeline))]:
        i = int(pick)
        if cursors[i] >= len(timeline):
            continue
        slot, value = timeline[cursors[i]]
        cursors[i] += 1
        version = order.admit(lanes[i], KEY, slot, state(value))
        if version > 0:
            emitted.append((slot, version, value))
    versions = [(s, v) for s, v, _ in emitted]
    assert versions == sorted(set(versions))
    assert emitted[-1][0] == timeline[-1][0]
    assert emitted[-1][2] == timeline[-1][1]
