"""Host names to addresses over c-ares (aiodns): no threads, a few sockets, each name asked once
while its answer lives, however many URLs and connections it serves.

Both transports resolve through one `Resolver`. A failure is a `socket.gaierror` with a plain
message, so the classifier finds error kind `dns` on every transport. c-ares reads `/etc/hosts`
before it asks a server, as the system's resolver does.

c-ares also keeps every answer it gets for its TTL, in a cache of its own that pycares gives no
way to bound: 3 KB a name, 300 MB for 100,000 hosts. So a channel answers CHANNEL_LOOKUPS
lookups, then a fresh one takes over and the old one goes, cache and all, once its last lookup
is done; this Resolver's own cache, bounded, keeps the answers.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiodns  # 20 ms to import: loaded at the first lookup, never for an address or a proxy

Address = tuple[socket.AddressFamily, str]  # (AF_INET or AF_INET6, the address as text)

MAX_LOOKUP_TIME = 5.0  # a lookup's own deadline, so a silent DNS server is a `dns` error, quickly
MAX_CACHE_TTL = 300.0  # answers are kept for their TTL, never longer than this
CACHE_SIZE = 4096  # names; the least recently used goes first
CHANNEL_LOOKUPS = 1024  # lookups per c-ares channel
_ARES_AI_ADDRCONFIG = 1 << 6  # c-ares's own flag (socket.AI_ADDRCONFIG is ARES_AI_ALL there)


@functools.cache
def _messages() -> dict[int | None, str]:
    import aiodns.error

    return {
        aiodns.error.ARES_ENOTFOUND: "name not found",
        aiodns.error.ARES_ENODATA: "name has no address",
        aiodns.error.ARES_ENONAME: "name not found",
        aiodns.error.ARES_ETIMEOUT: "no answer from the DNS server",
        aiodns.error.ARES_ECONNREFUSED: "cannot reach the DNS server",
        aiodns.error.ARES_ESERVFAIL: "the DNS server failed (SERVFAIL)",
        aiodns.error.ARES_EREFUSED: "the DNS server refused the query",
        aiodns.error.ARES_EBADNAME: "not a valid host name",
    }


@functools.lru_cache(maxsize=4096)  # asked once per request; parsing an address is slow
def is_address(host: str) -> bool:
    """True for an IP address literal, which needs no lookup."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class Resolver:
    """Resolves names for one run: answers cached (LRU, up to their TTL), concurrent lookups of
    one name shared, and every lookup bounded by `timeout` seconds."""

    def __init__(
        self,
        timeout: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        make_channel: Callable[[float], aiodns.DNSResolver] | None = None,  # tests pass a fake
    ) -> None:
        self.timeout = min(timeout or MAX_LOOKUP_TIME, MAX_LOOKUP_TIME)
        self._clock = clock
        self._make_channel = make_channel or _channel
        self._channel: aiodns.DNSResolver | None = None
        self._channel_lookups = 0
        self._in_flight: dict[aiodns.DNSResolver, int] = {}  # lookups running, per channel
        self._cache: OrderedDict[str, tuple[float, tuple[Address, ...]]] = OrderedDict()
        self._pending: dict[str, asyncio.Task[tuple[Address, ...]]] = {}

    async def resolve(self, host: str) -> tuple[Address, ...]:
        """The addresses of `host`, in the order to try them; raises socket.gaierror."""
        cached = self._cache.get(host)
        if cached is not None and cached[0] > self._clock():
            self._cache.move_to_end(host)
            return cached[1]
        task = self._pending.get(host)
        if task is None:
            task = asyncio.ensure_future(self._lookup(host))
            self._pending[host] = task
            task.add_done_callback(lambda _: self._pending.pop(host, None))
        # Shielded: one caller giving up (its deadline) must not cancel the others' lookup.
        return await asyncio.shield(task)

    async def close(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        for channel in {*self._in_flight, self._channel} - {None}:
            await channel.close()  # type: ignore[union-attr]  # None is taken out above
        self._in_flight.clear()
        self._channel = None

    async def _lookup(self, host: str) -> tuple[Address, ...]:
        import aiodns.error

        channel = await self._current_channel()
        self._in_flight[channel] = self._in_flight.get(channel, 0) + 1
        try:
            async with asyncio.timeout(self.timeout):
                answer = await channel.getaddrinfo(
                    host, type=socket.SOCK_STREAM, flags=_ARES_AI_ADDRCONFIG
                )
        except TimeoutError:
            raise socket.gaierror(
                socket.EAI_AGAIN, f"no answer from the DNS server within {self.timeout:g}s"
            ) from None
        except aiodns.error.DNSError as exc:
            code = exc.args[0] if exc.args else None
            message = _messages().get(code) or f"DNS lookup failed ({exc.args[-1]})"
            raise socket.gaierror(socket.EAI_NONAME, message) from None
        finally:
            await self._done_with(channel)
        addresses = tuple(
            (socket.AddressFamily(node.family), node.addr[0].decode("ascii"))
            for node in answer.nodes
        )
        if not addresses:
            raise socket.gaierror(socket.EAI_NODATA, "name has no address")
        ttl = min((node.ttl for node in answer.nodes), default=0)
        self._remember(host, addresses, min(float(ttl), MAX_CACHE_TTL))
        return addresses

    def _remember(self, host: str, addresses: tuple[Address, ...], ttl: float) -> None:
        if ttl <= 0:
            return
        self._cache[host] = (self._clock() + ttl, addresses)
        self._cache.move_to_end(host)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def _current_channel(self) -> aiodns.DNSResolver:
        if self._channel is None or self._channel_lookups >= CHANNEL_LOOKUPS:
            retired, self._channel = self._channel, self._make_channel(self.timeout)
            self._channel_lookups = 0
            if retired is not None and retired not in self._in_flight:
                await retired.close()  # else it goes with its last lookup
        self._channel_lookups += 1
        return self._channel

    async def _done_with(self, channel: aiodns.DNSResolver) -> None:
        """One lookup on `channel` is over; a retired channel goes with its last lookup."""
        self._in_flight[channel] -= 1
        if not self._in_flight[channel]:
            del self._in_flight[channel]
            if channel is not self._channel:
                await channel.close()


def _channel(timeout: float) -> aiodns.DNSResolver:
    # c-ares gives each server `timeout` on the first try and more on the second; the
    # asyncio.timeout around the lookup is the hard bound.
    import aiodns

    return aiodns.DNSResolver(timeout=timeout / 2, tries=2)
