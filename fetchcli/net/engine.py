"""Many URLs: one httpx.AsyncClient, a fixed set of workers, results handed out in order.

Fan-out is `--concurrency` worker coroutines pulling from a lazy feed, never a task per URL:
memory follows the concurrency, not the length of the list. In input order, finished results
wait behind the oldest unfinished one up to a bounded `Window`.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator

import httpx

from fetchcli.config import Config
from fetchcli.consumer import ConsumerFactory
from fetchcli.input.feed import Feed, make_feed
from fetchcli.models import Result, Target
from fetchcli.net.attempt import Conditional
from fetchcli.net.client import make_client
from fetchcli.net.fetch import Fetcher, Log
from fetchcli.net.order import Reorder, Window

Emit = Callable[[Result], None]
Fetch = Callable[[Target], Awaitable[Result]]


async def run(
    targets: Iterator[Target],
    config: Config,
    emit: Emit,
    *,
    window: Window | None,
    transport: httpx.AsyncBaseTransport | None = None,
    consumer_for: ConsumerFactory | None = None,
    log: Log | None = None,
    blocking_input: bool = False,
    on_finished: Emit | None = None,
    conditional: Conditional | None = None,
    freeze: bool = True,
) -> None:
    """Fetch every target over one client made from `config` and `emit` each Result once: in
    input order within `window`, or as they finish when it is None.

    `blocking_input` says the targets come from a pipe or terminal, read in a thread;
    `on_finished` hears of each Result as soon as it is made, before any waiting for order;
    `freeze` lets the cyclic GC skip what exists at the start (a command-line run's whole
    process; a library caller's process is not ours to freeze)."""
    async with make_client(config, transport) as client:
        if freeze:
            # Everything made so far (typer, rich, httpx, aiohttp, the client) lives for the
            # whole run: frozen, the cyclic GC stops rescanning it on every collection (10-15 %
            # faster).
            gc.freeze()
        fetcher = Fetcher(
            client, config, consumer_for=consumer_for, conditional=conditional, log=log
        )
        await dispatch(
            targets,
            fetcher.fetch,
            emit,
            concurrency=config.pool.concurrency,
            window=window,
            blocking_input=blocking_input,
            on_finished=on_finished,
        )


async def dispatch(
    targets: Iterator[Target],
    fetch: Fetch,
    emit: Emit,
    *,
    concurrency: int,
    window: Window | None,
    blocking_input: bool = False,
    on_finished: Emit | None = None,
) -> None:
    """`concurrency` coroutines pull numbered targets from a lazy feed and `fetch` each; the
    Results are emitted once each, in input order within `window` (or as they finish)."""
    feed = make_feed(targets, bound=2 * concurrency + 16, blocking=blocking_input)
    reorder: Reorder[Result] = Reorder(window, size_of=held_size)
    try:
        async with asyncio.TaskGroup() as workers:
            for _ in range(concurrency):
                workers.create_task(_work(feed, fetch, reorder, emit, on_finished))
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None  # a failing input or output, not a URL's error
    finally:
        feed.close()
        # On cancellation, results already complete are still written, in order.
        for result in reorder.drain():
            emit(result)


def held_size(result: Result) -> int:
    """About what a Result held back for input order costs in memory, in bytes."""
    texts = (result.final_url, result.reason, result.content_type, result.snippet)
    size = 640 + len(result.target.url) + sum(len(text) for text in texts if text)
    if result.error is not None:
        size += len(result.error.message)
    if result.headers is not None:
        size += sum(100 + len(name) + len(value) for name, value in result.headers)
    return size


async def _work(
    feed: Feed, fetch: Fetch, reorder: Reorder[Result], emit: Emit, on_finished: Emit | None
) -> None:
    while True:
        await reorder.reserve()
        target = await feed.next()
        if target is None:
            reorder.unreserve()
            return
        result = await fetch(target)
        if on_finished is not None:
            on_finished(result)
        for ready in reorder.push(target.index, result):
            emit(ready)
