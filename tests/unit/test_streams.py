"""The terminal facts Streams reads at start: which stdouts reach no screen."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from fetchcli.streams import _reaches_no_screen


def test_a_file_and_dev_null_reach_no_screen(tmp_path: Path) -> None:
    """`> out.jsonl` and `> /dev/null` leave the screen to fetchcli's progress line."""
    with (tmp_path / "out").open("wb") as out, open(os.devnull, "wb") as null:
        assert _reaches_no_screen(out.fileno())
        assert _reaches_no_screen(null.fileno())


def test_a_pipe_a_socket_and_a_closed_descriptor_may_reach_one() -> None:
    """`| jq` (a pipe or a socket): its reader may write to the screen, so no progress there."""
    read, write = os.pipe()
    left, right = socket.socketpair()
    try:
        assert not _reaches_no_screen(write)
        assert not _reaches_no_screen(left.fileno())
    finally:
        os.close(read)
        os.close(write)
        left.close()
        right.close()
    assert not _reaches_no_screen(write)  # closed by now
