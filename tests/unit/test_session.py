"""Session: what the command line and the API both set up before fetching, and the records
they write: inputs checked first, the pool fitted to the open-file limit, the input-order
window, and --state (the file held for the run, `changed` on each record, the validators to
send)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fetchcli.errors import UsageError
from fetchcli.models import ErrorInfo, ErrorKind, Result, Target
from fetchcli.run import budget
from fetchcli.run.reorder import HELD_BYTES
from fetchcli.session import Session, window_for
from fetchcli.settings.build import config_from
from fetchcli.settings.model import Config, Format, Order, OutputConfig, PoolConfig

URL = "https://a.test/page"


@pytest.mark.parametrize(
    ("format", "order", "workers", "window"),
    [
        (Format.TABLE, Order.INPUT, 1, None),  # sorted when drawn
        (Format.JSONL, Order.COMPLETION, 1, None),
        (Format.JSONL, Order.INPUT, 1, (HELD_BYTES, None)),
        (Format.BODY, Order.INPUT, 1, (HELD_BYTES, 400)),  # bodies also bounded in number
        (Format.BODY, Order.INPUT, 3, (HELD_BYTES, 1200)),  # 8 x what all the workers hold
    ],
)
def test_window_follows_format_and_order(format, order, workers, window) -> None:
    """Records wait behind a slow URL up to a weight; bodies also up to 8 x -c x --workers of
    them."""
    config = Config(
        pool=PoolConfig(concurrency=50, workers=workers),
        output=OutputConfig(format=format, order=order),
    )
    found = window_for(config)
    assert (None if found is None else (found.max_bytes, found.max_items)) == window


def test_a_missing_input_fails_before_anything_else(tmp_path: Path) -> None:
    """A typo in a file name is a usage error naming it; no --state file is made."""
    state = tmp_path / "state.db"
    config = config_from([str(tmp_path / "nope.txt")], {"state": state})
    with pytest.raises(UsageError, match="nope.txt"):
        Session(config)
    assert not state.exists()


def test_the_pool_is_fitted_to_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `ulimit -n 48` the run lowers its pool and says so, after the options' own
    warnings."""
    monkeypatch.setattr(budget, "open_file_limit", lambda: 48)
    session = Session(config_from([URL], {"max_redirects": 3, "follow": False}))
    assert session.config.pool.connections == 24
    assert budget.needed(session.config) <= 48
    assert session.warnings == (
        "--max-redirects: ignored with --no-follow",
        "the open-file limit is 48: using --max-connections 24 (raise it with ulimit -n)",
    )


def test_a_high_limit_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "open_file_limit", lambda: 1 << 20)
    config = config_from([URL], {})
    session = Session(config)
    assert (session.config, session.warnings) == (config, ())


def _result(status: int = 200, sha256: str = "s1", etag: str | None = '"v1"') -> Result:
    return Result(Target(URL, "arg", None), status=status, sha256=sha256, etag=etag)


def _session(state: Path, **options: object) -> Session:
    session = Session(config_from([URL], {"state": state, **options}))
    session.open_state()
    return session


def test_state_says_what_changed_from_one_run_to_the_next(tmp_path: Path) -> None:
    """The first run sees a URL as changed; the next sends its ETag and, on a 304 or the
    same body, records it unchanged; a failure has no `changed` to say."""
    state = tmp_path / "state.db"
    first = _session(state)
    assert first.conditional is not None and first.conditional(_result().target) == {}
    assert first.record(_result())["changed"] is True
    first.close()
    second = _session(state)
    assert second.conditional is not None
    assert second.conditional(_result().target) == {"If-None-Match": '"v1"'}
    assert second.record(_result(status=304, sha256="", etag=None))["changed"] is False
    assert second.record(_result())["changed"] is False
    assert second.record(_result(sha256="s2"))["changed"] is True
    failed = Result(_result().target, error=ErrorInfo(ErrorKind.TIMEOUT, "read timeout"))
    assert second.record(failed)["changed"] is None
    second.close()
    second.close()  # once closed, closing again is nothing


def test_without_state_records_have_no_changed_and_nothing_is_sent(tmp_path: Path) -> None:
    session = Session(config_from([URL], {}))
    session.open_state()
    assert session.conditional is None
    assert "changed" not in session.record(_result())
    session.tick()
    session.close()


def test_a_dry_run_leaves_the_state_file_alone(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    session = _session(state, dry_run=True)
    assert session.state is None and session.conditional is None
    assert not state.exists()


def test_a_state_file_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    """--state naming some other file: one usage error naming the flag and the file."""
    state = tmp_path / "notes.txt"
    state.write_bytes(b"these are my notes, not a database\n" * 100)
    session = Session(config_from([URL], {"state": state}))
    with pytest.raises(UsageError, match=r"--state: cannot use '.*notes\.txt': "):
        session.open_state()
    assert state.read_bytes() == b"these are my notes, not a database\n" * 100


def test_the_state_file_is_the_runs_until_it_closes(tmp_path: Path) -> None:
    """A second run on the same --state while one holds it: a usage error, not two runs
    writing one file; once the first closes, the file is free."""
    state = tmp_path / "state.db"
    first = _session(state)
    first.record(_result())
    other = Session(config_from([URL], {"state": state}))
    with pytest.raises(UsageError, match="--state: cannot use"):
        other.open_state()
    first.close()
    other.open_state()
    assert other.record(_result())["changed"] is False  # the first run's record was kept
    other.close()
