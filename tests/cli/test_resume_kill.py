"""--continue after `kill -9` in the middle of a 200 MB download, and after a full disk: the
rerun asks only for what is missing, and the file in place is byte for byte the server's."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
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
from tests.server import TestServer, pattern_body

SIZE = 200 * 1024 * 1024
STALL_AT = 64 * 1024 * 1024


def _part_reaches(directory: Path, size: int, timeout: float = 60.0) -> Path:
    """The part file once it holds `size` bytes (a condition polled, with a deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = list(directory.glob("*.part"))
        if parts and parts[0].stat().st_size >= size:
            return parts[0]
        time.sleep(0.02)
    raise AssertionError(f"no part of {size} bytes in {directory} within {timeout}s")


def test_kill_9_mid_download_then_continue(server: TestServer, tmp_path: Path) -> None:
    url = f"{server.url}/ranged/release.iso?size={SIZE}"
    server.ranged["release.iso"] = {"hold": STALL_AT}  # the link stalls part way
    flags = ("-q", "--save", str(tmp_path), "--continue", "--max-size", "1GB")  # over 100MB
    killed = start_fetchcli(*flags, url)
    part = _part_reaches(tmp_path, STALL_AT - 1024 * 1024)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    kept = part.stat().st_size
    sent_before = server.stats.body_bytes
    done = run_fetchcli(*flags, url)
    assert done.returncode == 0, done.stderr
    [record] = records_of(done.stdout)
    assert (record["status"], record["resumed_from"]) == (206, kept)
    assert server.stats.body_bytes - sent_before == SIZE - kept  # only the missing bytes
    saved = Path(record["saved_to"])
    digest = hashlib.sha256(saved.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(pattern_body(SIZE, "release.iso-v1")).hexdigest()
    assert sorted(path.name for path in tmp_path.iterdir()) == [saved.name]
    assert server.wait_idle()  # the stalled answer ended with its killed client


@pytest.mark.skipif(not sandbox_available(), reason="needs root and unshare -m for a tmpfs")
def test_a_full_disk_keeps_the_part_and_continue_finishes_it(
    server: TestServer, tmp_path: Path
) -> None:
    """On a real full filesystem the download is kind io and its part stays; once there is
    room, --continue fetches only the rest."""
    size, directory = 600_000, tmp_path / "small"
    directory.mkdir()
    url = f"{server.url}/ranged/dump.bin?size={size}"
    fetch = " ".join(shlex.quote(part) for part in [*FETCHCLI, "-q", "--save", str(directory),
                                                     "--continue", url])  # fmt: skip
    script = (
        f'mount -t tmpfs -o size=256k tmpfs "$1" && {fetch}; echo "exit $?";'
        f' mount -o remount,size=4m "$1" && {fetch}; echo "exit $?"'
    )
    command = ["unshare", "-m", "--", "sh", "-c", script, "sh", str(directory)]
    proc = subprocess.run(command, capture_output=True, env=subprocess_env(), timeout=TIMEOUT)
    lines = proc.stdout.decode().splitlines()
    assert [line for line in lines if line.startswith("exit")] == ["exit 1", "exit 0"], proc.stderr
    full, done = (json.loads(line) for line in lines if line.startswith("{"))
    assert full["error"]["kind"] == "io" and "No space left" in full["error"]["message"]
    assert done["status"] == 206 and 0 < done["resumed_from"] < size
    assert done["error"] is None
