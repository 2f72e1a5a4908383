"""`--max-time`: one deadline for a URL, on the event loop's clock, that every wait and every read
of that URL runs under. Expiry is `DeadlinePassed`, never a bare TimeoutError: a TimeoutError
from anywhere else is an ordinary timeout, and the two are told apart here."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from types import TracebackType


class DeadlinePassed(Exception):
    """--max-time expired for this URL."""


def deadline_after(seconds: float | None) -> float | None:
    """The loop time `seconds` from now, or None for no deadline."""
    return None if seconds is None else asyncio.get_running_loop().time() + seconds


def within(deadline: float | None) -> AbstractAsyncContextManager[None]:
    """Run the block until `deadline` (loop time); past it, raise DeadlinePassed.

    Entered several times per URL (each hop, each body chunk): without a deadline it is one
    shared object that does nothing, not a generator made and run each time."""
    return _NO_DEADLINE if deadline is None else _Within(deadline)


_NO_DEADLINE: AbstractAsyncContextManager[None] = nullcontext()


class _Within:
    def __init__(self, deadline: float) -> None:
        self._timer = asyncio.timeout_at(deadline)

    async def __aenter__(self) -> None:
        await self._timer.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._timer.__aexit__(exc_type, exc, traceback)
        except TimeoutError:
            if self._timer.expired():
                raise DeadlinePassed from None
            raise
