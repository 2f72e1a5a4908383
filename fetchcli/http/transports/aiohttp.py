"""An httpx transport that sends requests over aiohttp: the same one httpx.AsyncClient, about
1.4 to 1.6 times the requests per second of httpcore's pool (see docs/benchmarks.md).

Shaped after httpx_aiohttp.AiohttpTransport, with what the contract needs: every aiohttp
failure mapped to the httpx exception the classifier and the retry policy expect, no cookie
jar, no decompression (fetchcli decodes under a cap), no redirects (fetchcli follows them), the
pool limits and timeouts of the Config. HTTP/1.1 only, and aiohttp has no write timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import time
from asyncio import sslproto
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from fetchcli.http.certificates import from_ssl_object
from fetchcli.http.dns import Resolver
from fetchcli.http.errors import BAD_CHUNKS, BAD_HEAD, BODY_CUT, DISCONNECTED
from fetchcli.http.messages import new_response, response_headers
from fetchcli.http.proxy import NO_PROXY, Proxy, ProxyPolicy, refused_tunnel
from fetchcli.http.stream import DirectStream
from fetchcli.http.timing import PHASES, REMOTE_IP, TLS, Phases, span
from fetchcli.http.transports.aiohttp_connector import BoundedConnector

_TLS_READ_BUFFER = 64 * 1024

# Every aiohttp failure as the httpx exception the classifier and the retry policy expect,
# looked up along the exception's class hierarchy, so the most specific entry wins whatever the
# order here; a test checks that every aiohttp exception class is mapped on purpose.
EXCEPTIONS: dict[type[BaseException], type[httpx.TransportError]] = {
    aiohttp.ClientError: httpx.TransportError,
    aiohttp.ClientConnectionError: httpx.ConnectError,
    aiohttp.ClientConnectionResetError: httpx.ReadError,  # mid-exchange: may have been sent
    aiohttp.ClientOSError: httpx.ReadError,  # reset by peer
    aiohttp.ClientConnectorError: httpx.ConnectError,  # DNS and TLS: the cause says which
    aiohttp.ClientConnectorDNSError: httpx.ConnectError,
    aiohttp.ClientSSLError: httpx.ConnectError,
    aiohttp.ClientConnectorSSLError: httpx.ConnectError,
    aiohttp.ClientConnectorCertificateError: httpx.ConnectError,
    aiohttp.ClientProxyConnectionError: httpx.ConnectError,  # as a direct one: retried
    aiohttp.ClientHttpProxyError: httpx.ProxyError,  # the proxy refused the CONNECT
    aiohttp.ServerConnectionError: httpx.ConnectError,
    aiohttp.ServerFingerprintMismatch: httpx.ConnectError,
    aiohttp.ServerDisconnectedError: httpx.RemoteProtocolError,
    aiohttp.ServerTimeoutError: httpx.ReadTimeout,
    aiohttp.SocketTimeoutError: httpx.ReadTimeout,
    aiohttp.ConnectionTimeoutError: httpx.ConnectTimeout,
    aiohttp.ClientPayloadError: httpx.RemoteProtocolError,
    aiohttp.ClientResponseError: httpx.RemoteProtocolError,  # malformed status or headers
    aiohttp.ContentTypeError: httpx.RemoteProtocolError,
    aiohttp.TooManyRedirects: httpx.RemoteProtocolError,  # never: fetchcli follows redirects
    aiohttp.WSServerHandshakeError: httpx.RemoteProtocolError,
    aiohttp.InvalidURL: httpx.UnsupportedProtocol,
    aiohttp.InvalidUrlClientError: httpx.UnsupportedProtocol,
    aiohttp.InvalidUrlRedirectClientError: httpx.UnsupportedProtocol,
    aiohttp.NonHttpUrlClientError: httpx.UnsupportedProtocol,
    aiohttp.NonHttpUrlRedirectClientError: httpx.UnsupportedProtocol,
    aiohttp.RedirectClientError: httpx.UnsupportedProtocol,
    aiohttp.UploadAbortedError: httpx.WriteError,
}


def httpx_error_for(exc: BaseException) -> type[httpx.TransportError]:
    """The httpx exception class an aiohttp exception becomes."""
    for cls in type(exc).__mro__:
        if cls in EXCEPTIONS:
            return EXCEPTIONS[cls]
    return httpx.TransportError


@contextlib.contextmanager
def _mapped_exceptions(request: httpx.Request, proxy: Proxy | None = None) -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientHttpProxyError as exc:
        assert proxy is not None  # only a request sent through a proxy meets one
        answer = f"{exc.status} {exc.message}"  # its str() holds the proxy URL, password too
        raise httpx.ProxyError(refused_tunnel(proxy, answer), request=request) from exc
    except aiohttp.ClientError as exc:
        target = httpx_error_for(exc)
        raise target(_message(exc), request=request) from exc


def _message(exc: aiohttp.ClientError) -> str:
    """aiohttp's failures in the words classify.describe() uses for httpcore's: a timeout or a
    protocol error says what happened; a failure with an OS error under it keeps its text (the
    OS error is what describe() reports)."""
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return (
            "connect timeout" if isinstance(exc, aiohttp.ConnectionTimeoutError) else "read timeout"
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return DISCONNECTED
    text = str(exc).lower()
    if isinstance(exc, aiohttp.ClientPayloadError):
        return BODY_CUT if "not completed" in text or "content length" in text else BAD_CHUNKS
    if isinstance(exc, aiohttp.ClientResponseError) and not isinstance(
        exc, aiohttp.ClientHttpProxyError
    ):
        return BAD_CHUNKS if "chunk" in text else BAD_HEAD
    return " ".join(str(exc).split()) or type(exc).__name__


class _ResponseStream(DirectStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        with _mapped_exceptions(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()  # whole body read: the connection goes back to the pool
        else:
            self._response.close()  # cut short: never reuse a connection with bytes pending


class _Response(aiohttp.ClientResponse):
    """aiohttp's response, noting its connection's peer when it starts: a body that comes
    whole with the head releases the connection (and a server may close it) before the
    transport could ask."""

    remote_ip: str | None = None
    ssl_object: Any = None  # for --tls-info

    async def start(self, connection: Any) -> aiohttp.ClientResponse:
        transport = connection.transport
        if transport is not None:
            peer = transport.get_extra_info("peername")
            self.remote_ip = str(peer[0]) if peer else None
            self.ssl_object = transport.get_extra_info("ssl_object")
        return await super().start(connection)


def _remote_ip(response: aiohttp.ClientResponse) -> str | None:
    return getattr(response, "remote_ip", None)


class _Clock:
    """One request's phases from aiohttp's trace events. aiohttp makes the TLS handshake
    inside the connect, so `connect` includes it and `tls` is None."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def phases(self) -> Phases:
        marks = self.marks
        ttfb = span(marks.get("sent"), marks.get("answered"))
        opened = marks.get("create_start")
        if opened is None:
            return Phases(pool=span(marks.get("start"), marks.get("reused")), ttfb=ttfb)
        dns = span(marks.get("dns_start"), marks.get("dns_end"))
        connect = span(opened, marks.get("create_end"))
        return Phases(
            pool=span(marks.get("start"), opened),
            dns=dns,
            connect=None if connect is None else max(0.0, connect - (dns or 0.0)),
            ttfb=ttfb,
        )


_TRACED = {
    "on_request_start": "start",
    "on_connection_reuseconn": "reused",
    "on_connection_create_start": "create_start",
    "on_connection_create_end": "create_end",
    "on_dns_resolvehost_start": "dns_start",
    "on_dns_resolvehost_end": "dns_end",
    "on_request_headers_sent": "sent",
    "on_request_chunk_sent": "sent",  # the last one: the whole body is out
    "on_request_end": "answered",  # the response head has been read
}


def _traced() -> aiohttp.TraceConfig:
    """Trace hooks that put each event's time into the request's _Clock."""
    config = aiohttp.TraceConfig()
    for event, mark in _TRACED.items():

        async def on(_session: Any, context: Any, _params: Any, mark: str = mark) -> None:
            clock = context.trace_request_ctx
            if clock is not None:
                clock.marks[mark] = time.monotonic()

        getattr(config, event).append(on)
    return config


class AiohttpResolver(AbstractResolver):
    """aiohttp's side of the run's one Resolver."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=found,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for found, address in await self._resolver.resolve(host)
            if family in (socket.AF_UNSPEC, found)
        ]

    async def close(self) -> None:
        return None  # the Resolver belongs to the run and is closed with the client


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp ClientSession behind the run's httpx.AsyncClient."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool,
        limits: httpx.Limits,
        resolver: Resolver,
        proxies: ProxyPolicy = NO_PROXY,
        timings: bool = False,
        tls_info: bool = False,
    ) -> None:
        self._timings = timings
        self._tls_info = tls_info
        self._verify = verify
        self._limits = limits
        self._resolver = resolver
        self._proxies = proxies
        self._proxy_urls: dict[Proxy, URL] = {}
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        _shrink_tls_read_buffer()
        limits = self._limits
        limit = limits.max_connections or 0
        max_idle = limits.max_keepalive_connections
        reuse = max_idle != 0
        connector = BoundedConnector(
            limit=limit,
            max_idle=limit if max_idle is None else max_idle,
            force_close=not reuse,  # --max-keepalive 0: one request per connection
            keepalive_timeout=limits.keepalive_expiry if reuse else None,
            resolver=AiohttpResolver(self._resolver),
            use_dns_cache=False,  # the Resolver caches, for both transports alike
            # True: aiohttp's verifying context, made at import; building another here would
            # stall the event loop some 30 ms on the first request.
            ssl=self._verify,
        )
        # trust_env would send every request through a thread (proxy and netrc look-ups), and
        # the threads then fight the event loop for the GIL: the run's ProxyPolicy, read once,
        # says which proxy each request takes.
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            trace_configs=[_traced()] if self._timings else None,
            response_class=_Response,
        )

    def _proxy_for(self, request: httpx.Request) -> tuple[Proxy | None, URL | None]:
        """The request's proxy, and its URL for aiohttp (with credentials: aiohttp sends them
        as Proxy-Authorization, to a forward proxy and in a CONNECT alike)."""
        if not self._proxies.active:
            return None, None
        url = request.url  # its raw_host, as the httpcore transport asks: xn-- names
        proxy = self._proxies.proxy_for(url.scheme, url.raw_host.decode("ascii"))
        if proxy is None:
            return None, None
        if proxy.problem is not None:
            raise httpx.ProxyError(proxy.problem, request=request)
        found = self._proxy_urls.get(proxy)
        if found is None:
            found = URL.build(
                scheme=proxy.scheme,
                user=proxy.username or None,
                password=proxy.password or None,
                host=proxy.host,
                port=proxy.port,
            )
            self._proxy_urls[proxy] = found
        return proxy, found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._open_session()
        timeout = request.extensions.get("timeout", {})
        body = await request.aread() or None  # redirect hops carry an unread stream
        proxy, proxy_url = self._proxy_for(request)
        clock = _Clock() if self._timings else None
        with _mapped_exceptions(request, proxy):
            response = await self._session.request(
                request.method,
                _without_userinfo(request.url),
                headers=list(request.headers.multi_items()),
                data=body,
                allow_redirects=False,
                compress=False,
                proxy=proxy_url,
                timeout=_client_timeout(**timeout),
                trace_request_ctx=clock,
            )
        extensions: dict[str, Any] = {
            "http_version": _http_version(response.version),
            "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            REMOTE_IP: _remote_ip(response),
        }
        if clock is not None:
            extensions[PHASES] = clock.phases()
        if self._tls_info and request.url.scheme == "https":
            extensions[TLS] = from_ssl_object(getattr(response, "ssl_object", None))
        return new_response(
            response.status,
            response_headers(response.raw_headers),
            _ResponseStream(response, request),
            request,
            extensions,
        )

    async def close_idle(self) -> None:
        """Close every idle keep-alive connection (the process ran out of descriptors)."""
        connector = self._session.connector if self._session is not None else None
        if isinstance(connector, BoundedConnector) and connector.close_idle(keep=0):
            await asyncio.sleep(0)  # let the closed sockets go

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self._resolver.close()


def _shrink_tls_read_buffer() -> None:
    """asyncio gives every TLS connection a 256 KiB read buffer for as long as it lives
    (sslproto.SSLProtocol.max_size): 50 MB for 200 open connections, most of a many-host HTTPS
    run's memory. TLS records are 16 KiB; reading 64 KiB at a time costs nothing measurable.
    The setting is the process's: only TLS connections made after this call are affected."""
    sslproto.SSLProtocol.max_size = min(sslproto.SSLProtocol.max_size, _TLS_READ_BUFFER)


def _without_userinfo(url: httpx.URL) -> URL:
    """httpx already turned URL credentials into an Authorization header; aiohttp refuses both."""
    if url.userinfo:
        url = url.copy_with(userinfo=b"")
    return URL(str(url), encoded=True)


def _http_version(version: aiohttp.HttpVersion | None) -> bytes:
    major, minor = version or (1, 1)
    return b"HTTP/%d.%d" % (major, minor)


@functools.lru_cache(maxsize=16)  # a run has one set of timeouts
def _client_timeout(
    connect: float | None = None,
    read: float | None = None,
    write: float | None = None,
    pool: float | None = None,
) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None, connect=_sum(pool, connect), sock_connect=connect, sock_read=read
    )


def _sum(pool: float | None, connect: float | None) -> float | None:
    """aiohttp's `connect` covers waiting for a pooled connection and making one."""
    if pool is None or connect is None:
        return None
    return pool + connect
