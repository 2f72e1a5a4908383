"""Many URLs in one process: one httpx.AsyncClient and a Fetcher under run/dispatch.py's
bounded fan-out (which --workers runs over worker processes instead)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx

from fetchcli.consumer import BodyMeter, Conditional, ConsumerFactory, Log
from fetchcli.fetching.attempt import Keep
from fetchcli.fetching.fetcher import Fetcher, default_headers
from fetchcli.http.client import make_client
from fetchcli.models import Target
from fetchcli.run.dispatch import Emit, dispatch
from fetchcli.run.reorder import Window
from fetchcli.settings.model import Config


async def run(
    targets: Iterator[Target],
    config: Config,
    emit: Emit,
    *,
    window: Window | None,
    transport: httpx.AsyncBaseTransport | None = None,
    consumer_for: ConsumerFactory | None = None,
    log: Log | None = None,
    meter: BodyMeter | None = None,
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
    async with make_client(config, transport, headers=default_headers(config)) as client:
        if freeze:
            # Everything made so far (typer, rich, httpx, aiohttp, the client) lives for the
            # whole run: frozen, the cyclic GC stops rescanning it on every collection (10-15 %
            # faster).
            gc.freeze()
        fetcher = Fetcher(
            client,
            config,
            consumer_for=consumer_for,
            conditional=conditional,
            keep=keep_for(config, digest=config.run.state is not None),
            log=log,
            meter=meter,
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


def keep_for(config: Config, *, digest: bool) -> Keep:
    """What the fetching layer keeps of each response, from the output's settings."""
    output = config.output
    return Keep(
        snippet=output.snippet,
        max_size=output.max_size,
        headers=output.include_headers,
        digest=digest,
    )
