"""StateStore: what `changed` says, what is kept, and plain errors for a file it cannot use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fetchcli import state as state_module
from fetchcli.models import ErrorInfo, ErrorKind, Result, Target
from fetchcli.state import StateError, StateStore

URL = "https://a.test/page"


def _result(status: int | None = 200, sha256: str | None = "h1", **fields: object) -> Result:
    error = ErrorInfo(ErrorKind.CONNECT, "refused") if status is None else None
    return Result(Target(URL, "arg", None), status=status, sha256=sha256, error=error, **fields)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path):
    opened = StateStore(tmp_path / "state.db")
    yield opened
    opened.close()


def test_new_same_and_changed(store: StateStore) -> None:
    """New is changed; the same hash and status is not; another hash or status is."""
    assert store.observe(_result()) is True
    assert store.observe(_result()) is False
    assert store.observe(_result(sha256="h2")) is True
    assert store.observe(_result(status=404, sha256="h2")) is True


def test_a_failure_is_null_and_keeps_the_state(store: StateStore) -> None:
    store.observe(_result(etag='"v1"'))
    assert store.observe(_result(status=None, sha256=None)) is None
    assert store.observe(_result(etag='"v1"')) is False
    assert store.validators(URL) == {"If-None-Match": '"v1"'}


def test_validators_and_a_304(store: StateStore) -> None:
    """Both validators are sent back; a 304 is unchanged and keeps the stored hash, so the
    next full answer with the old body is unchanged too."""
    assert store.validators(URL) == {}
    store.observe(_result(etag='"v1"', last_modified="Tue, 01 Dec 2026 00:00:00 GMT"))
    assert store.validators(URL) == {
        "If-None-Match": '"v1"',
        "If-Modified-Since": "Tue, 01 Dec 2026 00:00:00 GMT",
    }
    assert store.observe(_result(status=304, sha256="empty")) is False
    assert store.observe(_result()) is False


def test_what_is_committed_survives_without_close(tmp_path: Path, monkeypatch) -> None:
    """Every BATCH updates are committed: a process that dies keeps them."""
    monkeypatch.setattr(state_module, "BATCH", 3)
    path = tmp_path / "state.db"
    store = StateStore(path, clock=lambda: 0.0)
    for n in range(4):
        store.observe(Result(Target(f"{URL}?{n}", "arg", None), status=200, sha256="h"))
    store._db.close()  # no COMMIT: as if killed
    rows = sqlite3.connect(path).execute("SELECT url FROM urls ORDER BY url").fetchall()
    assert [url for (url,) in rows] == [f"{URL}?{n}" for n in range(3)]


def test_a_file_in_use_by_another_run(store: StateStore, tmp_path: Path) -> None:
    with pytest.raises(StateError, match="^in use by another fetchcli run$"):
        StateStore(tmp_path / "state.db")


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("https://a.test/\n" * 100)
    with pytest.raises(StateError, match="not a fetchcli state file"):
        StateStore(path)


def _journal_mode(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        db.close()


def _mountinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> Path:
    """A mount table in which `tmp_path/shared` is a mount of type `kind`."""
    shared = tmp_path / "shared"
    shared.mkdir()
    table = tmp_path / "mountinfo"
    table.write_text(
        "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        f"90 1 0:77 /export {shared.resolve()} rw,relatime shared:9 - {kind} srv:/export rw\n"
    )
    monkeypatch.setattr(state_module, "_MOUNTINFO", table)
    return shared


@pytest.mark.parametrize("kind", ["nfs4", "nfs", "cifs", "ceph", "fuse.sshfs", "9p", "lustre"])
def test_a_state_file_on_a_network_filesystem_uses_the_rollback_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """On NFS and the like, where SQLite says WAL does not work, the file is in rollback
    journal mode (also one made in WAL mode elsewhere), and still held by one run."""
    shared = _mountinfo(tmp_path, monkeypatch, kind)
    monkeypatch.setattr(state_module, "_LOCK_WAIT", 0.05)
    path = shared / "state.db"
    StateStore(path, shared=False).close()  # made on a local disk, then moved
    assert _journal_mode(path) == "wal"
    store = StateStore(path)
    store.observe(_result())
    with pytest.raises(StateError, match="in use by another fetchcli run"):
        StateStore(path)
    store.close()
    assert _journal_mode(path) == "delete"
    assert sorted(p.name for p in shared.iterdir()) == ["state.db"]
    assert StateStore(path).observe(_result()) is False  # what it held is all there


def test_a_state_file_on_a_local_filesystem_uses_the_write_ahead_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local disk (here the real mount table, then a tmpfs in a fake one) keeps WAL."""
    StateStore(tmp_path / "real.db").close()
    assert _journal_mode(tmp_path / "real.db") == "wal"
    shared = _mountinfo(tmp_path, monkeypatch, "tmpfs")
    StateStore(shared / "state.db").close()
    assert _journal_mode(shared / "state.db") == "wal"


def test_the_filesystem_of_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mount that holds a path, by its real path: a file not made yet, a symlink into the
    mount, the mount point itself; without a mount table, nothing is known."""
    shared = _mountinfo(tmp_path, monkeypatch, "nfs4")
    (tmp_path / "link").symlink_to(shared)
    assert state_module.filesystem_type(shared / "not-yet.db") == "nfs4"
    assert state_module.filesystem_type(tmp_path / "link" / "state.db") == "nfs4"
    assert state_module.filesystem_type(shared) == "nfs4"
    assert state_module.filesystem_type(tmp_path / "shared-not") == "ext4"
    monkeypatch.setattr(state_module, "_MOUNTINFO", tmp_path / "missing")
    assert state_module.filesystem_type(shared) is None
    assert not state_module.on_network_filesystem(shared)
