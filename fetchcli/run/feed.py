"""Hand Targets to the workers from a lazy iterator, with backpressure.

A list in a file is read on the event loop (local reads do not stall it). A pipe or a terminal
can block for as long as the writer likes, so it is read in one thread that hands targets to the
loop, at most `bound` ahead of the workers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import NamedTuple, Protocol

from fetchcli.models import Target

_YIELD_EVERY = 256  # let signals and timers run during long stretches of invalid lines


class Feed(Protocol):
    async def next(self) -> Target | None:
        """The next target, numbered in `index`, or None once the input is exhausted."""

    def close(self) -> None: ...


def make_feed(targets: Iterator[Target], *, bound: int, blocking: bool) -> Feed:
    return ThreadFeed(targets, bound) if blocking else LoopFeed(targets)


class LoopFeed:
    def __init__(self, targets: Iterator[Target]) -> None:
        self._targets = targets
        self._done = False

    async def next(self) -> Target | None:
        if self._done:
            return None
        target = next(self._targets, None)
        if target is None:
            self._done = True
        elif target.index % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)
        return target

    def close(self) -> None:
        self._done = True


class _End(NamedTuple):
    """The reading thread's last item: it finished, or failed with this error."""

    error: BaseException | None


class ThreadFeed:
    def __init__(self, targets: Iterator[Target], bound: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Target | _End] = asyncio.Queue()
        self._slots = threading.Semaphore(bound)
        self._closed = threading.Event()
        threading.Thread(
            target=self._produce, args=(targets,), name="fetchcli-input", daemon=True
        ).start()

    def _produce(self, targets: Iterator[Target]) -> None:
        end = _End(None)
        try:
            for target in targets:
                self._slots.acquire()
                if self._closed.is_set():
                    return
                self._send(target)
        except Exception as exc:  # re-raised on the loop, where it is handled
            end = _End(exc)
        self._send(end)

    def _send(self, item: Target | _End) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:
            self._closed.set()  # the loop has closed: the run is over

    async def next(self) -> Target | None:
        item = await self._queue.get()
        if isinstance(item, _End):
            self._queue.put_nowait(_End(None))  # every other worker sees the end too
            if item.error is not None:
                raise item.error
            return None
        self._slots.release()
        return item

    def close(self) -> None:
        self._closed.set()
        self._slots.release()  # wake the reader if it waits for room
