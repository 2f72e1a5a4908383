"""`--state FILE`: what each URL was last time, kept between runs in SQLite (the standard
library's), so that a run can ask the server "has it changed?" and say what did.

Per URL (after the default scheme): the ETag, Last-Modified, a SHA-256 of the decoded body, the
final status and when it was fetched. Looked up one URL at a time (a million URLs cost an index,
not memory); written in batches inside transactions, so a crash or kill -9 loses at most the last
batch and never leaves the file unusable. A run holds the file exclusively: a second run on it
(cron starting the next before the last ended) is told so at once instead of mixing its answers
in.

The journal is SQLite's write-ahead log on a local filesystem, and its rollback journal on one
shared between hosts (NFS, SMB, CephFS, FUSE...): SQLite says WAL does not work over a network
filesystem, because the readers of a WAL file share an index in memory that only processes of
one host can map. fetchcli's own exclusive lock keeps that index in its process, but the mode is
stored in the file, and anything else that opens it (sqlite3 on another node, to look) would
map one on the network filesystem. Taking a local filesystem for a network one only costs
speed, so any FUSE filesystem counts as a network one.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from fetchcli.errors import StateError
from fetchcli.models import Result
from fetchcli.slots import frozen

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
_MOUNTINFO = Path("/proc/self/mountinfo")
# Filesystems that several hosts mount at once: over a network, or shared disks.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "lustre", "gpfs", "afs", "9p"}
    | {"beegfs", "ocfs2", "gfs2", "fuse"}
)


@frozen
class Stored:
    """What --state keeps of one URL's last fetch: its validators and body hash."""

    etag: str | None
    last_modified: str | None
    sha256: str | None
    status: int | None


class StateStore:
    """The state file of one run. Not thread-safe: the event loop's thread uses it."""

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.time, shared: bool | None = None
    ) -> None:
        """`shared`: whether the file's filesystem is a network one (None: from the mounts)."""
        if shared is None:
            shared = on_network_filesystem(path)
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
            # A rollback journal is safe from a power cut only when synced in full; commits
            # are one per batch, so that costs little.
            journal, synchronous = ("DELETE", "FULL") if shared else ("WAL", "NORMAL")
            self._db.execute(f"PRAGMA journal_mode={journal}")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
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
        url = result.target.key  # a request with a body: its method, URL and body's hash
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


def on_network_filesystem(path: Path) -> bool:
    """Whether `path` (it need not exist yet) is on a filesystem other hosts share."""
    kind = filesystem_type(path)
    return kind is not None and (kind in NETWORK_FILESYSTEMS or kind.startswith("fuse."))


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem `path` is on: that of the mount that holds it, the longest
    mount point its real path starts with (the last of them: mounted on top). None when the
    mount table cannot be read (not Linux)."""
    try:
        table = _MOUNTINFO.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    return _mount_of(os.path.realpath(path), table)


def _mount_of(path: str, table: str) -> str | None:
    """
    >>> table = ("1 0 8:1 / / rw - ext4 /dev/sda1 rw\\n"
    ...          "2 1 0:50 /export /mnt/my\\\\040data rw shared:7 - nfs4 srv:/export rw\\n")
    >>> _mount_of("/mnt/my data/state.db", table), _mount_of("/mnt/my", table)
    ('nfs4', 'ext4')
    """
    found, longest = None, -1
    for line in table.splitlines():
        before, separator, after = line.partition(" - ")
        fields, kind = before.split(" "), after.split(" ", 1)[0]
        if not separator or len(fields) < 5:
            continue
        point = _OCTAL.sub(lambda m: chr(int(m[1], 8)), fields[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= longest:
            found, longest = kind, len(point)
    return found


_OCTAL = re.compile(r"\\([0-7]{3})")  # mountinfo writes a space in a mount point as \040
