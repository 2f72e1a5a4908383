"""The process's standard streams and what kind of thing each one is, injectable for tests.

Defaults that depend on a terminal (table or jsonl, progress bar, reading stdin) are decided
from a Streams object, never from `sys` directly, so tests set them without a pty.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from typing import BinaryIO, TextIO


@dataclass(frozen=True, slots=True)
class Streams:
    stdin: BinaryIO
    stdout: BinaryIO
    stderr: TextIO
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    stdin_blocks: bool = False  # a pipe or terminal: read it in a thread, never on the loop
    width: int | None = None  # terminal columns for the table, when stdout is one

    @classmethod
    def from_sys(cls) -> Streams:
        stdout_isatty = sys.stdout.isatty()
        return cls(
            stdin=sys.stdin.buffer,
            stdout=sys.stdout.buffer,
            stderr=sys.stderr,
            stdin_isatty=sys.stdin.isatty(),
            stdout_isatty=stdout_isatty,
            stderr_isatty=sys.stderr.isatty(),
            stdin_blocks=_may_block(sys.stdin.fileno()),
            width=os.get_terminal_size(sys.stdout.fileno()).columns if stdout_isatty else None,
        )


def _may_block(fd: int) -> bool:
    try:
        return not stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False
