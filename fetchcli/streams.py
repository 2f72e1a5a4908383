"""The process's standard streams and what kind of thing each one is, injectable for tests.

Defaults that depend on a terminal (table or jsonl, progress bar, colours, reading stdin) are
decided from a Streams object, never from `sys` or `os.environ` directly, so tests set them
without a pty.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from typing import BinaryIO, Protocol, TextIO

from fetchcli.slots import frozen


class LineInput(Protocol):
    """What a URL list is read from: a file, a BytesIO, or PipeReader for stdin."""

    def readline(self, size: int = -1, /) -> bytes: ...


class PipeReader:
    """readline() straight from a descriptor, with a buffer of its own.

    stdin from a pipe or terminal is read in a daemon thread that may be blocked in a read when
    the run ends. Inside sys.stdin.buffer it would hold that object's lock, and the interpreter,
    closing sys.stdin on the way out, would abort ("could not acquire lock ... at interpreter
    shutdown"). A bare os.read holds no lock.
    """

    def __init__(self, fd: int, chunk: int = 64 * 1024) -> None:
        self._fd = fd
        self._chunk = chunk
        self._buffer = bytearray()
        self._eof = False

    def readline(self, size: int = -1, /) -> bytes:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0 and (size < 0 or newline < size):
                return self._take(newline + 1)
            if 0 <= size <= len(self._buffer) or self._eof:
                return self._take(size if size >= 0 else len(self._buffer))
            chunk = os.read(self._fd, self._chunk)
            self._eof = not chunk
            self._buffer += chunk

    def _take(self, count: int) -> bytes:
        line = bytes(self._buffer[:count])
        del self._buffer[:count]
        return line


@frozen
class Streams:
    """The process's three streams and what is known of where they lead."""

    stdin: LineInput
    stdout: BinaryIO
    stderr: TextIO
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    stdin_blocks: bool = False  # a pipe or terminal: read it in a thread, never on the loop
    width: int | None = None  # columns for the table: the terminal's, or COLUMNS when piped
    same_terminal: bool = False  # stdout and stderr are one terminal: their lines interleave
    stdout_to_file: bool = False  # a regular file or /dev/null: none of it reaches a screen
    no_color: bool = False  # NO_COLOR is set and not empty (https://no-color.org)

    @classmethod
    def from_sys(cls) -> Streams:
        stdout_isatty = sys.stdout.isatty()
        if sys.stdin is None:  # started with stdin closed (`fetchcli <&-`)
            sys.stdin = open(os.devnull)  # noqa: SIM115 - the process's own stdin from now on
        stdin_blocks = _may_block(sys.stdin.fileno())
        return cls(
            stdin=PipeReader(sys.stdin.fileno()) if stdin_blocks else sys.stdin.buffer,
            stdout=sys.stdout.buffer,
            stderr=sys.stderr,
            stdin_isatty=sys.stdin.isatty(),
            stdout_isatty=stdout_isatty,
            stderr_isatty=sys.stderr.isatty(),
            stdin_blocks=stdin_blocks,
            width=_columns(sys.stdout.fileno() if stdout_isatty else None, os.environ),
            same_terminal=stdout_isatty and sys.stderr.isatty() and _same_device(1, 2),
            stdout_to_file=_reaches_no_screen(sys.stdout.fileno()),
            no_color=_no_color(os.environ),
        )


def _may_block(fd: int) -> bool:
    try:
        return not stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


def _columns(terminal: int | None, environ: Mapping[str, str]) -> int | None:
    """The table's width: the terminal's, else COLUMNS if it is a number, else None.

    >>> _columns(None, {"COLUMNS": "80"}), _columns(None, {"COLUMNS": "wide"}), _columns(None, {})
    (80, None, None)
    """
    if terminal is not None:
        try:
            return os.get_terminal_size(terminal).columns
        except OSError:
            pass
    text = environ.get("COLUMNS", "")
    return int(text) if text.isdigit() and int(text) > 0 else None


def _same_device(first: int, second: int) -> bool:
    try:
        return os.fstat(first).st_rdev == os.fstat(second).st_rdev
    except OSError:
        return False


def _reaches_no_screen(fd: int) -> bool:
    """A regular file or /dev/null: what is written there is seen by no one at a terminal (a
    pipe's reader may well write to one)."""
    try:
        mode = os.fstat(fd)
        if stat.S_ISREG(mode.st_mode):
            return True
        return stat.S_ISCHR(mode.st_mode) and mode.st_rdev == os.stat(os.devnull).st_rdev
    except OSError:
        return False


def _no_color(environ: Mapping[str, str]) -> bool:
    """NO_COLOR present and not empty turns colours off, whatever its value.

    >>> _no_color({"NO_COLOR": "1"}), _no_color({"NO_COLOR": ""}), _no_color({})
    (True, False, False)
    """
    return environ.get("NO_COLOR", "") != ""
