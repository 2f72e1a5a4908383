"""The Resolver over a fake c-ares channel: answers cached for their TTL, one lookup shared by
its waiters, plain messages for a name that does not exist and a server that does not answer."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

import aiodns.error
import pytest

from fetchcli.http import dns
from fetchcli.http.dns import Resolver, is_address

pytestmark = pytest.mark.anyio


class FakeChannel:
    """Answers `known` names with 127.0.0.1, after `delay` seconds; counts the questions."""

    def __init__(self, known: set[str], *, ttl: int = 60, delay: float = 0.0) -> None:
        self.known, self.ttl, self.delay = known, ttl, delay
        self.asked: list[str] = []
        self.closed = False

    async def getaddrinfo(self, host: str, **_: object) -> SimpleNamespace:
        self.asked.append(host)
        await asyncio.sleep(self.delay)
        if host not in self.known:
            raise aiodns.error.DNSError(aiodns.error.ARES_ENOTFOUND, "Domain name not found")
        node = SimpleNamespace(family=socket.AF_INET, addr=(b"127.0.0.1", 0), ttl=self.ttl)
        return SimpleNamespace(nodes=[node])

    async def close(self) -> None:
        self.closed = True


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_an_answer_is_kept_for_its_ttl() -> None:
    """A name is asked once while its answer lives, and again once it has expired."""
    channel, clock = FakeChannel({"a.test"}, ttl=30), FakeClock()
    resolver = Resolver(5, clock=clock, make_channel=lambda _: channel)  # type: ignore[arg-type]
    assert await resolver.resolve("a.test") == ((socket.AF_INET, "127.0.0.1"),)
    await resolver.resolve("a.test")
    assert channel.asked == ["a.test"]
    clock.now = 31
    await resolver.resolve("a.test")
    assert channel.asked == ["a.test", "a.test"]


async def test_waiters_for_one_name_share_one_lookup() -> None:
    """Twenty connections to one new name start at once: one question goes out."""
    channel = FakeChannel({"a.test"}, delay=0.01)
    resolver = Resolver(5, make_channel=lambda _: channel)  # type: ignore[arg-type]
    answers = await asyncio.gather(*(resolver.resolve("a.test") for _ in range(20)))
    assert len(set(answers)) == 1
    assert channel.asked == ["a.test"]


async def test_a_name_that_does_not_exist_is_a_plain_gaierror() -> None:
    """NXDOMAIN: socket.gaierror (kind dns) saying `name not found`."""
    resolver = Resolver(5, make_channel=lambda _: FakeChannel(set()))  # type: ignore[arg-type]
    with pytest.raises(socket.gaierror, match="name not found"):
        await resolver.resolve("nowhere.test")


async def test_a_silent_server_is_a_gaierror_within_the_timeout() -> None:
    """A lookup that takes longer than its timeout ends as a gaierror naming the wait."""
    resolver = Resolver(0.05, make_channel=lambda _: FakeChannel({"a.test"}, delay=10))  # type: ignore[arg-type]
    with pytest.raises(socket.gaierror, match="no answer from the DNS server within 0.05s"):
        await resolver.resolve("a.test")


def test_addresses_need_no_lookup() -> None:
    """IP literals (v4, v6, bracketed) are recognised; names are not."""
    assert is_address("127.0.0.1") and is_address("::1") and is_address("[::1]")
    assert not is_address("example.com")


async def test_channels_are_replaced_and_closed_so_c_ares_cannot_hoard() -> None:
    """After CHANNEL_LOOKUPS lookups a fresh channel takes over; the old one is closed once its
    last lookup is done (c-ares's own cache goes with it)."""
    made: list[FakeChannel] = []

    def make(_: float) -> FakeChannel:
        made.append(FakeChannel({f"h{n}.test" for n in range(3000)}))
        return made[-1]

    resolver = Resolver(5, make_channel=make)  # type: ignore[arg-type]
    for n in range(2 * dns.CHANNEL_LOOKUPS + 1):
        await resolver.resolve(f"h{n}.test")
    assert len(made) == 3
    assert [channel.closed for channel in made] == [True, True, False]
    await resolver.close()
    assert made[-1].closed
