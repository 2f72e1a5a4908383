"""While an origin's first connection opens, the next request to it waits, but never long."""

from __future__ import annotations

import asyncio

import pytest

from fetchcli.http.transports.curl.openings import Opening, Openings

ORIGIN = ("https", "a.test", None)


@pytest.mark.anyio
async def test_the_second_request_waits_for_the_first_ones_head_then_goes() -> None:
    openings = Openings(kept=8)
    first = await openings.enter(ORIGIN)
    assert isinstance(first, Opening)
    second = asyncio.ensure_future(openings.enter(ORIGIN))
    await asyncio.sleep(0)  # the second is now waiting
    openings.connected(first)
    await asyncio.sleep(0)
    assert not second.done()  # open, but its head has not come: it waits on
    openings.answered(ORIGIN)
    assert await second is False  # the connection is known: just go
    assert await openings.enter(ORIGIN) is False  # and the next ones do not wait at all


@pytest.mark.anyio
async def test_a_silent_first_request_delays_the_next_by_about_one_connection() -> None:
    openings = Openings(kept=8)
    first = await openings.enter(ORIGIN)
    assert isinstance(first, Opening)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await openings.enter(ORIGIN) is True  # gave up waiting: report its own head
    assert loop.time() - started < 0.5  # twice the first guess (50 ms), not the head's time


@pytest.mark.anyio
async def test_after_the_opener_fails_the_next_request_opens_one_itself() -> None:
    openings = Openings(kept=8)
    first = await openings.enter(ORIGIN)
    assert isinstance(first, Opening)
    second = asyncio.ensure_future(openings.enter(ORIGIN))
    await asyncio.sleep(0)
    openings.failed(ORIGIN, first)
    assert await second is True
    assert isinstance(await openings.enter(ORIGIN), Opening)  # nobody is opening: its turn


@pytest.mark.anyio
async def test_only_the_latest_origins_are_remembered() -> None:
    openings = Openings(kept=2)
    for host in ("a", "b", "c"):
        origin = ("http", host, None)
        assert isinstance(await openings.enter(origin), Opening)
        openings.answered(origin)
    assert isinstance(await openings.enter(("http", "a", None)), Opening)  # forgotten
    assert await openings.enter(("http", "c", None)) is False
