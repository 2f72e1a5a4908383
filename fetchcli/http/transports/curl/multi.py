"""One CurlMulti whose sockets (curl/sockets.py) and timer are the event loop's: libcurl says
what to watch and when to be called, the loop calls it back, and each finished transfer is
handed its outcome. One read clock looks at every transfer for silence."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pycurl

from fetchcli.http.transports.curl.sockets import SocketWatch
from fetchcli.http.transports.curl.transfer import LOOKS, Transfer


class Multi:
    """One CurlMulti whose sockets and timer are the loop's."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limits: httpx.Limits) -> None:
        self.loop = loop
        self._loop = loop
        self._multi = pycurl.CurlMulti()
        # Bound once: pycurl's attribute lookup on a CurlMulti is slow, and these run per event.
        self._socket_action = self._multi.socket_action
        self._info_read = self._multi.info_read
        self._assign = self._multi.assign
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        # Requests to one origin share an HTTP/2 or HTTP/3 connection (libcurl's default since
        # 7.62, said here so that a pool bound counts connections, not requests, on any build).
        self._multi.setopt(pycurl.M_PIPELINING, pycurl.PIPE_MULTIPLEX)
        self._multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, limits.max_connections or 0)
        keepalive = limits.max_keepalive_connections
        self._multi.setopt(pycurl.M_MAXCONNECTS, max(1, keepalive if keepalive is not None else 0))
        self._sockets = SocketWatch(loop, self._act_on)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0  # when self._timer fires (uvloop's handles do not say)
        self._deadline: float | None = None  # loop time libcurl last asked to be called at
        self._closed = False
        self.transfers: dict[pycurl.Curl, Transfer] = {}
        self.held = 0  # body bytes the transfers hold for their readers (Transfer.on_write)
        self._reads = ReadClock(loop)

    def start(self, transfer: Transfer) -> None:
        self.transfers[transfer.curl] = transfer
        self._multi.add_handle(transfer.curl)

    def stop(self, transfer: Transfer) -> None:
        """Take a transfer off (finished, or given up: its connection is then closed)."""
        if self.transfers.pop(transfer.curl, None) is not None:
            self._multi.remove_handle(transfer.curl)

    def watch_reads(self, transfer: Transfer, timeout: float) -> None:
        self._reads.watch(transfer, timeout)

    def unwatch_reads(self, transfer: Transfer, timeout: float) -> None:
        self._reads.unwatch(transfer, timeout)

    def set_max_idle(self, count: int) -> None:
        self._multi.setopt(pycurl.M_MAXCONNECTS, max(1, count))

    def close(self) -> None:
        for transfer in list(self.transfers.values()):
            self.stop(transfer)
        # libcurl's cleanup shuts its connections down (a TLS close_notify, HTTP/2's GOAWAY)
        # and may still say which sockets it would wait on: nothing is watched any more.
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._reads.close()
        self._sockets.close()
        self._multi.close()

    def _on_socket(self, what: int, fd: int, multi: Any, known: Any) -> None:
        if self._closed:
            return
        self._sockets.watch(fd, what, known is not None)
        if known is None and what != pycurl.POLL_REMOVE:
            self._assign(fd, True)  # the next call about it says so: no check needed

    def _on_timer(self, milliseconds: int) -> None:
        """libcurl wants to be called in `milliseconds` (-1: no longer). The loop's timer is
        moved only when libcurl wants it sooner; one that fires early sees the deadline moved
        and waits on to it (libcurl says a deadline once, not again when it is due)."""
        if milliseconds < 0 or self._closed:
            self._deadline = None
            return
        when = self._loop.time() + milliseconds / 1000
        self._deadline = when
        timer = self._timer
        if timer is not None:
            if self._timer_due <= when:
                return
            timer.cancel()
        self._timer = self._loop.call_at(when, self._on_timeout)
        self._timer_due = when

    def _on_timeout(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None:
            return
        if deadline > self._loop.time():
            self._timer = self._loop.call_at(deadline, self._on_timeout)
            self._timer_due = deadline
            return
        self._deadline = None
        self._act(pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, event: int) -> None:
        self._act_on([(fd, event)])

    def _act_on(self, ready: list[tuple[int, int]]) -> None:
        for fd, event in ready:
            while self._socket_action(fd, event)[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
        self.collect()

    def collect(self) -> None:
        """Hand each finished transfer its outcome."""
        while True:
            queued, succeeded, failed = self._info_read()
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


class ReadClock:
    """One timer per read timeout for every transfer under it, each looked at LOOKS times per
    timeout (Transfer.look): a request costs a set's add and discard, not a timer of its own
    in the loop's heap, whose ordering is Python code."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._watched: dict[float, set[Transfer]] = {}  # by read timeout
        self._timers: dict[float, asyncio.TimerHandle] = {}

    def watch(self, transfer: Transfer, timeout: float) -> None:
        watched = self._watched.get(timeout)
        if watched is None:
            watched = self._watched[timeout] = set()
            self._timers[timeout] = self._loop.call_later(timeout / LOOKS, self._look, timeout)
        watched.add(transfer)

    def unwatch(self, transfer: Transfer, timeout: float) -> None:
        watched = self._watched.get(timeout)
        if watched is not None:
            watched.discard(transfer)

    def _look(self, timeout: float) -> None:
        watched = self._watched[timeout]
        for transfer in list(watched):  # a look may end a transfer, which unwatches it
            transfer.look()
        if watched:
            self._timers[timeout] = self._loop.call_later(timeout / LOOKS, self._look, timeout)
        else:  # nothing left to time: no timer ticks on an idle run
            del self._watched[timeout], self._timers[timeout]

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._watched.clear()
