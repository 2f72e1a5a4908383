"""One request on one Curl handle: the response head as libcurl hands it over, then the body,
to the reader with backpressure (libcurl paused while too much is held), and the read timeout
measured between reads on the loop's clock."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any, Protocol

import httpx
import pycurl

from fetchcli.http.errors import DISCONNECTED
from fetchcli.http.messages import listed_headers, new_response
from fetchcli.http.proxy import Proxy, refused_tunnel
from fetchcli.http.stream import DirectStream
from fetchcli.http.timing import PHASES, REMOTE_IP, Phases, span


class Driver(Protocol):
    """What a transfer asks of the multi that drives it (curl/multi.py)."""

    held: int  # body bytes all its transfers hold for their readers

    def stop(self, transfer: Transfer) -> None: ...
    def collect(self) -> None: ...
    def watch_reads(self, transfer: Transfer, timeout: float) -> None: ...
    def unwatch_reads(self, transfer: Transfer, timeout: float) -> None: ...


_SETTLED = b"SSL connection using "  # libcurl's line: TLSv1.3 / TLS_AES_256_GCM_SHA384 / ...
_PAUSE_AT = 1024 * 1024  # body bytes held for a slow reader before libcurl is paused
# Once all the multi's transfers together hold _HELD_MAX, each pauses at _PAUSE_MIN: 50 slow
# readers (-f body's spools at -c 50) hold about 36 MiB, not 50, and 1,000 about 280 MiB, not
# 1 GiB. A transfer holding less goes on: its reader waits for it, and smaller takes cost more
# wake-ups (16 MiB and 128 KiB cost a --checksums download 17 % more CPU; these 5 %).
_HELD_MAX = 32 * 1024 * 1024
_PAUSE_MIN = 256 * 1024
LOOKS = 4  # the read clock's looks per read timeout (curl/multi.py's ReadClock)


class Transfer:
    """One request on one Curl handle: the response head as it arrives, then its body,
    handed to the reader with backpressure (libcurl paused past _PAUSE_AT bytes held)."""

    # What most transfers never change is the class's: a request sets only what it must.
    held = 0
    paused = False
    done = False
    error: Exception | None = None
    _wake: asyncio.Future[None] | None = None
    connected = False
    # Progress at the read clock's last look; None before its first, which counts no silence
    # (it may come at once: the clock ticks for every transfer alike).
    _seen: tuple[int, bool, int] | None = None
    _quiet = 0  # looks in a row that saw nothing arrive
    _chunks_in = 0
    _watched = False  # by the multi's read clock
    multi: Driver | None = None
    release: Callable[[pycurl.Curl], None] | None = None  # the handle goes back
    tunnel: Proxy | None = None  # a CONNECT to this proxy answers first
    on_connected: Callable[[], None] | None = None
    _tunnel_answer = ""
    timed = False  # --timings: the phases go into the response's extensions
    lookup: float | None = None  # seconds the run's Resolver took, when it was asked
    tls_settled: tuple[str, str] | None = None  # (version, cipher), with --tls-info

    def __init__(
        self,
        curl: pycurl.Curl,
        request: httpx.Request,
        read_timeout: float | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.curl = curl
        self.request = request
        self._loop = loop
        # The response once its head is in; None if the transfer failed first (its error is
        # then taken with failure(): the future holds no exception whose traceback would hold
        # this transfer, which would leave a cycle per failed request for the GC).
        self.head: asyncio.Future[httpx.Response | None] = loop.create_future()
        self._lines: list[bytes] = []  # of the response head being read
        self.chunks: deque[bytes] = deque()
        self._read_timeout = read_timeout

    def on_prereq(self, *address: Any) -> int:
        """The connection is ready and the request about to go: the read clock starts."""
        self.connected = True
        if self.on_connected is not None:
            self.on_connected()
            self.on_connected = None
        if self._read_timeout is not None and self.multi is not None:
            self.multi.watch_reads(self, self._read_timeout)
            self._watched = True
        return pycurl.PREREQFUNC_OK

    def on_header(self, line: bytes) -> None:
        """libcurl's header callback, once per line: kept short, the head is read at its end."""
        self._lines.append(line)
        if len(line) <= 2:  # the blank line: a head is complete
            self._head_ends()

    def _head_ends(self) -> None:
        lines, self._lines = self._lines, []
        status_line = lines[0]
        status = int(status_line.split(None, 2)[1])
        if self.tunnel is not None:  # the proxy's answer to CONNECT, not the server's
            self._tunnel_answer = status_line.decode("latin-1").split(None, 1)[1]
            if 200 <= status < 300:
                self.tunnel = None
        elif (status >= 200 or status == 101) and not self.head.done():
            self._head_done(status, status_line, lines[1:-1])
        # else an interim response (100 Continue, 103): the final one follows

    def _head_done(self, status: int, status_line: bytes, lines: list[bytes]) -> None:
        version, _, rest = status_line.rstrip().partition(b" ")
        reason = rest.partition(b" ")[2]
        listed = []
        for line in lines:
            name, _, value = line.partition(b":")
            name = name.strip()
            listed.append((name, name.lower(), value.strip()))
        extensions: dict[str, Any] = {"http_version": version}
        if version.startswith(b"HTTP/1"):
            # HTTP/2 and 3 have no reason phrase: httpx then gives the status's own words, as
            # it does for httpcore's HTTP/2.
            extensions["reason_phrase"] = reason
        response = new_response(
            status, listed_headers(listed), _CurlStream(self), self.request, extensions
        )
        if not self.head.done():
            self.head.set_result(response)

    def on_debug(self, kind: int, data: bytes) -> None:
        """libcurl's verbose lines (--tls-info only): the one that says how TLS settled."""
        if kind == pycurl.INFOTYPE_TEXT and data.startswith(_SETTLED):
            parts = data[len(_SETTLED) :].decode("ascii", "replace").strip().split(" / ")
            if len(parts) >= 2:
                self.tls_settled = (parts[0], parts[1])

    def tell(self, response: httpx.Response) -> None:
        """Where the response came from, and the phases with --timings, into its extensions
        (libcurl answers getinfo() only outside its callbacks: here, once the head is out)."""
        response.extensions[REMOTE_IP] = self.curl.getinfo(pycurl.PRIMARY_IP) or None
        if self.timed:
            response.extensions[PHASES] = self._phases()

    def _phases(self) -> Phases:
        """From libcurl's clocks, each from the transfer's start, as curl -w reports them."""
        info = self.curl.getinfo
        queued = info(pycurl.QUEUE_TIME_T) / 1e6
        first = info(pycurl.STARTTRANSFER_TIME)
        sent = info(pycurl.POSTTRANSFER_TIME_T) / 1e6 or info(pycurl.PRETRANSFER_TIME)
        if info(pycurl.NUM_CONNECTS) == 0:  # a connection already open: no dns, connect, tls
            return Phases(pool=queued, ttfb=span(sent, first))
        looked_up, connected = info(pycurl.NAMELOOKUP_TIME), info(pycurl.CONNECT_TIME)
        handshaken = info(pycurl.APPCONNECT_TIME) or None
        return Phases(
            pool=queued,
            dns=(self.lookup or 0.0) + (span(queued, looked_up) or 0.0),
            connect=span(looked_up, connected),
            tls=span(connected, handshaken),
            ttfb=span(sent, first),
        )

    def on_write(self, data: bytes) -> int | None:
        self._chunks_in += 1
        held, multi = self.held, self.multi
        if held >= _PAUSE_MIN and (
            held >= _PAUSE_AT or (multi is not None and multi.held >= _HELD_MAX)
        ):
            self.paused = True
            return pycurl.WRITEFUNC_PAUSE  # libcurl keeps `data` and gives it again later
        self.chunks.append(data)
        self.held = held + len(data)
        if multi is not None:
            multi.held += len(data)
        self._notify()
        return None

    def finished(self, failure: tuple[int, str] | None) -> None:
        self.done = True
        if self._watched and self.multi is not None and self._read_timeout is not None:
            self.multi.unwatch_reads(self, self._read_timeout)
            self._watched = False
        if failure is not None and self.error is None and self.tunnel is not None:
            answer = self._tunnel_answer or failure[1]
            self.error = httpx.ProxyError(refused_tunnel(self.tunnel, answer), request=self.request)
        if failure is not None and self.error is None:
            # libcurl's error table and its patterns only when a transfer fails: not at start.
            from fetchcli.http.transports.curl.errors import error_for

            code, message = failure
            errno = self.curl.getinfo(pycurl.OS_ERRNO)
            self.error = error_for(
                code, message, self.request, os_errno=errno, connected=self.connected
            )
        if not self.head.done():
            if self.error is None:  # libcurl takes a head cut short by a close for a whole one
                self.error = httpx.RemoteProtocolError(DISCONNECTED, request=self.request)
            self.head.set_result(None)
        self._notify()

    def failure(self) -> Exception:
        """The error the transfer ended with, to raise: the transfer lets go of it, so that its
        traceback (which holds the frames that hold this transfer) makes no cycle."""
        error, self.error = self.error, None
        assert error is not None
        return error

    def fail(self, error: Exception) -> None:
        """End the transfer here (the read timeout): its connection is closed."""
        self.error = error
        if self.multi is not None:
            self.multi.stop(self)
        self.finished(None)

    def look(self) -> None:
        """The read clock looks LOOKS times per read timeout for something new (a header
        line, a chunk): silent for a whole timeout, the read has timed out (at most a
        LOOKS-th of a timeout late, never early). Nothing runs per byte."""
        seen = (len(self._lines), self.head.done(), self._chunks_in)
        if self.paused or seen != self._seen:  # a slow reader is not a slow server
            self._seen, self._quiet = seen, 0
        else:
            self._quiet += 1
            if self._quiet >= LOOKS:
                self.fail(httpx.ReadTimeout("read timeout", request=self.request))

    def let_go(self) -> None:
        """What this transfer holds no longer counts (taken by its reader, or dropped)."""
        if self.multi is not None:
            self.multi.held -= self.held
        self.held = 0

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
        self.let_go()
        if self.paused and not self.done:
            self.paused = False
            self.curl.pause(pycurl.PAUSE_CONT)
            if self.multi is not None:
                self.multi.collect()
        return data


class _CurlStream(DirectStream):
    def __init__(self, transfer: Transfer) -> None:
        self._transfer: Transfer | None = transfer

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        transfer = self._transfer
        if transfer is None:
            raise httpx.StreamClosed()
        while True:
            if transfer.chunks:
                yield transfer.take()
            elif transfer.done:
                if transfer.error is not None:
                    raise transfer.failure()
                return
            else:
                await transfer.wait()

    async def aclose(self) -> None:
        transfer = self._transfer
        if transfer is None:
            return
        # The transfer holds the response (its head), which holds this stream: let go, and
        # refcounting frees the request's objects now, not the cyclic GC later.
        self._transfer = None
        transfer.let_go()  # a body cut short: what it held is dropped with it
        if not transfer.done and transfer.multi is not None:
            transfer.multi.stop(transfer)  # cut short: libcurl closes the connection
            transfer.done = True
        if transfer.release is not None:
            transfer.release(transfer.curl)
            transfer.release = None
