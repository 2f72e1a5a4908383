"""One connection per origin where one will do. libcurl opens a new connection for every
request that finds none idle: two URLs of one host that start together cost two connections
(two TLS handshakes, two descriptors) where one would do, which on a list of many hosts with a
few URLs each doubles them. So while an origin's first connection is being opened, a request
to it waits: until that connection is open (at most twice what opening one typically takes),
then for that request's response head (at most what opening it took; by then a small body has
been read and the connection is idle again). It loses at most about what a connection of its
own costs, and usually saves one; a slow or silent server delays the others that much, never
more. The aiohttp transport's connector waits the same way.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import field

from fetchcli.slots import mutable

Origin = tuple[str, str, int | None]
_FIRST_GUESS = 0.05  # seconds to open a connection, until the run has opened some


@mutable
class Opening:
    """An origin's first connection, being opened by one request."""

    started: float
    setup: float | None = None  # seconds it took to open, once open
    answered: bool = False  # the opener has its head, or has failed
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def change(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


class Openings:
    """Which origins have had a connection lately (at most `kept`), which are opening one, and
    how long opening one typically takes."""

    def __init__(self, kept: int) -> None:
        self._kept = kept
        self._opening: dict[Origin, Opening] = {}
        self._open: OrderedDict[Origin, None] = OrderedDict()
        self._typical = _FIRST_GUESS  # a moving average over the run

    def enter_now(self, origin: Origin) -> Opening | bool | None:
        """What `enter` says, when it can say so without waiting (most requests: the origin
        has a connection); None when the request is to wait."""
        if origin in self._opening:
            return None
        if origin in self._open:
            self._open.move_to_end(origin)
            return False
        opening = self._opening[origin] = Opening(asyncio.get_running_loop().time())
        return opening

    async def enter(self, origin: Origin) -> Opening | bool:
        """False: go. True: go, and say `answered` at the response head (the origin is not
        known to have a connection). An Opening: this request opens the origin's first
        connection; say `connected` when it is open, then `answered` or `failed`."""
        opening = self._opening.get(origin)
        if opening is not None:
            await self._wait(opening)
            return origin not in self._open  # its connection is idle, or ours is worth it
        now = self.enter_now(origin)
        assert now is not None
        return now

    async def _wait(self, opening: Opening) -> None:
        budget = 2 * self._typical  # while it opens, how long is unknown: guess
        while not opening.answered:
            changed = opening.changed
            try:
                await asyncio.wait_for(changed.wait(), budget)
            except TimeoutError:
                return
            if opening.setup is None:
                return
            budget = opening.setup  # it is open: now we know what one of our own would cost

    def connected(self, opening: Opening) -> None:
        """The opener's connection is open: its waiters wait on for its head."""
        opening.setup = asyncio.get_running_loop().time() - opening.started
        self._typical += (opening.setup - self._typical) / 8
        opening.change()

    def answered(self, origin: Origin) -> None:
        """A request to the origin has its response head: whoever waits for the origin goes."""
        opening = self._opening.pop(origin, None)
        if opening is not None:
            opening.answered = True
            opening.change()
        self._open[origin] = None
        if len(self._open) > self._kept:
            self._open.popitem(last=False)

    def failed(self, origin: Origin, opening: Opening) -> None:
        """The opener failed: the waiters go, and the first of them opens one itself."""
        if self._opening.get(origin) is opening:
            del self._opening[origin]
        opening.answered = True
        opening.change()
