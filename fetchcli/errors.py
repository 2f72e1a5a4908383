"""Exit statuses and the error a user can cause; kept free of httpx so start-up stays fast."""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    SIGINT = 130
    SIGTERM = 143


class UsageError(Exception):
    """A mistake the user can fix: one line on stderr, exit 2, nothing fetched."""


def cannot_read(path: object, exc: OSError, option: str | None = None) -> UsageError:
    """`cannot read 'PATH': reason`, after the option it was given to (a SOURCE has none)."""
    prefix = f"{option}: " if option else ""
    return UsageError(f"{prefix}cannot read '{path}': {exc.strerror or exc}")


def cannot_write(path: object, exc: OSError, option: str) -> UsageError:
    return UsageError(f"{option}: cannot write to '{path}': {exc.strerror or exc}")


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes/contexts, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class StateError(Exception):
    """The --state file cannot be used: its message says why, in plain words. (Here, not in
    state.py, so that a run without --state never imports sqlite3.)"""
