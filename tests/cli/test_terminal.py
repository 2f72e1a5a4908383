"""What a person sees at a terminal, read off a VT100 emulator (pyte) fed by a real pseudo-
terminal: the table fits 80 and 120 columns and says why a URL failed, progress leaves nothing
behind, JSON lines start clean."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass

import pyte
import pytest

from tests.server import TestServer

pytestmark = pytest.mark.e2e
TIMEOUT = 60


@dataclass
class Screen:
    raw: bytes  # everything the program wrote, escapes included
    lines: list[str]  # the screen at the end, as a person reads it


def run_in_terminal(*args: str, columns: int, rows: int = 60) -> Screen:
    """Run fetchcli with stdin, stdout and stderr on one pseudo-terminal of the given size."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fetchcli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
        close_fds=True,
    )
    os.close(slave)
    raw = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the last holder of the terminal closed it
            break
        if not chunk:
            break
        raw += chunk
    proc.wait(timeout=TIMEOUT)
    os.close(master)
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(bytes(raw))
    return Screen(bytes(raw), [line.rstrip() for line in screen.display])


def _urls(server: TestServer, count: int, path: str = "/ok") -> list[str]:
    long = "/a-rather-long/path/to/somewhere/deep/inside/the/site"
    return [f"{server.url}{path}?page={n}&from={long}&n={n}" for n in range(count)]


@pytest.mark.parametrize("columns", [80, 120])
def test_the_table_fits_the_terminal(server: TestServer, columns: int) -> None:
    """No line wraps; every URL has its row, told apart by its end (cut in the middle)."""
    screen = run_in_terminal(*_urls(server, 5), columns=columns)
    table = [line for line in screen.lines if line and line[0] in "┏┃┡│└"]
    assert len(table) == 4 + 5
    assert all(len(line) <= columns for line in table)
    rows = [line for line in table if line.startswith("│")]
    for n, row in enumerate(rows):
        assert f"n={n} " in row and "…" in row  # the start and the end kept, the middle cut
    assert table[0].startswith("┏") and table[-1].startswith("└")


def test_progress_is_drawn_and_leaves_nothing_behind(server: TestServer) -> None:
    """A run long enough to show progress: it was drawn, and nothing of it is left on the
    screen once the table and the summary are there."""
    screen = run_in_terminal(*_urls(server, 4, "/slow/700"), "-c", "2", columns=100)
    assert b" done \xc2\xb7 " in screen.raw  # the progress line was drawn
    assert not any(" done · " in line for line in screen.lines)
    assert screen.lines[0].startswith("┏")  # the table starts at the top, clean
    assert any(line.startswith("fetchcli: 4 ok") for line in screen.lines)


def test_json_lines_at_a_terminal_start_clean(server: TestServer) -> None:
    """-f jsonl at a terminal with progress on: every record begins its line; the progress
    line steps aside for each."""
    screen = run_in_terminal(
        "-f", "jsonl", "--snippet", "0", *_urls(server, 6, "/slow/300"), "-c", "2", columns=400
    )
    assert b" done \xc2\xb7 " in screen.raw
    records = [line for line in screen.lines if '"url"' in line]
    assert len(records) == 6
    assert all(line.startswith('{"line": null') for line in records)
    assert not any(" done · " in line for line in screen.lines)


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def test_a_failed_row_says_why_at_80_columns(server: TestServer) -> None:
    """At 80 columns a refused connection and a read timeout show their reasons where the
    snippet would be; the rows that succeeded keep theirs, and every URL keeps host and port."""
    refused = _refused_url()
    urls = [*_urls(server, 2), refused, f"{server.url}/hang", *_urls(server, 2)]
    screen = run_in_terminal(*urls, "-t", "1", columns=80)
    table = [line for line in screen.lines if line and line[0] in "┏┃┡│└"]
    assert all(len(line) <= 80 for line in table)
    rows = [line for line in table if line.startswith("│")]
    assert len(rows) == 6
    assert "connect" in rows[2] and "connection refused" in rows[2]
    assert refused.split("//")[1] in rows[2]  # 127.0.0.1:PORT/
    assert "timeout" in rows[3] and "read timeout after 1s" in rows[3]
    host = server.url.split("//")[1]
    for row in (rows[0], rows[1], rows[4], rows[5]):
        assert "200 OK" in row and "hello world" in row and host in row
