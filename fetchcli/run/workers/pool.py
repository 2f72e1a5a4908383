"""`--workers N`: N forked processes fetch; this one (the parent) reads the input, sends each
Target to a worker and writes what comes back exactly as a one-process run would.

Which worker: the one its origin (scheme, host, port) hashes to among the live ones, so an
origin's connections and name lookups stay in one process. With `--per-host`, always: the
limit per origin is exact for the URLs of the list (a redirect to another origin is followed by
the worker that has the URL: there the limit holds per worker). Without it, when that worker
already has `--concurrency` URLs outstanding, the one with the fewest: one host's list uses
every core.
A 429/503 cooldown one worker hears is passed to all, and `--rate` is one clock in shared
memory. `--concurrency` and the pool limits are each worker's.

Records, order, bodies (-f body, --save), --state and signals stay in the parent: the engine's
dispatch runs here over `WorkerPool.fetch` as it runs over `Fetcher.fetch` in one process. A
worker that dies turns its unfinished URLs into records of kind `other`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import importlib
import multiprocessing
import os
import signal
import socket
from collections.abc import Iterator
from dataclasses import field, replace
from typing import Any
from urllib.parse import urlsplit

from fetchcli.consumer import (
    BodyConsumer,
    BodyHead,
    Conditional,
    ConsumerFactory,
    Log,
    write_failure,
)
from fetchcli.models import ErrorInfo, ErrorKind, Result, Target
from fetchcli.run.dispatch import Emit, dispatch
from fetchcli.run.reorder import Window
from fetchcli.run.workers.frames import Frame, Outbox, SharedParts, next_batch, result_from
from fetchcli.settings.model import Config
from fetchcli.slots import mutable

CHILD = "fetchcli.run.workers.child"  # what a worker runs (tests check the name resolves)
_STOPPING = {signal.SIGINT, signal.SIGTERM}
_BACKLOG = 256 * 1024  # bytes of URLs queued for a worker before fetch() waits for it
_REAP_WAIT = 5.0  # seconds a worker has to exit after its input ends, before SIGKILL


@mutable
class _Body:
    """A body a worker is streaming to this process's consumer."""

    consumer: BodyConsumer | None
    failure: Exception | None = None  # our write failed: the URL's error, as in one process
    saved_to: str | None = None


@mutable
class _Worker:
    """One forked worker process and its socket to the parent."""

    number: int
    pid: int
    sock: socket.socket
    writer: asyncio.StreamWriter | None = None
    outbox: Outbox | None = None
    sent: int = 0
    pending: dict[int, tuple[Target, asyncio.Future[Result]]] = field(default_factory=dict)
    bodies: dict[int, _Body] = field(default_factory=dict)
    death: str | None = None  # why it is gone, once it is
    exited: bool = False


class WorkerPool:
    """The worker processes of one run. Made (forked) before the parent's event loop starts."""

    def __init__(self, config: Config, *, bodies: bool, validators: bool) -> None:
        self._config = config
        self._by_origin = config.pool.per_host is not None
        context = multiprocessing.get_context("fork")
        rate_next = context.Value("d", 0.0) if config.pool.rate else None
        bytes_next = context.Value("d", 0.0) if config.pool.limit_rate else None
        self._shared = SharedParts(
            rate_next, bodies=bodies, validators=validators, bytes_next=bytes_next
        )
        self._workers: list[_Worker] = []

    def start(self) -> None:
        """Fork the workers; before the parent's event loop starts."""
        config, shared = self._config, self._shared
        # A Ctrl-C in the middle of a fork would be raised in an after-fork hook, which drops
        # it: held until every worker exists, then raised here (the child ignores it first).
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            for number in range(1, config.pool.workers + 1):
                ours, theirs = socket.socketpair()
                pid = os.fork()
                if pid == 0:  # the child: drop every parent end, then serve until told to stop
                    # httpx and the transports are the child's own: loaded by name after the
                    # fork, so that nothing in this process imports them
                    serve = importlib.import_module(CHILD).serve

                    ours.close()
                    for worker in self._workers:
                        worker.sock.close()
                    serve(theirs, config, number=number, shared=shared, unblock=held)
                theirs.close()
                self._workers.append(_Worker(number, pid, ours))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def kill(self) -> None:
        """Stop every worker at once, from outside the event loop (the run never started)."""
        for worker in self._workers:
            if worker.exited:  # reaped already: its pid may be another process's by now
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)
            worker.exited = True
            worker.sock.close()

    async def run(
        self,
        targets: Iterator[Target],
        emit: Emit,
        *,
        window: Window | None,
        consumer_for: ConsumerFactory | None,
        conditional: Conditional | None,
        log: Log | None,
        blocking_input: bool,
        on_finished: Emit | None,
    ) -> None:
        """As engine.run, with the fetching done by the workers."""
        gc.freeze()
        self._consumer_for, self._conditional, self._log = consumer_for, conditional, log
        listeners = []
        for worker in self._workers:
            reader, worker.writer = await asyncio.open_connection(sock=worker.sock)
            worker.outbox = Outbox(worker.writer.write)
            listeners.append(asyncio.create_task(self._listen(worker, reader)))
        stopping = True
        try:
            await dispatch(
                targets,
                self.fetch,
                emit,
                concurrency=self._config.pool.concurrency * len(self._workers),
                window=window,
                blocking_input=blocking_input,
                on_finished=on_finished,
            )
            stopping = False
        finally:
            await self._end(stopping)
            for listener in listeners:
                listener.cancel()

    async def fetch(self, target: Target) -> Result:
        if target.error is not None:
            return Result(target, error=target.error)
        worker = self._route(target)
        if worker.death is not None:
            return _lost(target, worker)
        assert worker.writer is not None and worker.outbox is not None
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        worker.pending[worker.sent] = (target, future)
        worker.sent += 1
        validators = self._conditional(target) if self._conditional is not None else None
        frame = ("T", target.url, target.source, target.line, validators, target.request)
        worker.outbox.send(frame)
        if worker.writer.transport.get_write_buffer_size() > _BACKLOG:
            with contextlib.suppress(ConnectionError):  # a dead worker: its listener answers
                await worker.writer.drain()
        return await future

    def _route(self, target: Target) -> _Worker:
        alive = [worker for worker in self._workers if worker.death is None]
        if not alive:
            return self._workers[0]
        home = alive[_origin_hash(target.url) % len(alive)]
        if self._by_origin:  # a dead worker's origins move on together, to one live worker
            return home
        if len(home.pending) < self._config.pool.concurrency:
            return home  # its connections and names are there already
        return min(alive, key=lambda worker: len(worker.pending))

    async def _listen(self, worker: _Worker, reader: asyncio.StreamReader) -> None:
        while (batch := await next_batch(reader)) is not None:
            for frame in batch:
                self._heard(worker, frame)
        if worker.pending or worker.bodies:
            worker.death = f"worker process {worker.number} stopped"  # routes avoid it now
            worker.death = await self._why_gone(worker)
            self._give_up(worker)
        else:
            worker.death = f"worker process {worker.number} has ended"

    def _heard(self, worker: _Worker, frame: Frame) -> None:
        kind = frame[0]
        if kind == "R":
            self._result(worker, frame[1], frame[2])
        elif kind == "B":
            self._body_starts(worker, *frame[1:])
        elif kind == "C":
            self._body_piece(worker.bodies.get(frame[1]), frame[2])
        elif kind == "F":
            self._body_ends(worker.bodies.get(frame[1]), frame[2])
        elif kind == "D":
            for other in self._workers:
                if other is not worker and other.death is None and other.outbox is not None:
                    other.outbox.send(frame)
        elif kind == "L" and self._log is not None:
            self._log(frame[1])

    def _result(self, worker: _Worker, number: int, fields: tuple[Any, ...]) -> None:
        target, future = worker.pending.pop(number)
        result = result_from(target, fields)
        body = worker.bodies.pop(number, None)
        if body is not None:
            if body.failure is not None:
                result = replace(result, error=write_failure(body.failure), saved_to=None)
            else:
                resumed = getattr(body.consumer, "resumed_from", None)  # --continue's
                result = replace(result, saved_to=body.saved_to, resumed_from=resumed)
        if not future.done():
            future.set_result(result)

    def _body_starts(
        self,
        worker: _Worker,
        number: int,
        status: int,
        content_type: str | None,
        disposition: str | None,
    ) -> None:
        target, _ = worker.pending[number]
        body = _Body(None)
        if self._consumer_for is not None:
            try:
                head = BodyHead(status, content_type, disposition)
                body.consumer = self._consumer_for(target, head)
            except Exception as exc:  # WriteFailed: --save could not make the file
                body.failure = exc
        worker.bodies[number] = body

    def _body_piece(self, body: _Body | None, chunk: bytes) -> None:
        if body is None or body.consumer is None:
            return
        try:
            body.consumer.feed(chunk)
        except Exception as exc:
            body.failure = exc
            self._body_ends(body, complete=False)

    def _body_ends(self, body: _Body | None, complete: bool) -> None:
        if body is None or body.consumer is None:
            return
        consumer, body.consumer = body.consumer, None
        try:
            body.saved_to = consumer.finish(complete and body.failure is None)
        except Exception as exc:
            body.failure = exc

    def _give_up(self, worker: _Worker) -> None:
        """A dead worker's URLs become records; its bodies stop where they were."""
        for body in worker.bodies.values():
            self._body_ends(body, complete=False)
        worker.bodies.clear()
        pending, worker.pending = worker.pending, {}
        for target, future in pending.values():
            if not future.done():
                future.set_result(_lost(target, worker))

    async def _why_gone(self, worker: _Worker) -> str:
        status = await self._reap(worker, wait=1.0)
        name = f"worker process {worker.number}"
        if status is None:
            return f"{name} stopped answering"
        if os.WIFSIGNALED(status):
            return f"{name} was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return f"{name} exited with status {os.waitstatus_to_exitcode(status)}"

    async def _end(self, stopping: bool) -> None:
        """Stop every worker: at once when the run is stopping, else once their input ends.
        No process outlives the run; bodies cut short leave no file behind."""
        for worker in self._workers:
            if stopping and not worker.exited:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
            elif worker.writer is not None and worker.outbox is not None:
                worker.outbox.flush()
                with contextlib.suppress(OSError):
                    worker.writer.write_eof()
        for worker in self._workers:
            if await self._reap(worker, wait=_REAP_WAIT) is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
                await self._reap(worker, wait=_REAP_WAIT)
            for body in worker.bodies.values():
                self._body_ends(body, complete=False)
            worker.bodies.clear()
            if worker.writer is not None:
                worker.writer.close()

    async def _reap(self, worker: _Worker, *, wait: float) -> int | None:
        """The worker's wait status once it has exited (within `wait` seconds), else None."""
        if worker.exited:
            return 0
        pause, waited = 0.001, 0.0
        while True:
            try:
                pid, status = os.waitpid(worker.pid, os.WNOHANG)
            except ChildProcessError:
                worker.exited = True
                return 0
            if pid:
                worker.exited = True
                return status
            if waited >= wait:
                return None
            await asyncio.sleep(pause)
            waited += pause
            pause = min(0.05, pause * 2)


def _lost(target: Target, worker: _Worker) -> Result:
    return Result(target, error=ErrorInfo(ErrorKind.OTHER, worker.death or "worker lost"))


def _origin_hash(url: str) -> int:
    """The same number for every URL of one origin (scheme, host, port)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    port = port or {"http": 80, "https": 443}.get(scheme)
    origin = f"{scheme}://{(parts.hostname or '').lower()}:{port}"
    return int.from_bytes(hashlib.blake2b(origin.encode(), digest_size=8).digest())
