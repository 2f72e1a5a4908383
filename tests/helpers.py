"""What several test modules share: running the installed program in a subprocess (the
command, a clean environment, a run to its end, a run to talk to, reading what it writes), and
counting the connections this process holds open."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# The package as this interpreter has it, not whatever `fetchcli` is first on PATH.
FETCHCLI = [sys.executable, "-m", "fetchcli"]
TIMEOUT = 30


def subprocess_env() -> dict[str, str]:
    """This environment without a developer's proxy, output unbuffered."""
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env["PYTHONUNBUFFERED"] = "1"
    return env


# Every process start_fetchcli started, so that a test that fails half-way does not leave a
# run (and its workers) holding the shared test server's requests open for the tests after it.
STARTED: list[subprocess.Popen[bytes]] = []


def start_fetchcli(*args: str, stdin: int | None = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """The installed fetchcli started in a process group of its own (its workers with it),
    stdout and stderr piped."""
    proc = subprocess.Popen(
        [*FETCHCLI, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
        start_new_session=True,
    )
    STARTED.append(proc)
    return proc


def stop_started() -> None:
    """Whatever start_fetchcli started and is still there, killed with its whole group."""
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=TIMEOUT)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a killed reader's stdin may not flush
                    pipe.close()


def run_fetchcli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """The installed fetchcli run to its end, stdin closed, both outputs captured."""
    return subprocess.run(
        [*FETCHCLI, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=subprocess_env(),
        timeout=TIMEOUT * 2,
        cwd=cwd,
    )


def records_of(data: bytes) -> list[dict[str, Any]]:
    """The JSON lines records of a run's stdout."""
    return [json.loads(line) for line in data.decode().splitlines()]


def timeless(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its `elapsed`, the one field two runs never share."""
    return {name: value for name, value in record.items() if name != "elapsed"}


def read_line(proc: subprocess.Popen[bytes], stream: str = "stdout") -> bytes:
    """One line of stdout (or stderr), failing the test instead of hanging."""
    pipe = getattr(proc, stream)
    assert pipe is not None
    selector = selectors.DefaultSelector()
    selector.register(pipe, selectors.EVENT_READ)
    line = b""
    deadline = time.monotonic() + TIMEOUT
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        assert remaining > 0 and selector.select(remaining), f"no output line yet: {line!r}"
        chunk = os.read(pipe.fileno(), 1)
        assert chunk, f"stdout closed early: {line!r}"
        line += chunk
    return line


def connections_to(port: int) -> int:
    """The TCP sockets this process holds connected to `port` on any address, whatever their
    state: the descriptors a connection pool keeps (the test server's own ends have `port` as
    their local port, so they are not counted)."""
    ours = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # the directory's own descriptor, closed by now
            continue
        if target.startswith("socket:["):
            ours.add(target[len("socket:[") : -1])
    held = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            held += remote_port == port and fields[9] in ours
    return held
