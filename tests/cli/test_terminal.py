"""What a person sees at a terminal, read off a VT100 emulator (pyte) fed by a real pseudo-
terminal: the table fits 80 and 120 columns and says why a URL failed, progress leaves nothing
behind, JSON lines start clean."""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import struct
import subprocess
import sys
import termios
import threading
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
    piped: bytes = b""  # stdout, when it went to a pipe instead


def run_in_terminal(
    *args: str,
    columns: int,
    rows: int = 60,
    env: dict[str, str] | None = None,
    piped: bool = False,
) -> Screen:
    """Run fetchcli with stdin, stdout and stderr on one pseudo-terminal of the given size
    (stdout to a pipe instead when `piped`, as in `fetchcli list | jq`)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    unset = ("COLUMNS", "LINES", "NO_COLOR")
    inherited = {k: v for k, v in os.environ.items() if k not in unset}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fetchcli", *args],
        stdin=slave,
        stdout=subprocess.PIPE if piped else slave,
        stderr=slave,
        env={**inherited, "TERM": "xterm-256color", **(env or {})},
        close_fds=True,
    )
    os.close(slave)
    piped_out = bytearray()
    reader = None
    if proc.stdout is not None:
        stdout = proc.stdout
        reader = threading.Thread(target=lambda: piped_out.extend(stdout.read()), daemon=True)
        reader.start()
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
    if reader is not None and proc.stdout is not None:
        reader.join(timeout=TIMEOUT)
        proc.stdout.close()
    os.close(master)
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(bytes(raw))
    return Screen(bytes(raw), [line.rstrip() for line in screen.display], bytes(piped_out))


_COLOUR = re.compile(rb"\x1b\[[0-9;]*m")


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
    assert b"\x1b[32m200 OK" in screen.raw  # the status in colour


def test_no_color_turns_the_colours_off(server: TestServer) -> None:
    """NO_COLOR=1 (https://no-color.org): the same table, and not one colour code."""
    screen = run_in_terminal(*_urls(server, 2), columns=80, env={"NO_COLOR": "1"})
    assert any("200 OK" in line for line in screen.lines)
    assert not _COLOUR.search(screen.raw)


def test_progress_stays_off_a_screen_a_pipe_reader_writes_to(server: TestServer) -> None:
    """`fetchcli URLs | jq -c .`: jq's lines share the terminal, so no progress line is drawn
    there by default (it would be left glued to them); --progress still asks for it."""
    urls = _urls(server, 4, "/slow/300")
    screen = run_in_terminal(*urls, "-c", "2", columns=100, piped=True)
    assert b" done " not in screen.raw
    assert len([json.loads(line) for line in screen.piped.splitlines()]) == 4
    assert any(line.startswith("fetchcli: 4 ok") for line in screen.lines)
    asked = run_in_terminal(*urls, "-c", "2", "--progress", columns=100, piped=True)
    assert b" done \xc2\xb7 " in asked.raw


def test_progress_is_drawn_and_leaves_nothing_behind(server: TestServer) -> None:
    """A run long enough to show progress: it was drawn, with an exact total once the input was
    read, and nothing of it is left on the screen once the table and the summary are there."""
    screen = run_in_terminal(*_urls(server, 4, "/slow/700"), "-c", "2", columns=100)
    assert b" done \xc2\xb7 " in screen.raw  # the progress line was drawn
    exact = screen.raw.index(b" of 4 \xc2\xb7 ")  # the total, once the input is all read
    assert b"of ~" not in screen.raw[exact:]
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
    # The summary (with failures and latencies, over 80 columns) is broken by fetchcli itself
    # between words, each line narrower than the terminal, so the terminal never cuts a word.
    summary = screen.raw[screen.raw.rindex(b"fetchcli: 4 ok") :].decode().split("\r\n")
    summary = [line for line in summary if line]
    assert len(summary) > 1 and summary[1].startswith("  · ")
    assert all(len(line) <= 80 for line in summary)
