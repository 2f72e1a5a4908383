"""The run's open-file budget: what it needs, what the limit allows, the pool lowered to fit.
(Running out anyway, mid-run, is fetching/descriptors.py's to tell.)

A socket per connection (`--max-connections`), a temporary file per body being saved (one per
request in flight under `--save`), and a fixed part: the standard streams, the event loop, the
resolver's sockets, the spool store, the records file, the input file and a margin. When the
limit is short, the idle headroom of the pool goes first, then the concurrency.
"""

from __future__ import annotations

import contextlib
import dataclasses
import resource

from fetchcli.settings.model import Config

# stdio 3, event loop 3 (epoll and its wake-up pair), resolver 4, spool store 2, input file 1,
# records file 1, and a margin for libraries (certificate files, /dev/urandom, aiohttp's
# happy eyeballs trying a second address)
FIXED = 3 + 3 + 4 + 2 + 1 + 1 + 10


def open_file_limit() -> int:
    """Raise the soft limit to the hard one (it is often a low 1,024) and return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


def needed(config: Config) -> int:
    """Descriptors the run may hold at once."""
    saves = config.pool.concurrency if config.output.save is not None else 0
    return config.pool.connections + saves + FIXED


def fit(config: Config, limit: int) -> tuple[Config, str | None]:
    """The config lowered to fit `limit` descriptors, and a warning saying what was lowered
    (None when it fits as it is).

    >>> _, warning = fit(Config(), 48)
    >>> warning
    'the open-file limit is 48: using --max-connections 24 (raise it with ulimit -n)'
    """
    if needed(config) <= limit:
        return config, None
    pool = config.pool
    per_request = 2 if config.output.save is not None else 1  # a socket, a file being saved
    room = max(per_request, limit - FIXED)
    concurrency = min(pool.concurrency, room // per_request)
    connections = max(concurrency, room - (per_request - 1) * concurrency)
    keepalive = None if pool.max_keepalive is None else min(pool.max_keepalive, connections)
    lowered = dataclasses.replace(
        pool, concurrency=concurrency, max_connections=connections, max_keepalive=keepalive
    )
    used = f"--max-connections {connections}"
    if concurrency < pool.concurrency:
        used = f"--concurrency {concurrency} {used}"
    warning = f"the open-file limit is {limit}: using {used} (raise it with ulimit -n)"
    return dataclasses.replace(config, pool=lowered), warning
