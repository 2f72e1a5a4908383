"""`--max-time`: one deadline for a URL, on the event loop's clock, that every wait and every read
of that URL runs under. Expiry is `DeadlinePassed`, never a bare TimeoutError: a TimeoutError
from anywhere else is an ordinary timeout, and the two are told apart here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class DeadlinePassed(Exception):
    """--max-time expired for this URL."""


def deadline_after(seconds: float | None) -> float | None:
    """The loop time `seconds` from now, or None for no deadline."""
    return None if seconds is None else asyncio.get_running_loop().time() + seconds


@asynccontextmanager
async def within(deadline: float | None) -> AsyncIterator[None]:
    """Run the block until `deadline` (loop time); past it, raise DeadlinePassed."""
    if deadline is None:
        yield
        return
    try:
        async with asyncio.timeout_at(deadline) as timer:
            yield
    except TimeoutError:
        if timer.expired():
            raise DeadlinePassed from None
        raise
