"""SOURCE files that are not plain files, and outputs that would be read back as input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

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


def _wait_until_opening(pid: int, path: Path) -> None:
    """Until a thread of `pid` waits in the kernel for a writer of the FIFO `path` (or, where
    the kernel does not say, until the process has its input thread)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        states = {(task / "wchan").read_text() for task in tasks}
        if "wait_for_partner" in states or ("0" in states and len(tasks) > 1):
            return
        time.sleep(0.01)  # polling a condition, with a deadline
    raise AssertionError(f"fetchcli never opened {path}")


def test_a_fifo_source_is_fetched_from_its_writer(server: TestServer, tmp_path: Path) -> None:
    """`mkfifo f; echo URL > f & fetchcli f`: the URL the writer sends is fetched."""
    fifo = tmp_path / "urls"
    os.mkfifo(fifo)
    with start_fetchcli(str(fifo), "-q") as proc:
        # The open for writing waits until fetchcli opens the FIFO for reading: no race.
        with open(fifo, "w") as writer:
            writer.write(f"{server.url}/ok\n{server.url}/status/404\n")
        out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1, err
    records = records_of(out)
    assert [r["status"] for r in records] == [200, 404]
    assert [r["line"] for r in records] == [1, 2]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_fifo_without_a_writer_still_ends_on_a_signal(
    tmp_path: Path, signum: int, code: int
) -> None:
    """A FIFO nobody writes to: Ctrl-C and SIGTERM still end the run, quietly."""
    fifo = tmp_path / "urls"
    os.mkfifo(fifo)
    with start_fetchcli(str(fifo)) as proc:
        _wait_until_opening(proc.pid, fifo)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == code
    assert b"Traceback" not in err


def test_an_unreadable_fifo_is_refused_before_anything_is_fetched(tmp_path: Path) -> None:
    """A FIFO without read permission is the same usage error as any unreadable file."""
    if os.geteuid() == 0:
        pytest.skip("root reads any FIFO")
    fifo = tmp_path / "urls"
    os.mkfifo(fifo, 0o200)
    done = run_fetchcli(str(fifo))
    assert done.returncode == 2
    assert done.stderr.decode() == f"fetchcli: error: cannot read '{fifo}': Permission denied\n"


def test_records_into_a_source_file_is_refused(server: TestServer, tmp_path: Path) -> None:
    """`--records FILE` naming one of the SOURCE files: exit 2, nothing fetched or written."""
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server.url}/ok\n")
    link = tmp_path / "same.txt"
    link.hardlink_to(urls)
    done = run_fetchcli(str(urls), "--records", str(link))
    assert done.returncode == 2
    assert done.stderr.decode().startswith(f"fetchcli: error: --records: '{link}' is the SOURCE")
    assert urls.read_text() == f"{server.url}/ok\n"
    assert server.stats.requests == 0


def test_stdout_appended_to_a_source_file_is_refused(server: TestServer, tmp_path: Path) -> None:
    """`fetchcli urls.txt >> urls.txt` would fetch its own records: refused."""
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server.url}/ok\n")
    with urls.open("ab") as out:
        done = subprocess.run(
            [*FETCHCLI, str(urls)],
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            env=subprocess_env(),
        )
    assert done.returncode == 2
    assert b"stdout is the SOURCE" in done.stderr
    assert urls.read_text() == f"{server.url}/ok\n"
    assert server.stats.requests == 0


def test_a_line_too_long_shows_its_start(tmp_path: Path) -> None:
    """A line over 8 KiB is an invalid-url record whose url shows how the line begins."""
    urls = tmp_path / "urls.txt"
    urls.write_text("https://example.test/" + "a" * 9000 + "\n")
    done = run_fetchcli(str(urls), "--fail-on", "never")
    record = json.loads(done.stdout)
    assert record["error"]["kind"] == "invalid-url"
    assert record["url"].startswith("https://example.test/aaa")
    assert record["url"].endswith("…") and len(record["url"]) == 200
