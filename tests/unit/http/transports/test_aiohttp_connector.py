"""BoundedConnector against the real test server on many loopback origins: connections in use
and idle together never pass `limit`, at most `max_idle` wait idle, and the longest idle go
first. (aiohttp's own connector counts only those in use: one idle socket per host piles up.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest

from fetchcli.http.transports.aiohttp_connector import BoundedConnector
from tests.conftest import ORIGINS
from tests.helpers import connections_to
from tests.server import TestServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(origins: TestServer) -> TestServer:
    origins.reset()
    return origins


def _session(limit: int, max_idle: int) -> aiohttp.ClientSession:
    connector = BoundedConnector(limit=limit, max_idle=max_idle, keepalive_timeout=60)
    return aiohttp.ClientSession(connector=connector)


async def _get(session: aiohttp.ClientSession, url: str, port: int, bound: int) -> int:
    async with session.get(url) as response:
        await response.read()
        assert connections_to(port) <= bound  # while this one is in use too
        return response.status


async def test_in_use_and_idle_together_never_pass_the_limit(server: TestServer) -> None:
    """limit 4, ten hosts one after another: four sockets held at most, the oldest idle one
    closed to make room; each host needed its own connection."""
    async with _session(limit=4, max_idle=4) as session:
        for host in ORIGINS[:10]:
            assert await _get(session, f"{server.url_for(host)}/ok", server.port, 4) == 200
            assert connections_to(server.port) <= 4
        assert connections_to(server.port) == 4
    assert server.stats.connections == 10


async def test_at_most_max_idle_wait_idle(server: TestServer) -> None:
    """max_idle 2 under a limit of 10: after each request two idle sockets at most, the two
    used last: the most recent host reuses its own, the first has to connect again."""
    urls = [f"{server.url_for(host)}/ok" for host in ORIGINS[:6]]
    async with _session(limit=10, max_idle=2) as session:
        for url in urls:
            await _get(session, url, server.port, 10)
            await _settled(lambda: connections_to(server.port) <= 2)
        assert server.stats.connections == 6
        await _get(session, urls[-1], server.port, 10)
        await _get(session, urls[-2], server.port, 10)
        assert server.stats.connections == 6  # both still open: reused
        await _get(session, urls[0], server.port, 10)
        assert server.stats.connections == 7  # closed long ago: a new connection


async def test_many_hosts_at_once_stay_within_the_limit(server: TestServer) -> None:
    """Twenty slow URLs on twenty hosts at once under limit 4: four in flight at the server
    at most, four sockets held at most, every URL answered."""
    urls = [f"{server.url_for(host)}/slow/30" for host in ORIGINS[:20]]
    async with _session(limit=4, max_idle=4) as session:
        statuses = await asyncio.gather(*(_get(session, url, server.port, 4) for url in urls))
    assert statuses == [200] * 20
    assert server.stats.peak_in_flight <= 4


async def test_close_idle_closes_the_longest_idle_first(server: TestServer) -> None:
    """close_idle(keep=1) after hosts A, B, C: A's and B's sockets go, C's stays and is
    reused."""
    a, b, c = (f"{server.url_for(host)}/ok" for host in ORIGINS[:3])
    async with _session(limit=10, max_idle=10) as session:
        for url in (a, b, c):
            await _get(session, url, server.port, 10)
        connector = session.connector
        assert isinstance(connector, BoundedConnector)
        assert connector.close_idle(keep=1) == 2
        assert connector.close_idle(keep=1) == 0
        await _settled(lambda: connections_to(server.port) == 1)
        await _get(session, c, server.port, 10)
        assert server.stats.connections == 3
        await _get(session, a, server.port, 10)
        assert server.stats.connections == 4


async def _settled(condition: Callable[[], bool]) -> None:
    """Until `condition` holds: sockets the connector aborted are let go of by the event
    loop's next turn, so they are waited for, at most a few turns."""
    for _ in range(10):
        if condition():
            return
        await asyncio.sleep(0)  # a turn for the aborted transports, not a wait for time
    assert condition()
