"""--save in a real process: a run killed outright leaves nothing, a mirror run again replaces
its files with --overwrite, a read-only filesystem says so."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.dns_server import sandbox_available
from tests.helpers import (
    FETCHCLI,
    TIMEOUT,
    records_of,
    run_fetchcli,
    start_fetchcli,
    subprocess_env,
)
from tests.server import TestServer

pytestmark = pytest.mark.e2e


def _wait_for_file_in(pid: int, directory: Path) -> None:
    """Until the process holds a file open in `directory` (a body being saved)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd).startswith(f"{directory}/"):
                    return
            except OSError:
                continue
        time.sleep(0.01)  # polling a condition, with a deadline
    raise AssertionError(f"no file opened in {directory}")


def test_a_run_killed_mid_save_leaves_no_file(server: TestServer, tmp_path: Path) -> None:
    """kill -9 while a body is being saved: no file and no hidden part file in DIR."""
    out = tmp_path / "out"
    with start_fetchcli("--save", str(out), f"{server.url}/drip?chunks=200&delay_ms=50") as proc:
        _wait_for_file_in(proc.pid, out)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    assert list(out.iterdir()) == []


def test_overwrite_keeps_one_file_per_url_across_runs(server: TestServer, tmp_path: Path) -> None:
    """A nightly mirror: without --overwrite the second run adds ok-1; with it, one file."""
    out = tmp_path / "out"
    url = f"{server.url}/ok"
    for _ in range(2):
        assert run_fetchcli("--save", str(out), url).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{_name(server)}_ok", f"{_name(server)}_ok-1"]
    mirror = tmp_path / "mirror"
    for _ in range(2):
        [record] = records_of(run_fetchcli("--save", str(mirror), "--overwrite", url).stdout)
    assert [p.name for p in mirror.iterdir()] == [f"{_name(server)}_ok"]
    assert record["saved_to"] == str(mirror / f"{_name(server)}_ok")


def _name(server: TestServer) -> str:
    return f"127.0.0.1_{server.port}"


@pytest.mark.skipif(not sandbox_available(), reason="needs root and unshare -m")
def test_a_read_only_filesystem_is_named_as_such(tmp_path: Path) -> None:
    """--save into a read-only filesystem says 'Read-only file system', as --state does, not
    'Permission denied'."""
    out = tmp_path / "out"
    out.mkdir()
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    command = [*FETCHCLI, "--save", str(out), "http://127.0.0.1:1/"]
    done = subprocess.run(
        ["unshare", "-m", "--", "sh", "-c", script, "sh", str(out), *command],
        capture_output=True,
        timeout=TIMEOUT,
        env=subprocess_env(),
    )
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"fetchcli: error: --save: cannot write to '{out}': Read-only file system\n"
    )
