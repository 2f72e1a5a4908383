"""An httpx transport on libcurl's multi interface (pycurl), driven by the asyncio loop: the
run still drives one httpx.AsyncClient, and libcurl does the sockets, TLS, HTTP/1.1 and HTTP/2.

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
import math
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pycurl

from fetchcli.http.dns import Resolver, is_address
from fetchcli.http.errors import DISCONNECTED
from fetchcli.http.proxy import NO_PROXY, Proxy, ProxyPolicy, refused_tunnel
from fetchcli.http.stream import DirectStream
from fetchcli.http.transports.curl.errors import error_for
from fetchcli.http.transports.curl.sockets import SocketWatch

_PAUSE_AT = 1024 * 1024  # body bytes held for a slow reader before libcurl is paused
_RESUME_AT = 256 * 1024
_CURLPROXY_HTTPS = 2
_DNS_CACHE_SECONDS = 60  # libcurl's copy of the Resolver's answers ("+host:port:addr" entries)


class _Multi:
    """One CurlMulti whose sockets and timer are the loop's."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limits: httpx.Limits) -> None:
        self._loop = loop
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self._multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, limits.max_connections or 0)
        keepalive = limits.max_keepalive_connections
        self._multi.setopt(pycurl.M_MAXCONNECTS, max(1, keepalive if keepalive is not None else 0))
        self._sockets = SocketWatch(loop, self._act_on)
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None  # loop time libcurl last asked to be called at
        self.transfers: dict[pycurl.Curl, _Transfer] = {}

    def start(self, transfer: _Transfer) -> None:
        self.transfers[transfer.curl] = transfer
        self._multi.add_handle(transfer.curl)

    def stop(self, transfer: _Transfer) -> None:
        """Take a transfer off (finished, or given up: its connection is then closed)."""
        if self.transfers.pop(transfer.curl, None) is not None:
            self._multi.remove_handle(transfer.curl)

    def set_max_idle(self, count: int) -> None:
        self._multi.setopt(pycurl.M_MAXCONNECTS, max(1, count))

    def close(self) -> None:
        for transfer in list(self.transfers.values()):
            self.stop(transfer)
        if self._timer is not None:
            self._timer.cancel()
        self._sockets.close()
        self._multi.close()

    def _on_socket(self, what: int, fd: int, multi: Any, known: Any) -> None:
        self._sockets.watch(fd, what, known is not None)
        if known is None and what != pycurl.POLL_REMOVE:
            self._multi.assign(fd, True)  # the next call about it says so: no check needed

    def _on_timer(self, milliseconds: int) -> None:
        """libcurl wants to be called in `milliseconds` (-1: no longer). The loop's timer is
        moved only when libcurl wants it sooner; one that fires early sees the deadline moved
        and waits on to it (libcurl says a deadline once, not again when it is due)."""
        if milliseconds < 0:
            self._deadline = None
            return
        when = self._loop.time() + milliseconds / 1000
        self._deadline = when
        timer = self._timer
        if timer is not None and timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()
        self._timer = self._loop.call_at(when, self._on_timeout)

    def _on_timeout(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None:
            return
        if deadline > self._loop.time():
            self._timer = self._loop.call_at(deadline, self._on_timeout)
            return
        self._deadline = None
        self._act(pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, event: int) -> None:
        self._act_on([(fd, event)])

    def _act_on(self, ready: list[tuple[int, int]]) -> None:
        for fd, event in ready:
            while self._multi.socket_action(fd, event)[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
        self.collect()

    def collect(self) -> None:
        """Hand each finished transfer its outcome."""
        while True:
            queued, succeeded, failed = self._multi.info_read()
            for curl in succeeded:
                self._finish(curl, None)
            for curl, code, message in failed:
                self._finish(curl, (code, message))
            if not queued:
                return

    def _finish(self, curl: pycurl.Curl, failure: tuple[int, str] | None) -> None:
        transfer = self.transfers.pop(curl, None)
        self._multi.remove_handle(curl)
        if transfer is not None:
            transfer.finished(failure)


class _Transfer:
    """One request on one Curl handle: the response head as it arrives, then its body,
    handed to the reader with backpressure (libcurl paused past _PAUSE_AT bytes held)."""

    def __init__(self, curl: pycurl.Curl, request: httpx.Request, read_timeout: float | None):
        self.curl = curl
        self.request = request
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.head: asyncio.Future[httpx.Response] = loop.create_future()
        self._status_line = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.held = 0
        self.paused = False
        self.done = False
        self.error: Exception | None = None
        self._wake: asyncio.Future[None] | None = None
        self.connected = False
        self._read_timeout = read_timeout
        self._active = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self.multi: _Multi | None = None
        self.release: Callable[[pycurl.Curl], None] | None = None  # the handle goes back
        self.tunnel: Proxy | None = None  # a CONNECT to this proxy answers first
        self._tunnel_answer = ""

    def on_prereq(self, *address: Any) -> int:
        """The connection is ready and the request about to go: the read clock starts."""
        self.connected = True
        if self._read_timeout is not None:
            self._active = time.monotonic()
            self._watchdog = self._loop.call_later(self._read_timeout, self._check_idle)
        return pycurl.PREREQFUNC_OK

    def on_header(self, line: bytes) -> None:
        self._active = time.monotonic()
        if line.startswith(b"HTTP/"):
            self._status_line, self._headers = line, []  # an interim response's are dropped
        elif line in (b"\r\n", b"\n"):
            status = int(self._status_line.split(None, 2)[1])
            if self.tunnel is not None:  # the proxy's answer to CONNECT, not the server's
                self._tunnel_answer = self._status_line.decode("latin-1").split(None, 1)[1]
                if 200 <= status < 300:
                    self.tunnel = None
            elif status >= 200 or status == 101:
                self._head_done(status)
        elif not self.head.done():
            name, _, value = line.partition(b":")
            self._headers.append((name.strip(), value.strip()))

    def _head_done(self, status: int) -> None:
        version, _, rest = self._status_line.rstrip().partition(b" ")
        reason = rest.partition(b" ")[2]
        response = httpx.Response(
            status_code=status,
            headers=self._headers,
            stream=_CurlStream(self),
            request=self.request,
            extensions={"http_version": version, "reason_phrase": reason},
        )
        if not self.head.done():
            self.head.set_result(response)

    def on_write(self, data: bytes) -> int | None:
        self._active = time.monotonic()
        if self.held >= _PAUSE_AT:
            self.paused = True
            return pycurl.WRITEFUNC_PAUSE  # libcurl keeps `data` and gives it again later
        self.chunks.append(data)
        self.held += len(data)
        self._notify()
        return None

    def finished(self, failure: tuple[int, str] | None) -> None:
        self.done = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        if failure is not None and self.error is None and self.tunnel is not None:
            answer = self._tunnel_answer or failure[1]
            self.error = httpx.ProxyError(refused_tunnel(self.tunnel, answer), request=self.request)
        if failure is not None and self.error is None:
            code, message = failure
            errno = self.curl.getinfo(pycurl.OS_ERRNO)
            self.error = error_for(
                code, message, self.request, os_errno=errno, connected=self.connected
            )
        if not self.head.done():
            self.head.set_exception(
                # libcurl takes a head cut short by a close for a whole one: not we.
                self.error or httpx.RemoteProtocolError(DISCONNECTED, request=self.request)
            )
        self._notify()

    def fail(self, error: Exception) -> None:
        """End the transfer here (the read timeout): its connection is closed."""
        self.error = error
        if self.multi is not None:
            self.multi.stop(self)
        self.finished(None)

    def _check_idle(self) -> None:
        assert self._read_timeout is not None
        idle = time.monotonic() - self._active
        if self.paused or idle < self._read_timeout:  # a slow reader is not a slow server
            wait = self._read_timeout - idle if not self.paused else self._read_timeout
            self._watchdog = self._loop.call_later(wait, self._check_idle)
            return
        self.fail(httpx.ReadTimeout("read timeout", request=self.request))

    def _notify(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def wait(self) -> None:
        self._wake = self._loop.create_future()
        await self._wake

    def take(self) -> bytes:
        """Every chunk held, as one; libcurl goes on once the reader has caught up."""
        data = self.chunks.popleft() if len(self.chunks) == 1 else b"".join(self.chunks)
        self.chunks.clear()
        self.held = 0
        if self.paused and not self.done:
            self.paused = False
            self.curl.pause(pycurl.PAUSE_CONT)
            if self.multi is not None:
                self.multi.collect()
        return data


class _CurlStream(DirectStream):
    def __init__(self, transfer: _Transfer) -> None:
        self._transfer = transfer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        transfer = self._transfer
        while True:
            if transfer.chunks:
                yield transfer.take()
            elif transfer.done:
                if transfer.error is not None:
                    raise transfer.error
                return
            else:
                await transfer.wait()

    async def aclose(self) -> None:
        transfer = self._transfer
        if not transfer.done and transfer.multi is not None:
            transfer.multi.stop(transfer)  # cut short: libcurl closes the connection
            transfer.done = True
        if transfer.release is not None:
            transfer.release(transfer.curl)
            transfer.release = None


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
        proxies: ProxyPolicy = NO_PROXY,
    ) -> None:
        self._limits = limits
        self._resolver = resolver
        self._proxies = proxies
        self._multi: _Multi | None = None
        self._idle_handles: list[pycurl.Curl] = []
        self._constant = _constant_options(limits, cafile, insecure, http2)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._multi is None:
            self._multi = _Multi(asyncio.get_running_loop(), self._limits)
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        curl = self._idle_handles.pop() if self._idle_handles else pycurl.Curl()
        transfer = _Transfer(curl, request, timeout.get("read"))
        transfer.multi = self._multi
        try:
            await self._set_up(curl, transfer, body, timeout)
            self._multi.start(transfer)
            response = await transfer.head
        except BaseException:
            self._multi.stop(transfer)
            self._idle_handles.append(curl)
            raise
        transfer.release = self._idle_handles.append
        return response

    async def _set_up(
        self, curl: pycurl.Curl, transfer: _Transfer, body: bytes, timeout: dict[str, Any]
    ) -> None:
        request = transfer.request
        curl.reset()
        for option, value in self._constant:
            curl.setopt(option, value)
        url = request.url
        curl.setopt(pycurl.URL, str(url))
        curl.setopt(pycurl.HTTPHEADER, _header_lines(request, bool(body)))
        _set_method(curl, request.method, body)
        curl.setopt(pycurl.HEADERFUNCTION, transfer.on_header)
        curl.setopt(pycurl.WRITEFUNCTION, transfer.on_write)
        curl.setopt(pycurl.PREREQFUNCTION, transfer.on_prereq)
        connect, pool = timeout.get("connect"), timeout.get("pool")
        if connect is not None:
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int((connect + (pool or 0)) * 1000)))
        proxy = self._proxies.proxy_for(url.scheme, url.raw_host.decode("ascii"))
        if proxy is not None and proxy.problem is not None:
            raise httpx.ProxyError(proxy.problem, request=request)
        _set_proxy(curl, proxy)
        if proxy is not None and url.scheme == "https":
            transfer.tunnel = proxy
        host, port = (proxy.host, proxy.port) if proxy else (url.host, url.port or _port(url))
        if not is_address(host):
            curl.setopt(pycurl.RESOLVE, [await self._resolve(request, host, port)])

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
    limits: httpx.Limits, cafile: str | None, insecure: bool, http2: bool
) -> list[tuple[int, Any]]:
    """The options every transfer of a run shares."""
    options: list[tuple[int, Any]] = [
        (pycurl.NOSIGNAL, 1),
        (pycurl.TCP_NODELAY, 1),
        (pycurl.FOLLOWLOCATION, 0),
        (pycurl.HTTP_CONTENT_DECODING, 0),
        (pycurl.DNS_CACHE_TIMEOUT, _DNS_CACHE_SECONDS),
        (pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS if http2 else 2),  # 2: HTTP/1.1
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


def _header_lines(request: httpx.Request, has_body: bool) -> list[bytes]:
    lines = [
        name + (b": " + value if value else b";")  # `Name;` is how libcurl sends it empty
        for name, value in request.headers.raw
    ]
    if has_body:
        lines.append(b"Expect:")  # no 100-continue round trip before the body
    return lines


def _set_method(curl: pycurl.Curl, method: str, body: bytes) -> None:
    if body:
        curl.setopt(pycurl.POSTFIELDSIZE, len(body))
        curl.setopt(pycurl.COPYPOSTFIELDS, body)
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


def _port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80
