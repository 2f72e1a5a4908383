"""One worker process of `--workers N`: its own event loop and its one httpx.AsyncClient,
fetching the Targets its parent sends and sending back Results (and bodies, when the parent
writes or saves them).

The parent owns everything a user sees or keeps: input, order, sinks, --save, --state, signals.
A worker ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group; the parent
decides) and ends when its parent closes the socket, kills it, or dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.sharedctypes import Synchronized
from typing import BinaryIO

from fetchcli.consumer import BodyConsumer, BodyHead, Conditional, ConsumerFactory
from fetchcli.fetching.fetcher import Fetcher, default_headers
from fetchcli.fetching.politeness import Clock, HostGate, Origin, RateLimiter, Sleep
from fetchcli.http.client import make_client
from fetchcli.models import Result, Target
from fetchcli.run.dispatch import dispatch
from fetchcli.run.engine import keep_for
from fetchcli.run.workers.frames import Outbox, SharedParts, read_batch, result_fields
from fetchcli.settings.model import Config

_PR_SET_PDEATHSIG = 1
EXIT_BROKEN = 70  # the worker failed in itself (a bug); the parent reports its URLs


def serve(
    sock: socket.socket,
    config: Config,
    *,
    number: int,
    shared: SharedParts,
    unblock: Iterable[int],
) -> None:
    """The child's whole life after fork(); never returns. `unblock` is the signal mask to
    restore once SIGINT and SIGTERM are ignored (the parent blocks them while it forks)."""
    status = 0
    try:
        _detach()
        signal.pthread_sigmask(signal.SIG_SETMASK, unblock)
        asyncio.run(_serve(sock, config, shared))
    except (BrokenPipeError, ConnectionError):
        pass  # the parent went away: nobody is left to tell
    except BaseException as exc:  # a bug: one line, and the parent turns our URLs into records
        with contextlib.suppress(Exception):
            sys.stderr.write(f"fetchcli: worker {number}: {type(exc).__name__}: {exc}\n")
            sys.stderr.flush()
        status = EXIT_BROKEN
    os._exit(status)  # no atexit handlers, no flushing of the parent's buffers copied by fork


def _detach() -> None:
    """Leave signals to the parent, read nothing of its stdin, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    with contextlib.suppress(Exception):  # Linux only; elsewhere a closed socket ends us
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


async def _serve(sock: socket.socket, config: Config, shared: SharedParts) -> None:
    loop = asyncio.get_running_loop()
    out = Outbox(_blocking_writer(sock))
    validators: dict[int, dict[str, str]] = {}
    gate = SharedGate(config.pool.per_host, tell=lambda o, s: out.send(("D", o, s)))
    rate = SharedRate(config.pool.rate, shared.rate_next) if shared.rate_next else None
    bandwidth = None
    if shared.bytes_next is not None:  # --limit-rate: one cap for every worker together
        bandwidth = SharedRate(config.pool.limit_rate, shared.bytes_next)
    targets = _incoming(
        sock.makefile("rb"),
        validators,
        heard=lambda origin, seconds: loop.call_soon_threadsafe(gate.heard, origin, seconds),
    )

    def emit(result: Result) -> None:
        validators.pop(result.target.index, None)
        out.send(("R", result.target.index, result_fields(result)))

    conditional: Conditional | None = None
    if shared.validators:
        conditional = lambda target: validators.get(target.index, {})  # noqa: E731
    async with make_client(config, headers=default_headers(config)) as client:
        gc.freeze()  # as engine.run does: what exists now lives as long as the worker
        fetcher = Fetcher(
            client,
            config,
            consumer_for=_remote_bodies(out) if shared.bodies else None,
            conditional=conditional,
            keep=keep_for(config, digest=config.run.state is not None),
            log=(lambda line: out.send(("L", line))) if config.output.verbose else None,
            gate=gate,
            rate=rate,
            bandwidth=bandwidth,
        )
        await dispatch(
            targets,
            fetcher.fetch,
            emit,
            concurrency=config.pool.concurrency,
            window=None,
            blocking_input=True,  # read in a thread: the socket blocks
        )
    out.flush()


def _blocking_writer(sock: socket.socket) -> Callable[[bytes], None]:
    """Writes that block while the parent is behind, as one process waits for its stdout."""

    def write(data: bytes) -> None:
        try:
            sock.sendall(data)
        except OSError:
            os._exit(0)  # the parent is gone: nobody is left to tell

    return write


def _incoming(
    stream: BinaryIO,
    validators: dict[int, dict[str, str]],
    heard: Callable[[Origin, float], object],
) -> Iterator[Target]:
    """The targets the parent sends, numbered as the engine's feed numbers them."""
    sent = 0
    while (batch := read_batch(stream)) is not None:
        for frame in batch:
            if frame[0] == "T":
                _, url, source, line, headers, request = frame
                if headers:
                    validators[sent] = headers
                yield Target(url, source, line, index=sent, request=request)
                sent += 1
            elif frame[0] == "D":
                heard(frame[1], frame[2])


def _remote_bodies(out: Outbox) -> ConsumerFactory:
    def open_body(target: Target, head: BodyHead) -> BodyConsumer:
        return _RemoteBody(out, target.index, head)

    return open_body


class _RemoteBody:
    """A body consumer in the parent, fed across the socket."""

    def __init__(self, out: Outbox, number: int, head: BodyHead) -> None:
        self._out = out
        self._number = number
        out.send(("B", number, head.status, head.content_type, head.disposition))

    def feed(self, chunk: bytes) -> None:
        self._out.send(("C", self._number, chunk))

    def finish(self, complete: bool) -> str | None:
        self._out.send(("F", self._number, complete))
        return None  # the parent knows where it saved the body


class SharedGate(HostGate):
    """The per-origin gate, whose cooldowns every worker hears of through the parent."""

    def __init__(
        self,
        per_host: int | None,
        *,
        tell: Callable[[Origin, float], None],
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(per_host, clock=clock, sleep=sleep)
        self._tell = tell

    def cool_down(self, origin: Origin, seconds: float) -> None:
        super().cool_down(origin, seconds)
        self._tell(origin, seconds)

    def heard(self, origin: Origin, seconds: float) -> None:
        """Another worker's cooldown: kept here, not told again."""
        super().cool_down(origin, seconds)


class SharedRate(RateLimiter):
    """--rate across processes: the next free start time lives in shared memory, taken under
    its lock (CLOCK_MONOTONIC is one clock for every process on the machine)."""

    def __init__(
        self,
        rate: float | None,
        next_start: Synchronized[float],
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(rate, clock=clock, sleep=sleep)
        self._shared = next_start

    def _reserve(self, now: float, cost: float) -> float:
        with self._shared.get_lock():
            start = max(now, self._shared.value)
            self._shared.value = start + cost
        return start
