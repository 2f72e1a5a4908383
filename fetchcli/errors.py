"""Exit statuses and the error a user can cause; kept free of httpx so start-up stays fast."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    SIGINT = 130
    SIGTERM = 143


class UsageError(Exception):
    """A mistake the user can fix: one line on stderr, exit 2, nothing fetched."""
