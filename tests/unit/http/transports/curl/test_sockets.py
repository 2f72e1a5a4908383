"""The curl transport's socket watch: sockets kept in its epoll set across reuse, a new socket
that takes a closed one's number watched anew, idle sockets that stir dropped."""

from __future__ import annotations

import asyncio
import socket

import pycurl
import pytest

from fetchcli.http.transports.curl.sockets import SocketWatch


@pytest.mark.anyio
async def test_a_new_socket_with_a_closed_ones_number_is_watched() -> None:
    """libcurl closes a socket (no callback says so) and opens another that gets its number:
    its events still arrive."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[list[tuple[int, int]]] = asyncio.Queue()
    watch = SocketWatch(loop, ready.put_nowait)
    first, peer = socket.socketpair()
    fd = first.fileno()
    watch.watch(fd, pycurl.POLL_IN, known=False)
    watch.watch(fd, pycurl.POLL_REMOVE, known=True)  # back in libcurl's cache
    first.close()
    peer.close()
    second, peer = socket.socketpair()
    if second.fileno() != fd:  # the kernel gives the lowest free number: the same one
        second, peer = peer, second
    assert second.fileno() == fd
    watch.watch(fd, pycurl.POLL_IN, known=False)
    peer.send(b"x")
    assert await asyncio.wait_for(ready.get(), 5) == [(fd, pycurl.CSELECT_IN)]
    watch.close()
    second.close()
    peer.close()


@pytest.mark.anyio
async def test_an_idle_socket_that_stirs_is_dropped_not_reported() -> None:
    """An idle connection the server closes wakes the watch once, and libcurl is not told."""
    loop = asyncio.get_running_loop()
    reported: list[list[tuple[int, int]]] = []
    watch = SocketWatch(loop, reported.append)
    mine, peer = socket.socketpair()
    watch.watch(mine.fileno(), pycurl.POLL_IN, known=False)
    watch.watch(mine.fileno(), pycurl.POLL_REMOVE, known=True)
    peer.close()  # readable now (end of stream)
    for _ in range(1000):  # loop turns, not time: until the watch has seen the event
        if mine.fileno() not in watch._registered:
            break
        await asyncio.sleep(0)
    assert mine.fileno() not in watch._registered
    assert reported == []
    watch.close()
    mine.close()
