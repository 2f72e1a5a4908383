"""A Line: one URL or request as read, before the filters (input/filters.py) keep or drop it and
it becomes its Target."""

from __future__ import annotations

from typing import NamedTuple

from fetchcli.models import ErrorInfo, RowRequest


class Line(NamedTuple):
    """A URL as read, before the filters: where it came from, why it is not one if so, and
    what its row asked for when it came from data."""

    url: str
    source: str
    line: int | None
    error: ErrorInfo | None = None
    request: RowRequest | None = None
