"""An httpx transport on libcurl's multi interface (pycurl), driven by the asyncio loop: the
run still drives one httpx.AsyncClient, and libcurl does the sockets, TLS, HTTP/1.1, HTTP/2 and
HTTP/3 (QUIC, through the ngtcp2 and nghttp3 of pycurl's wheel).

One `CurlMulti` per transport (so per process, and per worker after the fork) keeps the
connections: at most `max_connections` open in all (CURLMOPT_MAX_TOTAL_CONNECTIONS, which closes
an idle one to make room), `max_keepalive` idle (CURLMOPT_MAXCONNECTS), none idle longer than
`keepalive_expiry` (CURLOPT_MAXAGE_CONN). libcurl tells the loop which sockets to watch and when
to call it back (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION): no threads, no polling.

What stays fetchcli's: names (the run's Resolver, handed to libcurl as CURLOPT_RESOLVE, so a
name is looked up once for every transport alike), proxies (the run's ProxyPolicy), redirects
(never followed here), decoding (off: fetchcli decodes under its cap), the read timeout (the
time between two reads, on the loop's clock: libcurl has no exact match), and the errors, mapped
to the httpx exceptions and words of the other transports (curl_errors.py).
"""

from __future__ import annotations

import asyncio
import functools
import math
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

import httpx
import pycurl

from fetchcli.errors import UsageError
from fetchcli.http.dns import Resolver, is_address
from fetchcli.http.proxy import NO_PROXY, Proxy, ProxyPolicy
from fetchcli.http.timing import TLS
from fetchcli.http.transports.curl.multi import Multi
from fetchcli.http.transports.curl.openings import Opening, Openings
from fetchcli.http.transports.curl.transfer import Transfer

if TYPE_CHECKING:
    from fetchcli.http.certificates import Handshake

_CURLPROXY_HTTPS = 2
_DNS_CACHE_SECONDS = 60  # libcurl's copy of the Resolver's answers ("+host:port:addr" entries)
_RESOLVED_KEPT = 4096  # host:port pairs remembered as given to libcurl; then forgotten at once
_PLAIN = ("GET", False)  # a handle's shape after curl.reset()
_HANDSHAKES_KEPT = 4096  # connections whose handshake is remembered (ids only grow)


class CurlTransport(httpx.AsyncBaseTransport):
    """libcurl behind the run's httpx.AsyncClient."""

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        resolver: Resolver,
        cafile: str | None = None,
        insecure: bool = False,
        http2: bool = False,
        http3: bool = False,
        proxies: ProxyPolicy = NO_PROXY,
        timings: bool = False,
        tls_info: bool = False,
    ) -> None:
        self._limits = limits
        self._timings = timings
        self._tls_info = tls_info
        self._handshakes: dict[int, Handshake] = {}  # by libcurl's connection id
        self._resolver = resolver
        self._proxies = proxies
        self._multi: Multi | None = None
        self._openings = Openings(kept=limits.max_connections or 1024)
        self._idle_handles: list[pycurl.Curl] = []
        self._constant = _constant_options(limits, cafile, insecure, _version(http2, http3))
        if tls_info:  # the chain, and the verbose line that names version and cipher
            self._constant += [(pycurl.OPT_CERTINFO, 1), (pycurl.VERBOSE, 1)]
        # What each handle was set up for, (method, has a body), so that a request of the same
        # shape as its handle's last (most are) sets only what differs, its body: libcurl keeps
        # an option until it is changed.
        self._shapes: dict[pycurl.Curl, tuple[str, bool]] = {}
        # What each handle last sent: its header lines, and its (connect, pool) timeouts.
        self._sent: dict[pycurl.Curl, tuple[list[bytes], tuple[Any, Any]]] = {}
        self._resolved: dict[tuple[str, int], float] = {}  # given to libcurl's DNS cache, when

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._multi is None:
            self._multi = Multi(asyncio.get_running_loop(), self._limits)
        timeout = request.extensions.get("timeout", {})
        body = _content(request)
        if body is None:
            body = await request.aread()
        url = request.url
        origin = (url.scheme, url.host, url.port)
        opening = self._openings.enter_now(origin)  # False, or say how it went
        if opening is None:
            opening = await self._openings.enter(origin)
        curl = self._idle_handles.pop() if self._idle_handles else self._new_handle()
        transfer = Transfer(curl, request, timeout.get("read"), self._multi.loop)
        transfer.multi = self._multi
        transfer.timed = self._timings
        try:
            named = self._set_up(curl, transfer, body, timeout)
            if named is not None:  # a host name, not an address: the run's Resolver answers
                await self._give_address(curl, transfer, *named)
            if isinstance(opening, Opening):
                transfer.on_connected = functools.partial(self._openings.connected, opening)
            self._multi.start(transfer)
            response = await transfer.head
            if response is None:
                raise transfer.failure()
        except BaseException:
            self._multi.stop(transfer)
            self._idle_handles.append(curl)
            if isinstance(opening, Opening):
                self._openings.failed(origin, opening)
            raise
        if opening is not False:
            self._openings.answered(origin)
        transfer.tell(response)
        if self._tls_info and request.url.scheme == "https":
            response.extensions[TLS] = self._handshake(curl, transfer)
        transfer.release = self._idle_handles.append
        return response

    def _handshake(self, curl: pycurl.Curl, transfer: Transfer) -> Handshake | None:
        """The handshake of the transfer's connection: libcurl hands the chain over on the
        transfer that made the connection only, so it is kept for the next ones on it."""
        from fetchcli.http.certificates import Handshake, from_pem  # --tls-info only

        connection = curl.getinfo(pycurl.CONN_ID)
        chain = curl.getinfo(pycurl.INFO_CERTINFO)
        if not chain:
            return self._handshakes.get(connection)
        pem = dict(chain[0]).get("Cert")
        version, cipher = transfer.tls_settled or (None, None)
        handshake = Handshake(version, cipher, from_pem(pem) if pem else None)
        if len(self._handshakes) >= _HANDSHAKES_KEPT:
            del self._handshakes[next(iter(self._handshakes))]  # the oldest connection's
        self._handshakes[connection] = handshake
        return handshake

    def _new_handle(self) -> pycurl.Curl:
        curl = pycurl.Curl()
        self._reset(curl)
        return curl

    def _reset(self, curl: pycurl.Curl) -> None:
        """Every option back to the run's own (after a request of another method)."""
        curl.reset()
        for option, value in self._constant:
            curl.setopt(option, value)
        if not self._proxies.active:
            curl.setopt(pycurl.PROXY, "")  # and never the environment's, which libcurl reads
        self._shapes[curl] = _PLAIN
        self._sent.pop(curl, None)  # reset() cleared its headers and timeouts too

    def _set_up(
        self, curl: pycurl.Curl, transfer: Transfer, body: bytes, timeout: dict[str, Any]
    ) -> tuple[str, int] | None:
        """The handle set for the request; the host and port to look up, if a name."""
        request = transfer.request
        shape = (request.method, bool(body))
        if self._shapes.get(curl) != shape:
            self._reset(curl)
            if shape != _PLAIN:
                _set_method(curl, request.method, body)
                self._shapes[curl] = shape
        elif body:
            _set_body(curl, body)
        url = request.url
        curl.setopt(pycurl.URL, str(url))
        # A handle keeps an option until it is changed, and most requests send the same
        # headers with the same timeouts as their handle's last: libcurl then copies nothing.
        lines = _header_lines(request, bool(body))
        connect, pool = timeout.get("connect"), timeout.get("pool")
        last = self._sent.get(curl)
        if last is None or last[0] != lines:
            curl.setopt(pycurl.HTTPHEADER, lines)
        if last is None or last[1] != (connect, pool):  # none: libcurl's own (0), not the last
            connect_ms = 0 if connect is None else max(1, int((connect + (pool or 0)) * 1000))
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, connect_ms)
        self._sent[curl] = (lines, (connect, pool))
        curl.setopt(pycurl.HEADERFUNCTION, transfer.on_header)
        curl.setopt(pycurl.WRITEFUNCTION, transfer.on_write)
        curl.setopt(pycurl.PREREQFUNCTION, transfer.on_prereq)
        if self._tls_info:
            curl.setopt(pycurl.DEBUGFUNCTION, transfer.on_debug)
        proxy = None
        if self._proxies.active:
            proxy = self._proxies.proxy_for(url.scheme, url.raw_host.decode("ascii"))
            if proxy is not None and proxy.problem is not None:
                raise httpx.ProxyError(proxy.problem, request=request)
            _set_proxy(curl, proxy)
            if proxy is not None and url.scheme == "https":
                transfer.tunnel = proxy
        host, port = (proxy.host, proxy.port) if proxy else (url.host, url.port or _port(url))
        return None if is_address(host) else (host, port)

    async def _give_address(
        self, curl: pycurl.Curl, transfer: Transfer, host: str, port: int
    ) -> None:
        """The Resolver's addresses for host:port, into libcurl's DNS cache (shared by every
        handle of the multi), again before that copy expires."""
        now = time.monotonic()
        if now - self._resolved.get((host, port), -_DNS_CACHE_SECONDS) < _DNS_CACHE_SECONDS / 2:
            return
        curl.setopt(pycurl.RESOLVE, [await self._resolve(transfer.request, host, port)])
        transfer.lookup = time.monotonic() - now
        if len(self._resolved) >= _RESOLVED_KEPT:
            self._resolved.clear()
        self._resolved[host, port] = now

    async def _resolve(self, request: httpx.Request, host: str, port: int) -> str:
        try:
            found = await self._resolver.resolve(host)
        except socket.gaierror as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        ordered = sorted(found, key=lambda item: item[0] != socket.AF_INET)
        addresses = ",".join(f"[{a}]" if f == socket.AF_INET6 else a for f, a in ordered)
        return f"+{host}:{port}:{addresses}"

    async def close_idle(self) -> None:
        """Out of descriptors: libcurl keeps no idle connection past the next transfer."""
        if self._multi is not None:
            self._multi.set_max_idle(1)

    async def aclose(self) -> None:
        if self._multi is not None:
            self._multi.close()
            self._multi = None
        for curl in self._idle_handles:
            curl.close()
        self._idle_handles.clear()
        await self._resolver.close()


def _constant_options(
    limits: httpx.Limits, cafile: str | None, insecure: bool, version: int
) -> list[tuple[int, Any]]:
    """The options every transfer of a run shares."""
    options: list[tuple[int, Any]] = [
        (pycurl.NOSIGNAL, 1),
        (pycurl.TCP_NODELAY, 1),
        (pycurl.FOLLOWLOCATION, 0),
        (pycurl.HTTP_CONTENT_DECODING, 0),
        (pycurl.DNS_CACHE_TIMEOUT, _DNS_CACHE_SECONDS),
        (pycurl.HTTP_VERSION, version),
        # A request waits for a connection being opened to the same origin, to learn whether
        # it can share it (HTTP/2, HTTP/3), rather than open one more beside it.
        (pycurl.PIPEWAIT, 1),
    ]
    if limits.keepalive_expiry is not None:
        options.append((pycurl.MAXAGE_CONN, max(1, math.ceil(limits.keepalive_expiry))))
    if limits.max_keepalive_connections == 0:
        options.append((pycurl.FORBID_REUSE, 1))
    if insecure:
        options += [(pycurl.SSL_VERIFYPEER, 0), (pycurl.SSL_VERIFYHOST, 0)]
        options += [(pycurl.PROXY_SSL_VERIFYPEER, 0), (pycurl.PROXY_SSL_VERIFYHOST, 0)]
    else:
        trusted = cafile or ssl.get_default_verify_paths().cafile
        if trusted:
            options += [(pycurl.CAINFO, trusted), (pycurl.PROXY_CAINFO, trusted)]
    return options


def _version(http2: bool, http3: bool) -> int:
    """libcurl's HTTP version to ask for. HTTP/3 is tried first and falls back (HTTP/2 or 1.1
    over TCP, as ALPN settles) if QUIC does not connect: curl's --http3, not --http3-only.
    HTTP/2 is offered by ALPN on https: only, plain http: stays HTTP/1.1."""
    if http3:
        if not has_http3():
            raise UsageError(f"--http3: this libcurl has no HTTP/3 ({pycurl.version})")
        return pycurl.CURL_HTTP_VERSION_3
    if http2:
        return pycurl.CURL_HTTP_VERSION_2TLS
    return pycurl.CURL_HTTP_VERSION_1_1


def has_http3() -> bool:
    """Whether the libcurl pycurl was built with speaks HTTP/3 (the wheel's does)."""
    return bool(pycurl.version_info()[4] & pycurl.VERSION_HTTP3)


def _header_lines(request: httpx.Request, has_body: bool) -> list[bytes]:
    lines = [
        name + (b": " + value if value else b";")  # `Name;` is how libcurl sends it empty
        for name, value in request.headers.raw
    ]
    if has_body:
        lines.append(b"Expect:")  # no 100-continue round trip before the body
    return lines


def _set_body(curl: pycurl.Curl, body: bytes) -> None:
    curl.setopt(pycurl.POSTFIELDSIZE, len(body))
    curl.setopt(pycurl.COPYPOSTFIELDS, body)


def _set_method(curl: pycurl.Curl, method: str, body: bytes) -> None:
    if body:
        _set_body(curl, body)
        if method != "POST":
            curl.setopt(pycurl.CUSTOMREQUEST, method)
    elif method == "HEAD":
        curl.setopt(pycurl.NOBODY, 1)
    elif method != "GET":
        curl.setopt(pycurl.CUSTOMREQUEST, method)


def _set_proxy(curl: pycurl.Curl, proxy: Proxy | None) -> None:
    """The policy's proxy, or none: an empty PROXY also keeps libcurl off the environment's."""
    if proxy is None:
        curl.setopt(pycurl.PROXY, "")
        return
    curl.setopt(pycurl.PROXY, proxy.url)
    if proxy.scheme == "https":
        curl.setopt(pycurl.PROXYTYPE, _CURLPROXY_HTTPS)
    if proxy.username or proxy.password:
        curl.setopt(pycurl.PROXYUSERPWD, f"{proxy.username}:{proxy.password}")


def _content(request: httpx.Request) -> bytes | None:
    """The body of a request made whole (every one fetchcli builds), without a coroutine; None
    for a streamed one, which is read first."""
    content = getattr(request, "_content", None)  # httpx's own: set once the body is read
    return content if isinstance(content, bytes) else None


def _port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80
