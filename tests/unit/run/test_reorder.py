"""Reorder: results come out in input order whatever order they finish in, and a slow head holds
back no more than its window (the bytes held, or the items taken)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchcli.run.reorder import Reorder, Window

pytestmark = pytest.mark.anyio


class Stepped:
    """A coroutine run by hand, one step at a time, without an event loop turn: `finished()`
    says whether it has returned, stepping it on only once what it waits for is done."""

    def __init__(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self._coroutine = coroutine
        self._waiting_on: Any = None

    def finished(self) -> bool:
        if self._waiting_on is not None and not self._waiting_on.done():
            return False
        try:
            self._waiting_on = self._coroutine.send(None)
        except StopIteration:
            return True
        return False


def finishes_now(coroutine: Coroutine[Any, Any, None]) -> bool:
    return Stepped(coroutine).finished()


@given(st.permutations(range(40)))
def test_any_finishing_order_comes_out_in_input_order(finished: list[int]) -> None:
    """Pushed in any order, every item comes out once, in sequence order, each as soon as all
    before it are out."""
    reorder: Reorder[str] = Reorder(Window(max_bytes=1 << 30))
    out: list[str] = []
    for seq in finished:
        due = reorder.push(seq, f"item {seq}")
        out += due
        assert out == [f"item {n}" for n in range(len(out))]
        assert len(out) == min(set(range(41)) - set(finished[: finished.index(seq) + 1]))
    assert reorder.drain() == []


def test_without_a_window_items_pass_as_they_come() -> None:
    """--order completion: nothing is held, whatever its number."""
    reorder: Reorder[str] = Reorder(None)
    assert [reorder.push(seq, str(seq)) for seq in (3, 0, 2)] == [["3"], ["0"], ["2"]]
    assert reorder.drain() == []


async def test_without_a_window_reserving_never_waits() -> None:
    reorder: Reorder[str] = Reorder(None)
    for _ in range(10_000):
        assert finishes_now(reorder.reserve())


async def test_held_bytes_past_the_window_make_reservations_wait_for_the_head() -> None:
    """A slow head and 12 bytes held behind it, over a window of 10: the next reservation
    waits; the head arriving releases everything and lets it go on."""
    reorder: Reorder[str] = Reorder(Window(max_bytes=10), size_of=len)
    for _ in range(3):
        assert finishes_now(reorder.reserve())
    assert reorder.push(1, "x" * 6) == []
    assert finishes_now(reorder.reserve())  # 6 bytes held: under the window still
    assert reorder.push(2, "y" * 6) == []
    blocked = Stepped(reorder.reserve())
    assert not blocked.finished()
    assert reorder.push(0, "head") == ["head", "x" * 6, "y" * 6]
    assert blocked.finished()


async def test_items_taken_are_bounded_by_max_items() -> None:
    """-f body: with max_items 3, a fourth item is not taken while the first three are out;
    each released (or given back, at the end of the input) lets one more go."""
    reorder: Reorder[str] = Reorder(Window(max_bytes=1 << 30, max_items=3))
    for _ in range(3):
        assert finishes_now(reorder.reserve())
    fourth = Stepped(reorder.reserve())
    assert not fourth.finished()
    assert reorder.push(1, "b") == []  # finished, but held: still counts
    assert not fourth.finished()
    assert reorder.push(0, "a") == ["a", "b"]
    assert fourth.finished()
    fifth, sixth = Stepped(reorder.reserve()), Stepped(reorder.reserve())
    assert fifth.finished()  # two out now (2 and the fourth): room for one
    assert not sixth.finished()
    reorder.unreserve()  # a worker found the input at its end
    assert sixth.finished()


async def test_many_waiting_reservations_all_wake() -> None:
    """Every reservation waiting on a full window goes on once it empties, none forgotten."""
    reorder: Reorder[str] = Reorder(Window(max_bytes=1), size_of=len)
    assert finishes_now(reorder.reserve()) and finishes_now(reorder.reserve())
    reorder.push(1, "held")
    waiting = [Stepped(reorder.reserve()) for _ in range(5)]
    assert not any(reservation.finished() for reservation in waiting)
    reorder.push(0, "head")
    assert all(reservation.finished() for reservation in waiting)


def test_drain_gives_what_is_held_in_order_skipping_gaps() -> None:
    """A run cut short: what finished behind the unfinished head is still written, in order;
    afterwards nothing is held."""
    reorder: Reorder[str] = Reorder(Window(max_bytes=1 << 30))
    for seq in (5, 2, 3, 9):
        assert reorder.push(seq, str(seq)) == []
    assert reorder.drain() == ["2", "3", "5", "9"]
    assert reorder.drain() == []
