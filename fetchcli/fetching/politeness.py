"""Politeness: at most `--per-host` requests in flight per origin, per-origin cooldowns after a
429/503 with Retry-After, and `--rate` request starts evenly spaced across the whole run.

State is kept only for origins with something in flight, waiting or cooling down, so a list of a
million distinct hosts costs no more than one of a few.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import field

from fetchcli.fetching.deadline import within
from fetchcli.slots import mutable

Origin = tuple[str, str, int | None]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_SWEEP_AT = 4096  # expired cooldowns of origins never seen again are dropped past this many


class RateLimiter:
    """Request starts `1/rate` seconds apart, never in bursts, retries included; or, for
    --limit-rate, body bytes at `rate` a second, each read paid for as it arrives (the next
    waits for it), so no burst is larger than one read."""

    def __init__(self, rate: float | None, *, clock: Clock, sleep: Sleep) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next_start = 0.0
        self._clock = clock
        self._sleep = sleep

    @property
    def limits(self) -> bool:
        return bool(self._interval)

    async def wait(self, units: float = 1.0) -> None:
        """Wait for the turn of `units` (one request start, or a read's bytes)."""
        if not self._interval:
            return
        now = self._clock()
        start = self._reserve(now, self._interval * units)
        if start > now:
            await self._sleep(start - now)

    def _reserve(self, now: float, cost: float) -> float:
        """The time the turn starts, reserved before sleeping: no two share it."""
        start = max(now, self._next_start)
        self._next_start = start + cost
        return start


_FREE: AbstractAsyncContextManager[None] = nullcontext()  # no slot to hold, no cooldown


@mutable
class _Slots:
    """One origin's connections in use, and the requests waiting for one."""

    in_flight: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


class HostGate:
    """Per-origin concurrency limit and cooldowns."""

    def __init__(self, per_host: int | None, *, clock: Clock, sleep: Sleep) -> None:
        self._per_host = per_host
        self._slots: dict[Origin, _Slots] = {}
        self._cooldowns: dict[Origin, float] = {}  # origin -> clock() time it may resume
        self._clock = clock
        self._sleep = sleep

    def cool_down(self, origin: Origin, seconds: float) -> None:
        """Pause every request to `origin` for `seconds` (the longest pause asked wins)."""
        now = self._clock()
        if len(self._cooldowns) >= _SWEEP_AT:
            self._cooldowns = {o: t for o, t in self._cooldowns.items() if t > now}
        if now + seconds > self._cooldowns.get(origin, 0.0):
            self._cooldowns[origin] = now + seconds

    def slot(
        self, origin: Origin, deadline: float | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Hold one of the origin's slots, after any cooldown, for the length of the block;
        the waits end at `deadline` (DeadlinePassed)."""
        if self._per_host is None and origin not in self._cooldowns:
            return _FREE  # the common case, entered on every hop: nothing to wait for or hold
        return self._held_slot(origin, deadline)

    @asynccontextmanager
    async def _held_slot(self, origin: Origin, deadline: float | None) -> AsyncIterator[None]:
        slots = None
        async with within(deadline):
            await self._wait_cooldown(origin)
            if self._per_host is not None:
                slots = self._slots.setdefault(origin, _Slots())
                await self._acquire(origin, slots)
        try:
            yield
        finally:
            if slots is not None:
                self._release(origin, slots)

    async def _wait_cooldown(self, origin: Origin) -> None:
        while (until := self._cooldowns.get(origin)) is not None:
            remaining = until - self._clock()
            if remaining <= 0:
                del self._cooldowns[origin]
                return
            await self._sleep(remaining)

    async def _acquire(self, origin: Origin, slots: _Slots) -> None:
        assert self._per_host is not None
        if slots.in_flight < self._per_host and not slots.waiting:
            slots.in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        slots.waiting.append(waiter)
        try:
            await waiter  # a finishing request hands its slot over: in_flight already counts us
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(origin, slots)  # handed over, but we no longer want it
            elif waiter in slots.waiting:
                slots.waiting.remove(waiter)
            raise

    def _release(self, origin: Origin, slots: _Slots) -> None:
        while slots.waiting:
            waiter = slots.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        slots.in_flight -= 1
        if slots.in_flight == 0:
            del self._slots[origin]  # nothing in flight or waiting: forget the origin

    @property
    def tracked(self) -> int:
        """How many origins the gate holds state for (tests check it stays bounded)."""
        return len(self._slots) + len(self._cooldowns)
