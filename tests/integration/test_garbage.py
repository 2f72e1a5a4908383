"""A finished request leaves nothing for the cyclic GC: refcounting frees its objects at once.
A cycle per request (a transfer holding its response, which holds the transfer) cost the curl
transport 7 % of its CPU in collections, and kept each request's objects alive until one."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator

import pytest

import fetchcli
from tests.server import TestServer

_CLIENT_SIDE = {"fetchcli", "httpx", "httpcore", "aiohttp", "pycurl"}


@pytest.fixture
def no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


@pytest.mark.usefixtures("no_gc")
@pytest.mark.parametrize("transport", ["aiohttp", "httpcore", "curl"])
def test_requests_leave_no_cycles(server: TestServer, transport: str) -> None:
    paths = ("ok", "gzip", "status/404", "redirect/1", "reset")
    urls = [f"{server.url}/{path}?n={n}" for n in range(20) for path in paths]
    options = {"transport": transport, "timeout": 5, "concurrency": 4}
    list(fetchcli.fetch(urls[:5], **options))  # what a first run imports and sets up, once
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds in cycles goes to gc.garbage

    records = list(fetchcli.fetch(urls, **options))

    assert [r["status"] for r in records[:4]] == [200, 200, 404, 200]
    gc.collect()
    clients = Counter(
        f"{type(item).__module__}.{type(item).__qualname__}"
        for item in gc.garbage
        if type(item).__module__.partition(".")[0] in _CLIENT_SIDE  # not the test server's
    )
    assert {name: count for name, count in clients.items() if count >= 20} == {}
