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
