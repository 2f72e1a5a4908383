"""Putting results back in input order, holding back a bounded amount of them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")
HELD_BYTES = 16 * 1024 * 1024  # records held back for input order: some 20,000 of them


class Window(NamedTuple):
    """How much may wait behind the oldest unfinished item: the bytes held (an estimate), and
    optionally the number of items taken but not yet released."""

    max_bytes: int
    max_items: int | None = None


class Reorder(Generic[T]):
    """Releases items in sequence order; `window=None` releases them as they come.

    A worker `reserve()`s before it takes the next sequence number. While the items held back
    (finished, waiting for an earlier one) weigh `max_bytes` or more, or `max_items` are taken
    and unreleased, reservations wait, so a slow item at the head holds back a bounded amount.
    """

    def __init__(self, window: Window | None, size_of: Callable[[T], int] = lambda _: 0) -> None:
        self._window = window
        self._size_of = size_of
        self._next = 0
        self._held: dict[int, tuple[T, int]] = {}
        self._held_bytes = 0
        self._outstanding = 0  # reserved and not yet released
        self._waiters: list[asyncio.Future[None]] = []

    async def reserve(self) -> None:
        if self._window is None:
            return
        while self._full(self._window):
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._outstanding += 1

    def unreserve(self) -> None:
        if self._window is not None:
            self._outstanding -= 1
            self._wake()

    def push(self, seq: int, item: T) -> list[T]:
        """Add the item with sequence number `seq`; return every item now due, in order."""
        if self._window is None:
            return [item]
        if seq != self._next:
            size = self._size_of(item)
            self._held[seq] = (item, size)
            self._held_bytes += size
            return []
        due = [item]
        self._next += 1
        while self._next in self._held:
            held, size = self._held.pop(self._next)
            self._held_bytes -= size
            due.append(held)
            self._next += 1
        self._outstanding -= len(due)
        self._wake()
        return due

    def drain(self) -> list[T]:
        """Everything still held, in order, skipping the gaps (used when a run is cut short)."""
        held = [self._held[seq][0] for seq in sorted(self._held)]
        self._held.clear()
        self._held_bytes = 0
        return held

    def _full(self, window: Window) -> bool:
        if self._held_bytes >= window.max_bytes:
            return True
        return window.max_items is not None and self._outstanding >= window.max_items

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
