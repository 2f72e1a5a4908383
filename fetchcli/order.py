"""Putting results back in input order, holding at most a bounded window of them."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Reorder(Generic[T]):
    """Releases items in sequence order.

    A worker `reserve()`s a slot before taking the next sequence number, and the slot is freed
    when that item is released in order, so at most `window` items are taken but not yet
    released. With `window=None` items are released as they come (completion order).
    """

    def __init__(self, window: int | None) -> None:
        self._slots = asyncio.Semaphore(window) if window is not None else None
        self._next = 0
        self._held: dict[int, T] = {}

    async def reserve(self) -> None:
        if self._slots is not None:
            await self._slots.acquire()

    def unreserve(self) -> None:
        if self._slots is not None:
            self._slots.release()

    def push(self, seq: int, item: T) -> list[T]:
        """Add the item with sequence number `seq`; return every item now due, in order."""
        if self._slots is None:
            return [item]
        self._held[seq] = item
        due: list[T] = []
        while self._next in self._held:
            due.append(self._held.pop(self._next))
            self._next += 1
            self._slots.release()
        return due

    def drain(self) -> list[T]:
        """Everything still held, in order, skipping the gaps (used when a run is cut short)."""
        held = [self._held[seq] for seq in sorted(self._held)]
        self._held.clear()
        return held
