"""The URL deadline: expiry is DeadlinePassed, other TimeoutErrors stay timeouts."""

from __future__ import annotations

import asyncio

import pytest

from fetchcli.fetching.deadline import DeadlinePassed, within

pytestmark = pytest.mark.anyio


async def test_expiry_is_deadline_passed() -> None:
    """A block still running at the deadline ends with DeadlinePassed."""
    loop = asyncio.get_running_loop()
    with pytest.raises(DeadlinePassed):
        async with within(loop.time() + 0.01):
            await asyncio.sleep(10)


async def test_a_timeout_from_inside_is_not_the_deadline() -> None:
    """A TimeoutError raised by the work itself passes through as it is."""
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError) as caught:
        async with within(loop.time() + 10):
            raise TimeoutError("read timeout")
    assert not isinstance(caught.value, DeadlinePassed)
