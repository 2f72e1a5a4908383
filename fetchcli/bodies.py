"""`-f body`: whole bodies on stdout, one after another, never interleaved.

One body at a time owns stdout and streams to it live as it arrives. Every other body spools:
in memory while a budget shared by all spools allows, then in an unnamed temporary file (gone
on every exit path, even a crash), and is written whole when its turn comes. In input order
the owner is the body at the head of the input; in completion order, the first to start.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO, BinaryIO

from fetchcli.body import WriteFailed
from fetchcli.models import Result, Target

MEMORY_BUDGET = 2 * 1024 * 1024  # all spools together; past it they go to temporary files
_COPY_CHUNK = 64 * 1024


class MemoryBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        self.used -= size


class Spool:
    """A body held back until its turn."""

    def __init__(self, budget: MemoryBudget) -> None:
        self._budget = budget
        self._memory = bytearray()
        self._file: IO[bytes] | None = None

    def write(self, chunk: bytes) -> None:
        if self._file is None and self._budget.take(len(chunk)):
            self._memory += chunk
            return
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="fetchcli-")  # noqa: SIM115 - lives past this call
                self._file.write(self._memory)
                self._release_memory()
            self._file.write(chunk)
        except OSError as exc:
            raise WriteFailed(
                f"cannot spool body to a temporary file: {exc.strerror or exc}"
            ) from exc

    def drain(self, write: Callable[[bytes], None]) -> None:
        """Hand everything held to `write`, in order, then let it all go."""
        if self._memory:
            write(memoryview(self._memory))  # type: ignore[arg-type]  # bytes-like is enough
        if self._file is not None:
            self._file.seek(0)
            while chunk := self._file.read(_COPY_CHUNK):
                write(chunk)
        self.close()

    def close(self) -> None:
        self._release_memory()
        if self._file is not None:
            self._file.close()
            self._file = None

    def _release_memory(self) -> None:
        self._budget.give(len(self._memory))
        self._memory = bytearray()


class BodyWriter:
    """The BodyConsumer of one URL: live to stdout when it owns it, else into its spool."""

    def __init__(self, sink: BodySink, index: int) -> None:
        self.index = index
        self.spool = Spool(sink.budget)
        self.live = False
        self._sink = sink

    def feed(self, chunk: bytes) -> None:
        if self.live:
            self._sink.out(chunk)
        else:
            self.spool.write(chunk)

    def finish(self, complete: bool) -> str | None:
        return None  # what was received stays; the record says whether it was complete


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

    def write(self, result: Result) -> None:
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
