"""`--state FILE`: what each URL was last time, kept between runs in SQLite (the standard
library's), so that a run can ask the server "has it changed?" and say what did.

Per URL (after the default scheme): the ETag, Last-Modified, a SHA-256 of the decoded body, the
final status and when it was fetched. Looked up one URL at a time (a million URLs cost an index,
not memory); written in batches inside transactions, so a crash or kill -9 loses at most the last
batch and never leaves the file unusable (SQLite's write-ahead log). A run holds the file
exclusively: a second run on it (cron starting the next before the last ended) is told so at
once instead of mixing its answers in.
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
_LOCK_WAIT = 1.0  # seconds to wait for a file another run holds


class StateError(Exception):
    """The state file cannot be used: its message says why, in plain words."""


@dataclass(frozen=True, slots=True)
class Stored:
    etag: str | None
    last_modified: str | None
    sha256: str | None
    status: int | None


class StateStore:
    """The state file of one run. Not thread-safe: the event loop's thread uses it."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._pending = 0
        self._last_commit = clock()
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=_LOCK_WAIT)
        except sqlite3.Error as exc:
            raise StateError(_plain(exc)) from None
        try:
            # Before anything else touches the file: its locks are then kept until close.
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._db.close()
            raise StateError(_plain(exc)) from None

    def get(self, url: str) -> Stored | None:
        try:
            row = self._db.execute(
                "SELECT etag, last_modified, sha256, status FROM urls WHERE url = ?", (url,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise StateError(_plain(exc)) from None
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
        """Commit what is pending and let go of the file."""
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StateError(_plain(exc)) from None
        finally:
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
        now = self._clock()
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO urls VALUES (?, ?, ?, ?, ?, ?)", (url, *values, now)
            )
            self._pending += 1
            if self._pending >= BATCH or now - self._last_commit >= BATCH_SECONDS:
                self._commit(now)
        except sqlite3.Error as exc:
            raise StateError(_plain(exc)) from None

    def tick(self) -> None:
        """Commit what is pending once it is BATCH_SECONDS old, also when no URL finishes
        (the rest of a list hanging): the runner calls this every second."""
        now = self._clock()
        if self._pending and now - self._last_commit >= BATCH_SECONDS:
            try:
                self._commit(now)
            except sqlite3.Error as exc:
                raise StateError(_plain(exc)) from None

    def _commit(self, now: float) -> None:
        self._db.execute("COMMIT")
        self._db.execute("BEGIN IMMEDIATE")
        self._pending, self._last_commit = 0, now


def _plain(exc: sqlite3.Error) -> str:
    """SQLite's message, or what it means for a state file when that is clearer."""
    message = str(exc)
    if message == "database is locked":
        return "in use by another fetchcli run"
    if message == "file is not a database":
        return "not a fetchcli state file (not an SQLite database)"
    return message
