"""The installed program in a subprocess: lazy stdin, exit statuses, signals, closed stdout."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fetchcli import state as state_module
from tests.helpers import (
    FETCHCLI,
    TIMEOUT,
    read_line,
    start_fetchcli,
    subprocess_env,
)
from tests.server import TestServer

pytestmark = pytest.mark.e2e


def test_stdin_is_read_lazily(server: TestServer) -> None:
    """The first record appears while stdin is still open."""
    with start_fetchcli("-q") as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{server.url}/ok\n".encode())
        proc.stdin.flush()
        first = json.loads(read_line(proc))
        assert first["status"] == 200
        proc.stdin.write(f"{server.url}/status/404\n".encode())
        proc.stdin.close()
        assert json.loads(proc.stdout.read())["status"] == 404
        assert proc.wait(timeout=TIMEOUT) == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [(["/ok"], 0), (["/status/503"], 1), (["--fail-on", "never", "/status/503"], 0)],
)
def test_exit_statuses(server: TestServer, args: list[str], code: int) -> None:
    """Exit 0 on success and 1 on failure, as --fail-on says."""
    argv = [a if not a.startswith("/") else server.url + a for a in args]
    done = subprocess.run(
        [*FETCHCLI, *argv], capture_output=True, timeout=TIMEOUT, env=subprocess_env()
    )
    assert done.returncode == code
    assert json.loads(done.stdout)["url"].startswith(server.url)


def test_usage_error_is_one_line_without_traceback() -> None:
    """A bad flag value: exit 2, one line, no traceback."""
    done = subprocess.run(
        [*FETCHCLI, "--shard", "9/2", "http://x/"],
        capture_output=True,
        timeout=TIMEOUT,
        env=subprocess_env(),
    )
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1
    assert b"Traceback" not in done.stderr


def test_python_dash_m() -> None:
    """`python -m fetchcli` is the same program."""
    done = subprocess.run(
        [sys.executable, "-m", "fetchcli", "--version"], capture_output=True, timeout=TIMEOUT
    )
    assert done.returncode == 0
    assert done.stdout.startswith(b"fetchcli ")


def test_closed_stdout_ends_quietly(server: TestServer) -> None:
    """`fetchcli … | head -n 1`: exit 0 promptly, nothing on stderr."""
    urls = "".join(f"{server.url}/ok?n={i}\n" for i in range(2000)).encode()
    with start_fetchcli("-c", "4") as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(urls)
        proc.stdin.close()
        read_line(proc)
        proc.stdout.close()
        assert proc.wait(timeout=TIMEOUT) == 0
        assert proc.stderr.read() == b""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_flushes_finished_records(server: TestServer, signum: int, code: int) -> None:
    """SIGINT/SIGTERM mid-run: records already complete are written whole (even those held
    behind a hanging head in input order), the summary is printed, exit 130/143."""
    urls = [f"{server.url}/hang", f"{server.url}/ok", f"{server.url}/status/404"]
    proc = start_fetchcli("-v", "-c", "3", *urls, stdin=subprocess.DEVNULL)
    finished = [read_line(proc, "stderr") for _ in range(2)]  # -v: one line per finished URL
    assert all(b"/hang" not in line for line in finished)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == code
    assert b"Traceback" not in err
    stopped = b"interrupted (Ctrl-C)" if signum == signal.SIGINT else b"terminated (SIGTERM)"
    assert stopped + b": 1 ok, 1 failed" in err  # the summary says the run was cut short
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert [r["url"] for r in records] == urls[1:]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_keeps_state_and_failed_out(server: TestServer, tmp_path, signum: int) -> None:
    """Stopped mid-run: --state holds every URL that finished, --failed-out lists the finished
    failures (and not the URL still hanging), --metrics says the run was interrupted."""
    state, failed, metrics = tmp_path / "state.db", tmp_path / "failed.txt", tmp_path / "m.prom"
    urls = [f"{server.url}/hang", f"{server.url}/ok", f"{server.url}/status/404"]
    files = ("--state", str(state), "--failed-out", str(failed), "--metrics", str(metrics))
    args = ("-v", "-c", "3", *files, *urls)
    proc = start_fetchcli(*args, stdin=subprocess.DEVNULL)
    for _ in range(2):
        read_line(proc, "stderr")
    proc.send_signal(signum)
    proc.communicate(timeout=TIMEOUT)
    stored = sqlite3.connect(state).execute("SELECT url, status FROM urls").fetchall()
    assert sorted(stored) == [(urls[1], 200), (urls[2], 404)]
    assert failed.read_text() == f"# http 404: Not Found\n{urls[2]}\n"
    assert '\nfetchcli_run_interrupted{run="m"} 1.0\n' in metrics.read_text()
    assert 'fetchcli_urls{result="failed",run="m"} 1.0' in metrics.read_text()


def test_killed_run_leaves_a_usable_state_file(server: TestServer, tmp_path) -> None:
    """SIGKILL mid-run (no chance to clean up): the state file opens, passes SQLite's integrity
    check, and the next run trusts exactly what it holds: URLs stored before the kill are
    unchanged, the others new."""
    state = tmp_path / "state.db"
    urls = [f"{server.url}/ok?n={n}" for n in range(800)]
    args = ("-q", "-c", "4", "--order", "completion", "--state", str(state))
    proc = start_fetchcli(*args, f"{server.url}/hang", *urls, stdin=subprocess.DEVNULL)
    for _ in range(state_module.BATCH + 100):
        read_line(proc)
    proc.kill()
    proc.communicate(timeout=TIMEOUT)
    db = sqlite3.connect(state)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    kept = {url for (url,) in db.execute("SELECT url FROM urls")}
    db.close()
    assert kept <= set(urls) and len(kept) >= state_module.BATCH  # a whole batch was committed
    again = subprocess.run(
        [*FETCHCLI, "-q", "--state", str(state), *urls],
        capture_output=True,
        env=subprocess_env(),
        check=True,
    )
    records = [json.loads(line) for line in again.stdout.decode().splitlines()]
    assert [r["changed"] for r in records] == [url not in kept for url in urls]


def test_first_bytes_of_a_slow_body_arrive_before_it_ends(server: TestServer) -> None:
    """-f body: a body dripping over two seconds shows its first bytes long before its end."""
    url = f"{server.url}/drip?chunks=20&delay_ms=100&size=4"
    with start_fetchcli("-f", "body", url, stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        assert selector.select(TIMEOUT)
        first = os.read(proc.stdout.fileno(), 100)
        assert first.startswith(b"dddd")
        assert proc.poll() is None  # still downloading: the bytes came live
        rest = proc.stdout.read()
        assert first + rest == b"d" * 80
        assert proc.wait(timeout=TIMEOUT) == 0


def test_body_mode_reader_leaving_early(server: TestServer, tmp_path) -> None:
    """`fetchcli -f body … | head -c 100`: exit 0, silent, no temporary files left."""
    urls = [f"{server.url}/pattern/3000000?seed=s{i}" for i in range(10)]
    env = {**subprocess_env(), "TMPDIR": str(tmp_path)}
    with subprocess.Popen(
        [*FETCHCLI, "-f", "body", "-c", "10", *urls],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        assert len(proc.stdout.read(100)) == 100
        proc.stdout.close()
        assert proc.wait(timeout=TIMEOUT) == 0
        assert proc.stderr.read() == b""
    assert list(tmp_path.iterdir()) == []


def test_interrupted_save_leaves_no_partial_file(server: TestServer, tmp_path) -> None:
    """SIGINT while a body is being saved: no file and no temporary file remain."""
    out_dir = tmp_path / "out"
    url = f"{server.url}/drip?chunks=100&delay_ms=100"
    proc = start_fetchcli("-f", "body", "--save", str(out_dir), url, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    os.read(proc.stdout.fileno(), 1)  # the body has started, into an unnamed file
    assert list(out_dir.iterdir()) == []  # nothing in DIR until the body is complete
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130
    assert list(out_dir.iterdir()) == []


def _peak_rss_mb(args: list[str]) -> float:
    """Run fetchcli with stdout to /dev/null; return its own peak RSS in MB."""
    measured = subprocess.run(
        [sys.executable, str(Path(__file__).parents[1] / "peak_rss.py"), *FETCHCLI, *args],
        capture_output=True,
        env=subprocess_env(),
        timeout=900,
        check=True,
    )
    code, kib = measured.stdout.split()
    assert int(code) == 0
    return int(kib) / 1024


def test_body_mode_memory_with_big_bodies(server: TestServer, tmp_path) -> None:
    """50 bodies of 5 MiB at -c 50, finishing in reverse order: peak RSS under 100 MB."""
    lines = [f"{server.url}/pattern/5242880?seed=s{i}&delay_ms={(50 - i) * 5}" for i in range(50)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(lines))
    peak = _peak_rss_mb(["-f", "body", "-c", "50", str(listing)])
    assert peak < 100, f"peak RSS {peak:.0f} MB"


@pytest.mark.slow
def test_body_mode_memory_stays_flat_with_many_small_bodies(server: TestServer, tmp_path) -> None:
    """10,000 small bodies: peak RSS about what 1,000 take, nowhere near a per-URL cost."""
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"{server.url}/bytes/200?i={i}\n" for i in range(10_000)))
    few = tmp_path / "few.txt"
    few.write_text("".join(f"{server.url}/bytes/200?i={i}\n" for i in range(1_000)))
    small = _peak_rss_mb(["-f", "body", "-c", "50", str(few)])
    assert _peak_rss_mb(["-f", "body", "-c", "50", str(listing)]) < small + 15


@pytest.mark.slow
def test_memory_stays_bounded_on_a_long_list(server: TestServer, tmp_path) -> None:
    """200,000 URLs at -c 50, jsonl to /dev/null: peak RSS under 150 MB."""
    listing = tmp_path / "urls.txt"
    with listing.open("w") as out:
        for i in range(200_000):
            out.write(f"{server.url}/ok?i={i}\n")
    peak = _peak_rss_mb(["-c", "50", "-q", "--no-progress", "-f", "jsonl", str(listing)])
    assert peak < 150, f"peak RSS {peak:.0f} MB"


def test_ctrl_c_while_stdin_is_still_open(server: TestServer) -> None:
    """SIGINT while the writer of stdin is still connected: exit 130, cleanly, no fatal error."""
    with start_fetchcli("-q") as proc:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(f"{server.url}/ok\n".encode())
        proc.stdin.flush()
        read_line(proc)  # the reader thread now waits in a read on the open pipe
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT) == 130
        assert b"Fatal" not in proc.stderr.read()


def test_a_hanging_rest_does_not_hold_back_the_state(server: TestServer, tmp_path) -> None:
    """URLs that finished reach the state file within seconds even when every other URL hangs
    and nothing else finishes: killed outright after that, the file holds them."""
    state = tmp_path / "state.db"
    urls = [f"{server.url}/ok?n={n}" for n in range(10)]
    args = ("-q", "-t", "300", "--order", "completion", "--state", str(state))
    args = (*args, f"{server.url}/hang", *urls)
    proc = start_fetchcli(*args, stdin=subprocess.DEVNULL)
    for _ in urls:
        read_line(proc)
    deadline = time.monotonic() + TIMEOUT
    while _committed_urls(state, tmp_path / "copy") != set(urls):  # what a crash would keep
        assert time.monotonic() < deadline, "nothing was committed while the rest hung"
        time.sleep(0.1)
    proc.kill()
    proc.communicate(timeout=TIMEOUT)
    stored = {url for (url,) in sqlite3.connect(state).execute("SELECT url FROM urls")}
    assert stored == set(urls)


def _committed_urls(state: Path, copy: Path) -> set[str]:
    """The URLs a crash now would leave in the state file: a copy of its files (committed
    pages are in them, uncommitted ones only in the writer's memory) opened apart."""
    copy.mkdir(exist_ok=True)
    for suffix in ("", "-wal"):
        source = state.with_name(state.name + suffix)
        if source.exists():
            (copy / (state.name + suffix)).write_bytes(source.read_bytes())
    db = sqlite3.connect(copy / state.name)
    try:
        return {url for (url,) in db.execute("SELECT url FROM urls")}
    except sqlite3.Error:
        return set()
    finally:
        db.close()
