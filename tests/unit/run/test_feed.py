"""The feed hands targets to the workers in order, with backpressure."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from fetchcli.models import Target
from fetchcli.run.feed import LoopFeed, ThreadFeed

pytestmark = pytest.mark.anyio


def _targets(count: int, pulled: list[int] | None = None) -> Iterator[Target]:
    for n in range(count):
        if pulled is not None:
            pulled.append(n)
        yield Target(f"https://a.test/{n}", "-", n + 1, index=n)


async def _drain(feed: LoopFeed | ThreadFeed) -> list[Target]:
    taken = []
    while (target := await feed.next()) is not None:
        taken.append(target)
    return taken


@pytest.mark.parametrize("threaded", [False, True])
async def test_targets_come_in_order_numbered_from_zero(threaded: bool) -> None:
    """Both feeds give every target once, in input order, as numbered by the input."""
    feed = ThreadFeed(_targets(500), bound=8) if threaded else LoopFeed(_targets(500))
    taken = await _drain(feed)
    assert [t.index for t in taken] == list(range(500))
    assert [t.line for t in taken] == list(range(1, 501))
    assert await feed.next() is None  # and keeps saying so


async def test_a_pipe_is_read_at_most_bound_ahead() -> None:
    """The reading thread stops `bound` targets ahead of the workers (memory follows -c)."""
    pulled: list[int] = []
    feed = ThreadFeed(_targets(1000, pulled), bound=10)
    await asyncio.sleep(0.05)  # not synchronisation: the reader's chance to overrun, if it could
    assert len(pulled) <= 11
    await feed.next()
    feed.close()


async def test_a_read_error_reaches_the_workers() -> None:
    """An OSError while reading the list mid-way is raised by next(), on the loop."""

    def failing() -> Iterator[Target]:
        yield Target("https://a.test/", "-", 1)
        raise OSError(5, "Input/output error")

    feed = ThreadFeed(failing(), bound=4)
    assert (await feed.next()) is not None
    with pytest.raises(OSError, match="Input/output error"):
        await feed.next()
