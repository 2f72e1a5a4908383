"""httpx's own transport (httpcore: HTTP/2, and the one-off fetch), with two changes that matter
on lists of many hosts:

- names are resolved by the run's `Resolver` (c-ares) instead of one thread-pool job per
  connection, which fought the event loop for the GIL;
- the pool's bookkeeping costs one pass over its connections per request. httpcore 1.0 counts
  idle connections once per idle connection (quadratic, and it counts all of them) and polls every
  idle socket on every request and every response closed: 10 ms of CPU per request with 200
  connections open;
- the run's ProxyPolicy decides, per origin, whether a new connection goes direct, to a forward
  proxy (http) or through a CONNECT tunnel (https): one pool and one bound for all of them,
  where httpx would mount a pool of its own per proxy, beside this one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from fetchcli.http.certificates import from_ssl_object
from fetchcli.http.dns import Resolver, is_address
from fetchcli.http.proxy import NO_PROXY, Proxy, ProxyPolicy, refused_tunnel
from fetchcli.http.timing import PHASES, REMOTE_IP, TLS, Phases, span

_SWEEP_EVERY = 1.0  # seconds between checks of every idle connection for expiry
Connection = httpcore.AsyncConnectionInterface


class ResolvingBackend(httpcore.AsyncNetworkBackend):
    """anyio's network backend, connecting to addresses the Resolver found (IPv4 first)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        lookup = None
        if is_address(host):
            addresses = [host]
        else:
            started = time.monotonic()
            try:
                found = await self.resolver.resolve(host)
            except socket.gaierror as exc:
                raise httpcore.ConnectError(str(exc)) from exc
            lookup = time.monotonic() - started
            addresses = [address for _, address in sorted(found, key=_ipv4_first)]
        error: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
                stream.fetchcli_lookup = lookup  # type: ignore[attr-defined]  # for _Clock
                return stream
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _ipv4_first(found: tuple[socket.AddressFamily, str]) -> bool:
    return found[0] != socket.AF_INET


class Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool with its rules kept and its bookkeeping made linear: at most
    max_connections in all, idle ones past max_keepalive closed oldest first, a request served
    by an available connection to its origin, else a new one, else the oldest idle connection
    closed to make room. A connection is checked for a server-side close when about to be
    reused, and all idle ones for expiry once a second. A connection the ProxyPolicy sends
    through a proxy counts like any other."""

    _last_sweep = 0.0

    def __init__(
        self,
        *,
        network_backend: ResolvingBackend,
        proxies: ProxyPolicy = NO_PROXY,
        **options: Any,
    ) -> None:
        super().__init__(network_backend=network_backend, **options)
        self._resolver = network_backend.resolver
        self._proxies = proxies
        self._via: dict[Proxy, httpcore.AsyncHTTPProxy] = {}

    def create_connection(self, origin: httpcore.Origin) -> Connection:
        """A direct connection, or one through the origin's proxy."""
        if self._proxies.active:
            proxy = self._proxies.proxy_for(origin.scheme.decode(), origin.host.decode())
            if proxy is not None:
                return self._through(proxy).create_connection(origin)
        return super().create_connection(origin)

    def _through(self, proxy: Proxy) -> httpcore.AsyncHTTPProxy:
        """httpcore's proxy pool for `proxy`, used only to make connections (a forward one for
        http, a CONNECT tunnel for https) that this pool then keeps and counts."""
        via = self._via.get(proxy)
        if via is None:
            authorization = proxy.authorization
            via = httpcore.AsyncHTTPProxy(
                proxy_url=proxy.url,
                proxy_headers=[]
                if authorization is None
                else [(b"Proxy-Authorization", authorization.encode("latin-1"))],
                ssl_context=self._ssl_context,  # the origin's TLS, inside a tunnel
                # An https proxy is checked by the run's rules too (-k, --cacert).
                proxy_ssl_context=self._ssl_context if proxy.scheme == "https" else None,
                keepalive_expiry=self._keepalive_expiry,
                http1=self._http1,
                http2=self._http2,
                network_backend=self._network_backend,  # the proxy's own name: the Resolver
            )
            self._via[proxy] = via
        return via

    async def close_idle(self) -> None:
        """Close the idle connections that no request has been given."""
        promised = {request.connection for request in self._requests}
        idle = [c for c in self._connections if c.is_idle() and c not in promised]
        self._connections = [c for c in self._connections if c not in idle]
        await self._close_connections(idle)

    async def aclose(self) -> None:
        await super().aclose()
        await self._resolver.close()

    def _assign_requests_to_connections(self) -> list[Connection]:
        queued = [request for request in self._requests if request.is_queued()]
        now = time.monotonic()
        sweep = now - self._last_sweep >= _SWEEP_EVERY
        capped = self._max_keepalive_connections < self._max_connections
        if not queued and not sweep and not capped:
            return []  # a response closed and nobody waits: nothing to decide
        if sweep:
            self._last_sweep = now
        closing: list[Connection] = []
        live: list[Connection] = []
        idle: dict[Connection, None] = {}  # in pool order: the first is the oldest
        # Given to a request that has not started on it yet: idle in appearance, but taken.
        promised = {request.connection for request in self._requests}
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.is_idle() and connection not in promised:
                if sweep and connection.has_expired():
                    closing.append(connection)
                    continue
                idle[connection] = None
            live.append(connection)
        while len(idle) > self._max_keepalive_connections:
            closing.append(_take_oldest(idle, live))
        for request in queued:
            chosen = self._connection_for(request.request.url.origin, live, idle, closing)
            if chosen is not None:
                request.assign_to_connection(chosen)
        self._connections = live
        return closing

    def _connection_for(
        self,
        origin: httpcore.Origin,
        live: list[Connection],
        idle: dict[Connection, None],
        closing: list[Connection],
    ) -> Connection | None:
        """An open connection to `origin`, a new one, or None (the request waits)."""
        for connection in list(live):
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            if connection.is_idle():
                if connection not in idle:
                    continue  # already given to a request
                del idle[connection]
                if connection.has_expired():  # the server closed it meanwhile
                    live.remove(connection)
                    closing.append(connection)
                    continue
            return connection
        if len(live) >= self._max_connections:
            if not idle:
                return None
            closing.append(_take_oldest(idle, live))
        connection = self.create_connection(origin)
        live.append(connection)
        return connection


def _take_oldest(idle: dict[Connection, None], live: list[Connection]) -> Connection:
    oldest = next(iter(idle))
    del idle[oldest]
    live.remove(oldest)
    return oldest


class HttpcoreTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the Pool above under it (httpx is pinned below 0.29, where the
    pool is the `_pool` attribute and takes a network backend)."""

    _pool: Pool
    timings = False
    tls_info = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        clock = None
        if self.timings:
            clock = _Clock()
            request.extensions = {**request.extensions, "trace": clock.trace}
        response = await self._send(request)
        stream = response.extensions.get("network_stream")
        address = stream.get_extra_info("server_addr") if stream is not None else None
        response.extensions[REMOTE_IP] = address[0] if address else None
        if self.tls_info and stream is not None and request.url.scheme == "https":
            response.extensions[TLS] = from_ssl_object(stream.get_extra_info("ssl_object"))
        if clock is not None:
            response.extensions[PHASES] = clock.phases()
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        proxies = self._pool._proxies
        if not proxies.active:
            return await super().handle_async_request(request)
        url = request.url  # its raw_host, as the pool's Origin has it: the same question
        proxy = proxies.proxy_for(url.scheme, url.raw_host.decode("ascii"))
        if proxy is None:
            return await super().handle_async_request(request)
        if proxy.problem is not None:
            raise httpx.ProxyError(proxy.problem, request=request)
        try:
            return await super().handle_async_request(request)
        except httpx.ProxyError as exc:  # httpcore's one: a CONNECT answered without a 2xx
            raise httpx.ProxyError(refused_tunnel(proxy, str(exc)), request=request) from exc

    async def close_idle(self) -> None:
        """Close every idle keep-alive connection (the process ran out of descriptors)."""
        await self._pool.close_idle()


class _Clock:
    """One request's phases, from httpcore's trace events (`connection.connect_tcp.started`,
    `http11.send_request_headers.started`, ...) on the loop's clock; the lookup time from the
    stream ResolvingBackend made."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._marks: dict[str, float] = {}
        self._lookup: float | None = None

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        step = event.partition(".")[2]  # the same steps for HTTP/1.1 and HTTP/2
        self._marks[step] = time.monotonic()
        if step == "connect_tcp.complete":
            self._lookup = getattr(info.get("return_value"), "fetchcli_lookup", None)

    def phases(self) -> Phases:
        marks = self._marks
        sent = marks.get("send_request_body.complete") or marks.get("send_request_headers.complete")
        ttfb = span(sent, marks.get("receive_response_headers.complete"))
        opened = marks.get("connect_tcp.started")
        if opened is None:  # a connection already open
            return Phases(pool=span(self._started, marks.get("send_request_headers.started")),
                          ttfb=ttfb)  # fmt: skip
        tcp = span(opened, marks.get("connect_tcp.complete"))
        lookup = self._lookup
        return Phases(
            pool=span(self._started, opened),
            dns=lookup,
            connect=None if tcp is None else max(0.0, tcp - (lookup or 0.0)),
            tls=span(marks.get("start_tls.started"), marks.get("start_tls.complete")),
            ttfb=ttfb,
        )


def make_transport(
    *,
    verify: Any,
    limits: httpx.Limits,
    http2: bool,
    resolver: Resolver,
    proxies: ProxyPolicy = NO_PROXY,
    timings: bool = False,
    tls_info: bool = False,
) -> HttpcoreTransport:
    transport = HttpcoreTransport(verify=verify, limits=limits, http2=http2)
    transport.timings, transport.tls_info = timings, tls_info
    pool = transport._pool
    transport._pool = Pool(
        ssl_context=pool._ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        network_backend=ResolvingBackend(resolver),
        proxies=proxies,
    )
    return transport
