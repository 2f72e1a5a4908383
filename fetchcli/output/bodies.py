"""`-f body`: whole bodies on stdout, one after another, never interleaved.

One body at a time owns stdout and streams to it live as it arrives. Every other body spools
(see spool.py: memory, then a store on disk shared by all spools) and is written whole when its
turn comes. In input order the owner is the body at the head of the input; in completion order,
the first to start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from fetchcli.consumer import BodyConsumer
from fetchcli.mime import is_textual
from fetchcli.models import Record, Result, Target
from fetchcli.output.spool import MEMORY_BUDGET, MemoryBudget, Spool, SpoolStore


class BodyWriter:
    """The BodyConsumer of one URL: live to stdout when it owns it, else into its spool."""

    def __init__(self, sink: BodySink, index: int) -> None:
        self.index = index
        self.spool = Spool(sink.budget, sink.store)
        self.live = False
        self._sink = sink

    def feed(self, chunk: bytes) -> None:
        if self.live:
            self._sink.out(chunk)
        else:
            self.spool.write(chunk)

    def finish(self, complete: bool) -> str | None:
        return None  # what was received stays; the record says whether it was complete


class BinaryWithheld:
    """At a terminal, a binary body is not written, as curl refuses to: raw bytes would garble
    the screen. `notice` says once which URL was held back. Text passes through whole."""

    def __init__(self, inner: BodyConsumer, content_type: str | None, notice: Callable[[], None]):
        self._inner = inner
        self._content_type = content_type
        self._notice = notice
        self._textual: bool | None = is_textual(content_type, b"") if content_type else None
        if self._textual is False:
            notice()

    def feed(self, chunk: bytes) -> None:
        if self._textual is None:  # no type: the first bytes say (a NUL means binary)
            self._textual = is_textual(None, chunk[:512])
            if not self._textual:
                self._notice()
        if self._textual:
            self._inner.feed(chunk)

    def finish(self, complete: bool) -> str | None:
        return self._inner.finish(complete)


class BodySink:
    """The Sink for `-f body`; `open()` is the per-URL body consumer factory."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        separator: bytes,
        ordered: bool,
        on_closed: Callable[[], None],
        memory_budget: int = MEMORY_BUDGET,
    ) -> None:
        self.budget = MemoryBudget(memory_budget)
        self.store = SpoolStore()
        self._stream = stream
        self._separator = separator
        self._ordered = ordered
        self._on_closed = on_closed
        self._writers: dict[int, BodyWriter] = {}  # started, not yet written out; by start
        self._finished: list[BodyWriter] = []  # completion order: done, waiting for stdout
        self._owner: BodyWriter | None = None
        self._next_index = 0  # input order: whose turn it is
        self._bodies_written = 0
        self._closed = False

    def open(self, target: Target) -> BodyWriter:
        writer = BodyWriter(self, target.index)
        self._writers[target.index] = writer
        if self._owner is None and self._is_next(writer):
            self._promote(writer)
        return writer

    def write(self, result: Result, record: Record) -> None:
        """The URL is finished: its body is complete (or there was none)."""
        writer = self._writers.pop(result.target.index, None)
        if writer is self._owner:
            self._owner = None
        elif writer is not None and self._ordered:
            self._write_whole(writer)
        elif writer is not None:
            self._finished.append(writer)
        if self._ordered:
            self._next_index = result.target.index + 1
        self._pump()

    def close(self) -> None:
        for writer in [*self._writers.values(), *self._finished]:
            writer.spool.close()
        self._writers.clear()
        self._finished.clear()
        self.store.close()
        if not self._closed:
            self._stream.flush()

    def out(self, chunk: bytes) -> None:
        if self._closed:
            return
        try:
            self._stream.write(chunk)
            self._stream.flush()  # the reader gets a live body as it arrives
        except BrokenPipeError:
            self._closed = True
            self._on_closed()

    def _is_next(self, writer: BodyWriter) -> bool:
        if self._ordered:
            return writer.index == self._next_index
        return not self._finished

    def _pump(self) -> None:
        while self._owner is None and self._finished:
            self._write_whole(self._finished.pop(0))
        if self._owner is not None:
            return
        candidate = (
            self._writers.get(self._next_index)
            if self._ordered
            else next(iter(self._writers.values()), None)
        )
        if candidate is not None:
            self._promote(candidate)

    def _promote(self, writer: BodyWriter) -> None:
        """Give stdout to a body: what it spooled so far goes first, the rest streams live."""
        self._begin_body()
        writer.spool.drain(self.out)
        writer.live = True
        self._owner = writer

    def _write_whole(self, writer: BodyWriter) -> None:
        self._begin_body()
        writer.spool.drain(self.out)

    def _begin_body(self) -> None:
        if self._bodies_written and self._separator:
            self.out(self._separator)
        self._bodies_written += 1
