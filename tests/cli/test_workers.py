"""--workers N, run as a user runs it: the installed program in a subprocess, against the real
test server. Whatever the number of processes, the user sees one run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import (
    FETCHCLI,
    TIMEOUT,
    read_line,
    records_of,
    run_fetchcli,
    start_fetchcli,
    subprocess_env,
    timeless,
)
from tests.server import TestServer

pytestmark = pytest.mark.e2e


def _mixed_list(server: TestServer, path: Path) -> Path:
    """Many URLs on one origin and a few on others, with failures and a bad line among them."""
    lines = [f"{server.url}/pattern/{500 + n}?seed=w{n}" for n in range(300)]
    lines[10] = f"{server.url}/status/404"
    lines[20] = "not a url"
    lines[30] = f"{server.url}/redirect/2"
    lines[40] = f"{server.url_for('localhost')}/ok"
    lines[50] = f"{server.url}/reset"
    path.write_text("\n".join(lines) + "\n")
    return path


def _summary(stderr: bytes) -> str:
    """The summary line, with its times left out."""
    line = next(line for line in stderr.decode().splitlines() if " ok, " in line)
    return line.split(" in ")[0]


@pytest.mark.parametrize("order", ["input", "completion"])
def test_two_workers_write_what_one_process_writes(
    server: TestServer, tmp_path: Path, order: str
) -> None:
    """The same records (line numbers, failures, redirects, the invalid line), each URL once,
    in input order or as they finish, and the same summary counts."""
    urls = _mixed_list(server, tmp_path / "urls.txt")
    one = run_fetchcli(str(urls), "--order", order, "--no-progress")
    two = run_fetchcli(str(urls), "--order", order, "--no-progress", "--workers", "2")
    assert one.returncode == two.returncode == 1
    alone, split = [timeless(r) for r in records_of(one.stdout)], records_of(two.stdout)
    if order == "input":
        assert [timeless(r) for r in split] == alone
    else:
        key = lambda r: r["line"]  # noqa: E731
        assert sorted((timeless(r) for r in split), key=key) == sorted(alone, key=key)
    assert len(split) == 300
    assert _summary(two.stderr) == _summary(one.stderr)
    assert b"Traceback" not in two.stderr


def test_body_format_is_whole_and_in_order(server: TestServer) -> None:
    """-f body: every body, byte for byte, in input order, as one process writes them."""
    urls = [f"{server.url}/pattern/{20_000 * (n % 7 + 1)}?seed=b{n}" for n in range(60)]
    urls[5] = f"{server.url}/drip?chunks=5&delay_ms=50"  # a slow one ahead of the others
    one = run_fetchcli("-f", "body", "-c", "8", *urls)
    two = run_fetchcli("-f", "body", "-c", "8", "--workers", "3", *urls)
    assert one.returncode == two.returncode == 0
    assert len(two.stdout) == len(one.stdout) > 60 * 20_000
    assert two.stdout == one.stdout


def test_save_and_state_work_across_workers(server: TestServer, tmp_path: Path) -> None:
    """--save writes each body once, where one process would; --state sees every URL and the
    next run asks with the validators the workers brought back."""
    name = tmp_path.name
    urls = [f"{server.url}/versioned/{name}-{n}?etag=1" for n in range(40)]
    state, saved = tmp_path / "state.db", tmp_path / "saved"
    first = run_fetchcli("--workers", "2", "--state", str(state), "--save", str(saved), *urls)
    assert first.returncode == 0
    records = records_of(first.stdout)
    assert [r["changed"] for r in records] == [True] * 40
    assert sorted(Path(r["saved_to"]).name for r in records) == sorted(
        p.name for p in saved.iterdir()
    )
    assert all(Path(r["saved_to"]).read_bytes() == b"version 1" for r in records)
    server.versions[f"{name}-7"] = "version 2"
    second = run_fetchcli("--workers", "2", "--state", str(state), *urls)
    changed = [r["url"] for r in records_of(second.stdout) if r["changed"]]
    assert changed == [urls[7]]
    assert sum(r["status"] == 304 for r in records_of(second.stdout)) == 39


def test_per_host_limit_is_exact_across_workers(server: TestServer) -> None:
    """--per-host 2 with 3 workers of -c 10 each: the server never sees more than 2 requests at
    once from the run (every URL of an origin goes to one worker)."""
    urls = [f"{server.url}/slow/30?n={n}" for n in range(40)]
    done = run_fetchcli("--workers", "3", "-c", "10", "--per-host", "2", *urls)
    assert done.returncode == 0
    assert server.stats.peak_in_flight == 2


def test_one_host_is_shared_out_without_per_host(server: TestServer) -> None:
    """Without --per-host, one host's URLs use every worker: 2 workers of -c 5 have 10 in
    flight at once."""
    urls = [f"{server.url}/slow/200?n={n}" for n in range(40)]
    done = run_fetchcli("--workers", "2", "-c", "5", *urls)
    assert done.returncode == 0
    assert server.stats.peak_in_flight == 10


def test_rate_holds_for_the_whole_run(server: TestServer) -> None:
    """--rate 40 with 2 workers: 21 request starts span at least half a second, as in one
    process (each worker at the full rate would take half that)."""
    urls = [f"{server.url}/ok?n={n}" for n in range(21)]
    done = run_fetchcli("--workers", "2", "--rate", "40", *urls)
    assert done.returncode == 0
    arrivals = sorted(server.stats.arrivals)
    assert len(arrivals) == 21
    assert arrivals[-1] - arrivals[0] >= 0.45


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return status.split(") ", 1)[1].startswith("Z")  # a zombie has ended too


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_every_worker(server: TestServer, signum: int, code: int) -> None:
    """Ctrl-C (to the whole process group, as a terminal sends it) or SIGTERM: finished records
    are written, the exit status is 130/143, and no worker outlives the run."""
    urls = [f"{server.url}/hang?n={n}" for n in range(6)] + [f"{server.url}/ok"]
    proc = start_fetchcli(
        "-v", "--workers", "2", "--order", "completion", *urls, stdin=subprocess.DEVNULL
    )
    assert b"/ok -> 200" in read_line(proc, "stderr")  # -v: the ok URL has finished
    workers = _children(proc.pid)
    assert len(workers) == 2
    os.killpg(proc.pid, signum) if signum == signal.SIGINT else proc.send_signal(signum)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == code
    assert b"Traceback" not in err
    assert [r["url"] for r in records_of(out)] == [f"{server.url}/ok"]
    deadline = time.monotonic() + TIMEOUT
    while not all(_gone(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived the run"
        time.sleep(0.01)


def test_a_dead_worker_turns_its_urls_into_records(server: TestServer) -> None:
    """A worker killed mid-run: its unfinished URLs become records of kind `other` that say
    so, the other worker finishes its own, nothing is lost, exit 1."""
    hanging = [f"{server.url}/hang?n={n}" for n in range(4)]
    proc = start_fetchcli(
        "--workers", "2", "-c", "2", "-t", "1", *hanging, stdin=subprocess.DEVNULL
    )
    deadline = time.monotonic() + TIMEOUT
    while server.stats.in_flight < 4:  # every hanging request has reached the server
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(_children(proc.pid)[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1
    records = records_of(out)
    assert [r["url"] for r in records] == hanging  # each once, in input order
    errors = sorted((r["error"]["kind"], r["error"]["message"]) for r in records)
    lost = ("other", "worker process 1 was killed by SIGKILL")
    timed_out = ("timeout", "read timeout after 1s")  # the live worker's two, as -t 1 ends them
    assert errors == [lost, lost, timed_out, timed_out]
    assert b"Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_worker_counts_are_usage_errors(value: str) -> None:
    done = run_fetchcli("--workers", value, "http://127.0.0.1:9/")
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1
    assert "--workers" in done.stderr.decode()


def test_with_per_host_a_dead_workers_origins_move_on(server: TestServer) -> None:
    """--per-host routes by origin; once a worker is gone, its origins' later URLs go to a live
    worker instead of failing."""
    hanging = [f"{server.url}/hang?n={n}" for n in range(2)]
    later = [f"{server.url}/ok?n={n}" for n in range(30)]
    proc = start_fetchcli("--workers", "2", "--per-host", "2", "-c", "2", "-q", "-")
    assert proc.stdin is not None
    proc.stdin.write("".join(f"{u}\n" for u in hanging).encode())
    proc.stdin.flush()
    deadline = time.monotonic() + TIMEOUT
    while server.stats.in_flight < 2:  # both hanging requests reached the server
        assert time.monotonic() < deadline
        time.sleep(0.01)
    owner = [pid for pid in _children(proc.pid) if _holds_connections(pid)]
    assert len(owner) == 1
    os.kill(owner[0], signal.SIGKILL)
    while Path(f"/proc/{owner[0]}").exists():  # the parent has seen it go and reaped it
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.stdin.write("".join(f"{u}\n" for u in later).encode())
    proc.stdin.close()
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    assert proc.wait(timeout=TIMEOUT) == 1
    proc.stderr.close()
    proc.stdout.close()
    records = records_of(out)
    assert [r["error"]["kind"] for r in records[:2]] == ["other", "other"]
    assert [(r["status"], r["error"]) for r in records[2:]] == [(200, None)] * 30


def _holds_connections(pid: int) -> bool:
    """Whether the process has TCP sockets open (besides its socket pair to the parent)."""
    fds = Path(f"/proc/{pid}/fd")
    inodes = {os.readlink(fd).removeprefix("socket:[").rstrip("]") for fd in fds.iterdir()
              if os.readlink(fd).startswith("socket:")}  # fmt: skip
    tcp = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    return any(line.split()[9] in inodes for line in tcp)


def test_an_origin_stays_with_one_worker_while_it_has_room(origins: TestServer) -> None:
    """Many hosts, two URLs each, workers with room: each origin's URLs go to one worker, so
    each host costs one connection (and one name lookup), not one per worker. (--per-host 1:
    a worker sends an origin's two URLs one after the other, on one connection, whatever
    its transport's guess at when to wait for a connection being opened.)"""
    from tests.conftest import ORIGINS

    origins.reset()
    urls = [f"{origins.url_for(host)}/ok?n={n}" for host in ORIGINS[:40] for n in range(2)]
    done = run_fetchcli("--workers", "2", "-c", "100", "--per-host", "1", *urls)
    assert done.returncode == 0
    assert origins.stats.connections == 40


def test_workers_are_capped_at_the_cpus_the_run_may_use(server: TestServer, tmp_path) -> None:
    """--workers 999 on a process allowed one CPU (taskset): one warning, one process (no
    fork at all), every URL fetched."""
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{server.url}/ok?n={n}\n" for n in range(5)))
    done = subprocess.run(
        ["taskset", "-c", "0", *FETCHCLI, "-q", "--workers", "999", str(urls)],
        capture_output=True,
        env=subprocess_env(),
        timeout=TIMEOUT,
    )
    assert done.returncode == 0
    assert done.stderr.decode() == (
        "fetchcli: warning: --workers 999: 1 usable CPU here, so 1 worker\n"
    )
    assert [r["status"] for r in records_of(done.stdout)] == [200] * 5


# The installed entry point, with os.fork wrapped to note, in the parent, what it has imported
# at the moment each worker starts; and once more when the run is over.
_NOTING_FORKS = """
import json, os, sys
watched, notes = sys.argv[1].split(","), open(sys.argv[2], "a")
def note(when):
    notes.write(json.dumps([when, sorted(m for m in watched if m in sys.modules)]) + "\\n")
    notes.flush()
real_fork = os.fork
def fork():
    note("fork")
    return real_fork()
os.fork = fork
from fetchcli.cli import main
sys.argv = ["fetchcli", *sys.argv[3:]]
status = main()
note("end")
sys.exit(status)
"""
HTTP_LIBRARIES = ("httpx", "httpcore", "aiohttp", "aiodns", "pycares", "pycurl", "h2")


@pytest.mark.parametrize("transport", ["httpcore", "aiohttp", "curl"])
def test_the_parent_of_workers_imports_no_http_library(
    server: TestServer, tmp_path: Path, transport: str
) -> None:
    """--workers 2: when each worker starts, and when the run ends, the parent has imported
    none of httpx, httpcore, aiohttp, c-ares or libcurl (each worker loads its own after the
    fork), whichever transport the workers use; and the workers did fetch."""
    notes = tmp_path / "notes.jsonl"
    urls = [f"{server.url}/ok?n={n}" for n in range(4)]
    args = ("--workers", "2", "--transport", transport, "-q", *urls)
    done = subprocess.run(
        [sys.executable, "-c", _NOTING_FORKS, ",".join(HTTP_LIBRARIES), str(notes), *args],
        stdin=subprocess.DEVNULL, capture_output=True, env=subprocess_env(), timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert [r["status"] for r in records_of(done.stdout)] == [200] * 4
    noted = [json.loads(line) for line in notes.read_text().splitlines()]
    assert noted == [["fork", []], ["fork", []], ["end", []]]
