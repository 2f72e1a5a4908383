"""`--state FILE`: what each URL was last time, kept between runs in SQLite (the standard
library's), so that a run can ask the server "has it changed?" and say what did.

Per URL (after the default scheme): the ETag, Last-Modified, a SHA-256 of the decoded body, the
final status and when it was fetched. Looked up one URL at a time (a million URLs cost an index,
not memory); written in batches inside transactions, so a crash or Ctrl-C loses at most the last
batch and never leaves the file unusable (SQLite's write-ahead log).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fetchcli.models import Result

_SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    sha256 TEXT,
    status INTEGER,
    fetched REAL
) WITHOUT ROWID
"""
BATCH = 500  # updates per transaction
BATCH_SECONDS = 2.0  # and at most this long between commits


@dataclass(frozen=True, slots=True)
class Stored:
    etag: str | None
    last_modified: str | None
    sha256: str | None
    status: int | None


class StateStore:
    """The state file of one run. Not thread-safe: the event loop's thread uses it."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._clock = clock
        self._pending = 0
        self._last_commit = clock()
        self._db.execute("BEGIN")

    def get(self, url: str) -> Stored | None:
        row = self._db.execute(
            "SELECT etag, last_modified, sha256, status FROM urls WHERE url = ?", (url,)
        ).fetchone()
        return None if row is None else Stored(*row)

    def validators(self, url: str) -> dict[str, str]:
        """The conditional headers to send for `url`: what its last response said."""
        stored = self.get(url)
        headers: dict[str, str] = {}
        if stored is not None and stored.etag:
            headers["If-None-Match"] = stored.etag
        if stored is not None and stored.last_modified:
            headers["If-Modified-Since"] = stored.last_modified
        return headers

    def observe(self, result: Result) -> bool | None:
        """Whether `result` changed since the stored state (None: it failed, and the state is
        left as it was), and the state brought up to date."""
        if result.error is not None:
            return None
        url = result.target.url
        stored = self.get(url)
        if result.status == 304:  # not modified: keep what is known, note when it was asked
            self._write(url, stored, result, unchanged=True)
            return False
        changed = stored is None or stored.sha256 != result.sha256 or stored.status != result.status
        self._write(url, stored, result, unchanged=False)
        return changed

    def close(self) -> None:
        self._db.execute("COMMIT")
        self._db.close()

    def _write(self, url: str, stored: Stored | None, result: Result, *, unchanged: bool) -> None:
        if unchanged and stored is not None:
            values = (
                result.etag or stored.etag,
                result.last_modified or stored.last_modified,
                stored.sha256,
                stored.status,
            )
        else:
            values = (result.etag, result.last_modified, result.sha256, result.status)
        self._db.execute(
            "INSERT OR REPLACE INTO urls VALUES (?, ?, ?, ?, ?, ?)", (url, *values, self._clock())
        )
        self._pending += 1
        now = self._clock()
        if self._pending >= BATCH or now - self._last_commit >= BATCH_SECONDS:
            self._db.execute("COMMIT")
            self._db.execute("BEGIN")
            self._pending, self._last_commit = 0, now
