"""aiohttp's connection pool, bounded and frugal, for lists of many hosts.

- aiohttp's `limit` counts only connections in use: idle keep-alive ones pile up beside them,
  one or more per host, until they expire (2,000 hosts, 2,000 sockets). Here in use plus idle
  never passes `limit`: a new connection first closes the longest-idle one when the pool is
  full, and at most `max_idle` connections wait idle.
- Two URLs on one host that start together would open two connections (two TLS handshakes)
  where one would do. A request that finds every connection to its origin busy or still being
  opened waits for one to come back, but once that origin's connection is open no longer than
  opening it took, then opens its own: it loses at most about what a new connection costs, and
  usually saves one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import field
from typing import Any

import aiohttp

from fetchcli.slots import mutable

_FIRST_GUESS = 0.05  # seconds to open a connection, until the run has opened some


@mutable
class _Origin:
    """The connections of one origin (aiohttp's connection key) in use or being opened."""

    busy: int = 0
    promised: int = 0  # idle connections handed to waiters that have not taken them yet
    setup: float | None = None  # seconds the last connection took to open
    # Answered True: a connection is free; False: the first one has opened (or failed).
    waiters: deque[asyncio.Future[bool | None]] = field(default_factory=deque)


class BoundedConnector(aiohttp.TCPConnector):
    """See the module docstring."""

    def __init__(self, *, limit: int, max_idle: int, **options: Any) -> None:
        super().__init__(limit=limit, **options)
        self._max_idle = max_idle
        self._origins: dict[Any, _Origin] = {}
        self._typical_setup = _FIRST_GUESS  # a moving average over the run

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        key = req.connection_key
        origin = self._origins.get(key)
        if origin is not None and origin.busy and not self.force_close:
            free = len(self._conns.get(key, ())) - origin.promised
            if free <= 0:
                await self._wait_for_reuse(origin)
        return await super().connect(req, traces, timeout)

    async def _wait_for_reuse(self, origin: _Origin) -> None:
        """Until a connection of the origin is free, or opening our own is the better bet."""
        loop = asyncio.get_running_loop()
        # While the origin's first connection is still opening, its time is unknown: guess.
        deadline = loop.time() + (origin.setup or 2 * self._typical_setup)
        while True:
            # A timer answers the waiter itself (None), so the waiter is answered exactly once,
            # whoever comes first, and nothing is cancelled.
            waiter: asyncio.Future[bool | None] = loop.create_future()
            timer = loop.call_at(deadline, _answer, waiter, None)
            origin.waiters.append(waiter)
            try:
                answer = await waiter
            finally:
                timer.cancel()
                if waiter in origin.waiters:
                    origin.waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled() and waiter.result():
                    origin.promised -= 1  # a connection was promised to us: ours to take now
            if answer is not False or origin.setup is None:
                return  # a free one, or time's up, or opening failed: try on our own
            deadline = loop.time() + origin.setup  # it has just opened: we know the cost now

    async def _get(self, key: Any, traces: Any) -> Any:
        connection = await super()._get(key, traces)
        if connection is not None:
            self._origins.setdefault(key, _Origin()).busy += 1
        return connection

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
        key = req.connection_key
        origin = self._origins.setdefault(key, _Origin())
        origin.busy += 1
        started = time.monotonic()
        try:
            # This connection's placeholder is already counted in self._acquired.
            if self._limit and self.close_idle(keep=self._limit - len(self._acquired)):
                await asyncio.sleep(0)  # let the closed sockets go before opening another
            protocol = await super()._create_connection(req, traces, timeout)
        except BaseException:
            self._done_with(key, origin)
            _wake(origin.waiters, freed=False, everyone=True)
            raise
        first = origin.setup is None
        origin.setup = time.monotonic() - started
        self._typical_setup += (origin.setup - self._typical_setup) / 8
        if first:
            _wake(origin.waiters, freed=False, everyone=True)  # the cost is known: re-arm
        return protocol

    def _release(self, key: Any, protocol: Any, *, should_close: bool = False) -> None:
        super()._release(key, protocol, should_close=should_close)
        if self._max_idle < self._limit:
            self.close_idle(keep=self._max_idle)
        origin = self._origins.get(key)
        if origin is not None:
            self._done_with(key, origin)

    def _done_with(self, key: Any, origin: _Origin) -> None:
        """One connection of `key` is no longer busy: hand it to a waiter if it went idle."""
        origin.busy -= 1
        if len(self._conns.get(key, ())) > origin.promised and _wake(
            origin.waiters, freed=True, everyone=False
        ):
            origin.promised += 1
        if not origin.busy and not origin.waiters and not origin.promised:
            del self._origins[key]

    def close_idle(self, keep: int) -> int:
        """Close the longest-idle connections until at most `keep` are idle; how many closed."""
        idle = sum(map(len, self._conns.values()))
        closed = 0
        while idle - closed > keep:
            # Each host's queue is in release order, so its head is its longest idle.
            key, queue = min(self._conns.items(), key=_longest_idle)
            protocol, _ = queue.popleft()
            if not queue:
                del self._conns[key]
            protocol.abort()  # idle: nothing to flush, and a TLS goodbye would hold the socket
            closed += 1
        return closed


def _wake(waiters: deque[asyncio.Future[bool | None]], *, freed: bool, everyone: bool) -> bool:
    """Answer the first waiter (or all); whether any was answered."""
    answered = False
    while waiters:
        if _answer(waiters.popleft(), freed):
            answered = True
            if not everyone:
                break
    return answered


def _answer(waiter: asyncio.Future[bool | None], value: bool | None) -> bool:
    if waiter.done():
        return False
    waiter.set_result(value)
    return True


def _longest_idle(item: tuple[Any, deque[tuple[Any, float]]]) -> float:
    return item[1][0][1]
