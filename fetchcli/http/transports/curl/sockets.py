"""The sockets libcurl asks to have watched, in an epoll set of their own whose one descriptor
the event loop watches: libcurl's socket callback costs an epoll_ctl at most, not asyncio's
bookkeeping per socket (half the curl transport's own cost, when measured).

A connection that goes back to libcurl's cache is unwatched (CURL_POLL_REMOVE) and watched
again when the next request reuses it. Here it stays in the set meanwhile: an event on a socket
libcurl wants nothing of (an idle connection the server closed) takes it out then, and a socket
libcurl closes leaves the set by itself (the kernel drops a closed descriptor from every epoll
set). Watching it again costs one epoll_ctl (a modify), which fails if the socket closed
meanwhile and another took its number: that one is added instead. A socket libcurl calls about
again while it is watched costs no system call unless what it waits for changes."""

from __future__ import annotations

import asyncio
import contextlib
import select
from collections.abc import Callable

import pycurl

_IN, _OUT = select.EPOLLIN, select.EPOLLOUT
_TROUBLE = select.EPOLLERR | select.EPOLLHUP
_MASKS = {
    pycurl.POLL_IN: _IN,
    pycurl.POLL_OUT: _OUT,
    pycurl.POLL_INOUT: _IN | _OUT,
    pycurl.POLL_REMOVE: 0,
}

Act = Callable[[list[tuple[int, int]]], None]  # (socket, CURL_CSELECT_* flags) for each ready


class SocketWatch:
    """Watches libcurl's sockets; calls `act` with those that are ready."""

    def __init__(self, loop: asyncio.AbstractEventLoop, act: Act) -> None:
        self._loop = loop
        self._act = act
        self._epoll = select.epoll()
        self._wanted: dict[int, int] = {}  # socket -> the events libcurl wants now (0: none)
        self._registered: dict[int, int] = {}  # socket -> the events it is in the set for
        loop.add_reader(self._epoll.fileno(), self._on_ready)

    def watch(self, fd: int, what: int, known: bool) -> None:
        """libcurl's CURLMOPT_SOCKETFUNCTION. `known`: libcurl has called about this socket
        since it was last watched (so it is the same socket, not a new one with its number)."""
        mask = _MASKS[what]
        self._wanted[fd] = mask
        if not mask:
            return  # stays in the set until it stirs or closes
        registered = self._registered.get(fd)
        if registered == mask and known:
            return
        try:
            if registered is None:
                self._epoll.register(fd, mask)
            else:  # not known: this fails if the socket closed and another has its number
                self._epoll.modify(fd, mask)
        except FileExistsError:
            self._epoll.modify(fd, mask)
        except FileNotFoundError:
            self._epoll.register(fd, mask)
        self._registered[fd] = mask

    def _on_ready(self) -> None:
        ready: list[tuple[int, int]] = []
        for fd, events in self._epoll.poll(0):
            wanted = self._wanted.get(fd, 0)
            if not wanted:
                self._forget(fd)
                continue
            flags = 0
            if events & (_IN | _TROUBLE):
                flags |= pycurl.CSELECT_IN
            if events & _OUT:
                flags |= pycurl.CSELECT_OUT
            if events & select.EPOLLERR:
                flags |= pycurl.CSELECT_ERR
            ready.append((fd, flags))
        if ready:
            self._act(ready)

    def _forget(self, fd: int) -> None:
        with contextlib.suppress(OSError):  # closed already: the kernel took it out
            self._epoll.unregister(fd)
        self._registered.pop(fd, None)
        self._wanted.pop(fd, None)

    def close(self) -> None:
        self._loop.remove_reader(self._epoll.fileno())
        self._epoll.close()
