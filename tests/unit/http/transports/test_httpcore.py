"""The httpcore transport's Pool against the real test server on many loopback origins:
httpcore's rules with its own bookkeeping. Never more than max_connections sockets, idle ones
past max_keepalive closed, a connection to an origin reused, the oldest idle one closed to make
room for another origin, and every idle one closed when the run runs out of descriptors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from fetchcli.http.dns import Resolver
from fetchcli.http.transports.httpcore import HttpcoreTransport, Pool, make_transport
from tests.conftest import ORIGINS
from tests.helpers import connections_to
from tests.server import TestServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(origins: TestServer) -> TestServer:
    origins.reset()
    return origins


class Client:
    def __init__(self, transport: HttpcoreTransport, port: int) -> None:
        self.transport = transport
        self.http = httpx.AsyncClient(transport=transport)
        self.port = port

    async def get(self, url: str, *, bound: int) -> int:
        """The URL's status; the sockets held stay within `bound` while it is answered."""
        async with self.http.stream("GET", url) as response:
            await response.aread()
            assert connections_to(self.port) <= bound
        return response.status_code


@pytest.fixture
async def client(server: TestServer) -> AsyncIterator[object]:
    """Makes a Client over a Pool with the limits given; each is closed after the test."""
    made: list[Client] = []

    def make(max_connections: int, max_keepalive: int) -> Client:
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=60,
        )
        transport = make_transport(verify=True, limits=limits, http2=False, resolver=Resolver())
        assert isinstance(transport._pool, Pool)
        made.append(Client(transport, server.port))
        return made[-1]

    yield make
    for each in made:
        await each.http.aclose()


async def test_never_more_sockets_than_max_connections(server: TestServer, client) -> None:
    """max_connections 4, eight hosts one after another: four sockets at most; the oldest
    idle one is closed to make room for each new host."""
    pool = client(max_connections=4, max_keepalive=4)
    for host in ORIGINS[:8]:
        assert await pool.get(f"{server.url_for(host)}/ok", bound=4) == 200
        assert connections_to(server.port) <= 4
    assert connections_to(server.port) == 4
    assert server.stats.connections == 8


async def test_idle_connections_past_max_keepalive_are_closed(server: TestServer, client) -> None:
    """max_keepalive 2 under max_connections 10: two idle sockets at most after each
    request, the oldest closed first: the last two hosts reuse theirs, the first connects
    again."""
    pool = client(max_connections=10, max_keepalive=2)
    urls = [f"{server.url_for(host)}/ok" for host in ORIGINS[:5]]
    for url in urls:
        await pool.get(url, bound=10)
        assert connections_to(server.port) <= 2
    assert server.stats.connections == 5
    await pool.get(urls[-1], bound=10)
    await pool.get(urls[-2], bound=10)
    assert server.stats.connections == 5  # both kept: reused
    await pool.get(urls[0], bound=10)
    assert server.stats.connections == 6


async def test_one_origin_reuses_its_connections(server: TestServer, client) -> None:
    """Twenty URLs on one host, four at a time under max_connections 4: four connections,
    each reused, and never more than four requests in flight."""
    pool = client(max_connections=4, max_keepalive=4)
    urls = [f"{server.url}/slow/20?n={n}" for n in range(20)]
    statuses = await asyncio.gather(*(pool.get(url, bound=4) for url in urls))
    assert statuses == [200] * 20
    assert server.stats.peak_in_flight <= 4
    assert server.stats.connections <= 4


async def test_many_hosts_at_once_wait_for_room(server: TestServer, client) -> None:
    """Twelve slow URLs on twelve hosts at once under max_connections 3: three sockets at
    most, the others queued until an idle one can be closed for them, every URL answered."""
    pool = client(max_connections=3, max_keepalive=3)
    urls = [f"{server.url_for(host)}/slow/30" for host in ORIGINS[:12]]
    statuses = await asyncio.gather(*(pool.get(url, bound=3) for url in urls))
    assert statuses == [200] * 12
    assert server.stats.peak_in_flight <= 3
    assert server.stats.connections == 12


async def test_close_idle_lets_every_idle_socket_go(server: TestServer, client) -> None:
    """Out of descriptors: every idle keep-alive socket is closed; the next request opens a
    new connection and works."""
    pool = client(max_connections=10, max_keepalive=10)
    for host in ORIGINS[:3]:
        await pool.get(f"{server.url_for(host)}/ok", bound=10)
    assert connections_to(server.port) == 3
    await pool.transport.close_idle()
    assert connections_to(server.port) == 0
    assert await pool.get(f"{server.url_for(ORIGINS[0])}/ok", bound=1) == 200
    assert server.stats.connections == 4
