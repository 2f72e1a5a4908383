"""Many URLs: a fixed set of worker coroutines, results handed out in order.

Fan-out is `concurrency` coroutines pulling from a lazy feed, never a task per URL: memory
follows the concurrency, not the length of the list. In input order, finished results wait
behind the oldest unfinished one up to a bounded `Window`. What fetches is given (`Fetcher.fetch`
in one process, `WorkerPool.fetch` across processes): nothing here knows httpx, so the parent of
`--workers` never imports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

from fetchcli.models import Result, Target
from fetchcli.run.feed import Feed, make_feed
from fetchcli.run.reorder import Reorder, Window

Emit = Callable[[Result], None]
Fetch = Callable[[Target], Awaitable[Result]]


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
