"""Bodies held back for their turn on stdout: in memory while a shared budget allows, then in
one store on disk shared by every spool, so a thousand waiting bodies need two descriptors, not
a thousand.

The store is two unnamed temporary files (gone on every exit path, even a crash) used in turn:
pieces are appended to the current one; once it has grown past `rotate_at` and the other holds
nothing still waiting, the other is emptied and becomes current. A file is also emptied as soon
as nothing in it waits, so the disk holds about what waits, not what has passed through.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import field
from typing import IO

from fetchcli.consumer import WriteFailed
from fetchcli.slots import mutable

MEMORY_BUDGET = 2 * 1024 * 1024  # all spools together; past it they go to the store on disk
ROTATE_AT = 64 * 1024 * 1024  # bytes in the current file before the other one is used
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


@mutable(eq=False)
class _File:
    """One temporary file that spooled pieces share."""

    handle: IO[bytes] | None = None
    end: int = 0
    users: int = 0  # spools with pieces still waiting in this file

    def append(self, data: bytes | bytearray) -> int:
        if self.handle is None:
            import tempfile  # only when a body waits on disk: not at every start

            self.handle = tempfile.TemporaryFile(prefix="fetchcli-")  # noqa: SIM115 - kept open
        offset = self.end
        os.pwrite(self.handle.fileno(), data, offset)
        self.end += len(data)
        return offset

    def empty(self) -> None:
        if self.handle is not None and self.end:
            self.handle.truncate(0)
        self.end = 0


class SpoolStore:
    """The shared files on disk; see the module docstring."""

    def __init__(self, rotate_at: int = ROTATE_AT) -> None:
        self._files = (_File(), _File())
        self._current = 0
        self._rotate_at = rotate_at

    @property
    def descriptors(self) -> int:
        """Open files, for tests and the descriptor budget (at most two)."""
        return sum(file.handle is not None for file in self._files)

    @property
    def size(self) -> int:
        return sum(file.end for file in self._files)

    def append(self, data: bytes | bytearray) -> tuple[_File, int]:
        """Store `data`; returns where it went (the file and the offset)."""
        file = self._files[self._current]
        other = self._files[1 - self._current]
        if file.end >= self._rotate_at and not other.users:
            other.empty()
            self._current = 1 - self._current
            file = other
        return file, file.append(data)

    def read(self, file: _File, offset: int, length: int, write: Callable[[bytes], None]) -> None:
        assert file.handle is not None
        end = offset + length
        while offset < end:
            chunk = os.pread(file.handle.fileno(), min(_COPY_CHUNK, end - offset), offset)
            if not chunk:
                raise OSError("spool file ended early")
            write(chunk)
            offset += len(chunk)

    def release(self, file: _File) -> None:
        """One spool no longer waits in `file`; an unused file gives its space back."""
        file.users -= 1
        if not file.users:
            file.empty()

    def close(self) -> None:
        for file in self._files:
            if file.handle is not None:
                file.handle.close()
                file.handle = None
            file.end = 0


@mutable
class Spool:
    """One body held back until its turn: a prefix in memory, the rest as pieces in the store."""

    budget: MemoryBudget
    store: SpoolStore
    _memory: bytearray = field(default_factory=bytearray)
    _pieces: list[tuple[_File, int, int]] = field(default_factory=list)  # file, offset, length
    _files: set[_File] = field(default_factory=set)  # files this spool has pieces in

    def write(self, chunk: bytes) -> None:
        if not self._pieces and self.budget.take(len(chunk)):
            self._memory += chunk
            return
        try:
            if self._memory:  # spilling: the memory part moves to disk first, to keep order
                self._append(self._memory)
                self._release_memory()
            self._append(chunk)
        except OSError as exc:
            raise WriteFailed(
                f"cannot spool body to a temporary file: {exc.strerror or exc}"
            ) from exc

    def drain(self, write: Callable[[bytes], None]) -> None:
        """Hand everything held to `write`, in order, then let it all go."""
        try:
            if self._memory:
                write(memoryview(self._memory))  # type: ignore[arg-type]  # bytes-like is enough
            for file, offset, length in self._pieces:
                self.store.read(file, offset, length, write)
        finally:
            self.close()

    def close(self) -> None:
        self._release_memory()
        self._pieces.clear()
        for file in self._files:
            self.store.release(file)
        self._files.clear()

    def _append(self, data: bytes | bytearray) -> None:
        file, offset = self.store.append(data)
        if file not in self._files:
            self._files.add(file)
            file.users += 1
        last = self._pieces[-1] if self._pieces else None
        if last is not None and last[0] is file and last[1] + last[2] == offset:
            self._pieces[-1] = (file, last[1], last[2] + len(data))  # contiguous: one piece
        else:
            self._pieces.append((file, offset, len(data)))

    def _release_memory(self) -> None:
        self.budget.give(len(self._memory))
        self._memory = bytearray()
