"""Many URLs: one httpx.AsyncClient, a fixed set of workers, results handed out in order.

Fan-out is `--concurrency` worker coroutines pulling from a lazy feed, never a task per URL:
memory follows the concurrency, not the length of the list. In input order, a worker may run
at most `window` targets ahead of the oldest unfinished one.
"""

from __future__ import annotations

import asyncio
import gc
import ssl
from collections.abc import Callable, Iterator

import httpx

from fetchcli import __version__
from fetchcli.attempt import ConsumerFactory
from fetchcli.config import Config, Order, Transport
from fetchcli.decode import ACCEPT_ENCODING
from fetchcli.feed import Feed, make_feed
from fetchcli.fetch import Fetcher, Log
from fetchcli.models import Result, Target
from fetchcli.order import Reorder

Emit = Callable[[Result], None]


def make_client(
    config: Config, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one client of a run, built from the frozen Config."""
    pool, timeouts, request = config.pool, config.timeouts, config.request
    limits = httpx.Limits(
        max_connections=pool.connections,
        max_keepalive_connections=pool.keepalive,
        keepalive_expiry=pool.keepalive_expiry,
    )
    if transport is None and pool.transport is Transport.AIOHTTP:
        from fetchcli.transport import AiohttpTransport  # aiohttp takes 0.1 s to import

        transport = AiohttpTransport(verify=_tls_verify(config), limits=limits, proxy=request.proxy)
    client = httpx.AsyncClient(
        limits=limits,
        timeout=httpx.Timeout(
            connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool
        ),
        http2=pool.http2,
        verify=_tls_verify(config),
        proxy=request.proxy,
        headers=default_headers(config),
        follow_redirects=False,  # fetch.py follows redirects itself, hop by hop
        transport=transport,
    )
    # One jar shared by unrelated URLs would leak cookies between them and grow without bound
    # on a long list; like curl, fetchcli keeps no cookies.
    client._cookies = _NoCookies()  # httpx is pinned below 0.29, where this is the one jar
    return client


class _NoCookies(httpx.Cookies):
    """Keeps no cookies, and skips the 0.1 ms per response httpx spends offering them to a jar
    (it builds urllib request/response stand-ins and an email.Message of the headers)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


def _tls_verify(config: Config) -> ssl.SSLContext | bool:
    if config.request.insecure:
        return False
    if config.request.cacert is not None:
        return ssl.create_default_context(cafile=str(config.request.cacert))
    return True


def default_headers(config: Config) -> httpx.Headers:
    """User-Agent and Accept-Encoding (-A sets the first), then every -H, which replaces a
    default of the same name; repeated -H names are all sent."""
    request = config.request
    defaults = {
        "user-agent": request.user_agent or f"fetchcli/{__version__}",
        "accept-encoding": ACCEPT_ENCODING,
    }
    if request.data is not None:
        defaults["content-type"] = "application/x-www-form-urlencoded"  # as curl -d does
    given = {name.lower() for name, _ in request.headers}
    kept = [(name, value) for name, value in defaults.items() if name not in given]
    return httpx.Headers(kept + list(request.headers))


async def run(
    targets: Iterator[Target],
    config: Config,
    emit: Emit,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    consumer_for: ConsumerFactory | None = None,
    log: Log | None = None,
    blocking_input: bool = False,
) -> None:
    """Fetch every target and `emit` each Result once, in the order `--order` asks for.

    `blocking_input` says the targets come from a pipe or terminal, read in a thread."""
    concurrency = config.pool.concurrency
    feed = make_feed(targets, bound=2 * concurrency + 16, blocking=blocking_input)
    ordered = config.output.order is Order.INPUT
    reorder: Reorder[Result] = Reorder(window=window_for(concurrency) if ordered else None)
    async with make_client(config, transport) as client:
        # Everything made so far (typer, rich, httpx, aiohttp, the client) lives for the whole
        # run: frozen, the cyclic GC stops rescanning it on every collection (10-15 % faster).
        gc.freeze()
        fetcher = Fetcher(client, config, consumer_for=consumer_for, log=log)
        try:
            async with asyncio.TaskGroup() as workers:
                for _ in range(concurrency):
                    workers.create_task(_work(feed, fetcher, reorder, emit))
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None  # a failing input or output, not a URL's error
        finally:
            feed.close()
            # On cancellation, results already complete are still written, in order.
            for result in reorder.drain():
                emit(result)


def window_for(concurrency: int) -> int:
    """How far past the oldest unfinished URL work may run in input order."""
    return max(64, 8 * concurrency)


async def _work(feed: Feed, fetcher: Fetcher, reorder: Reorder[Result], emit: Emit) -> None:
    while True:
        await reorder.reserve()
        target = await feed.next()
        if target is None:
            reorder.unreserve()
            return
        result = await fetcher.fetch(target)
        for ready in reorder.push(target.index, result):
            emit(ready)
