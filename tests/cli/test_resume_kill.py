"""--continue after `kill -9` in the middle of a 200 MB download: the rerun asks only for
what is missing, and the file in place is byte for byte the server's."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

from tests.helpers import records_of, run_fetchcli, start_fetchcli
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
