"""Many hosts: the connection bound over hundreds of origins, --max-keepalive 0, input order
behind a slow URL, and names resolved through c-ares (/etc/hosts, NXDOMAIN, a silent server)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ORIGINS, RunCli
from tests.dns_server import DOMAIN, SILENT, DnsServer, resolver_sandbox, sandbox_available
from tests.server import TestServer

TRANSPORTS = ["aiohttp", "httpcore", "curl"]
TIMEOUT = 60


def _fetchcli(
    *args: str, prefix: tuple[str, ...] = (), stdout: int = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "fetchcli", *args],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
    )


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _sockets(pid: int) -> int:
    """How many sockets the process has open (0 once it has ended)."""
    targets = []
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):  # closed while we looked
                targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return sum(target.startswith("socket:") for target in targets)


def _peak_sockets(proc: subprocess.Popen[bytes]) -> int:
    """Watch the process's sockets until it ends; the most seen at once."""
    peak = 0
    deadline = time.monotonic() + TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        peak = max(peak, _sockets(proc.pid))
        time.sleep(0.001)  # a sampling pace: the server thread in this process needs the GIL
    return peak


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_open_connections_never_exceed_max_connections(
    origins: TestServer, tmp_path: Path, transport: str
) -> None:
    """512 URLs on 256 origins, -c 20 --max-connections 30: in use plus idle connections never
    pass 30 (idle ones are closed to make room), and every URL succeeds."""
    urls = tmp_path / "urls.txt"
    urls.write_text(
        "".join(f"{origins.url_for(host)}/ok?n={n}\n" for n in (1, 2) for host in ORIGINS)
    )
    out = tmp_path / "records.jsonl"
    args = ("--transport", transport, "-c", "20", "--max-connections", "30", "--records", str(out))
    proc = _fetchcli("-q", *args, str(urls), stdout=subprocess.DEVNULL)
    peak = _peak_sockets(proc)
    assert proc.wait(timeout=TIMEOUT) == 0
    proc.stderr.close()
    records = _records(out)
    assert len(records) == 512 and all(r["status"] == 200 for r in records)
    assert 20 <= peak <= 30 + 2  # + the event loop's own wake-up socket pair


def test_max_keepalive_zero_means_no_reuse(run_cli: RunCli, server: TestServer) -> None:
    """--max-keepalive 0: four requests one after another use four connections."""
    urls = [f"{server.url}/ok?n={n}" for n in range(4)]
    run_cli("-c", "1", "--max-keepalive", "0", *urls)
    assert server.stats.requests == 4
    assert server.stats.connections == 4


def test_connections_are_reused_by_default(run_cli: RunCli, server: TestServer) -> None:
    """Without --max-keepalive the same four requests share one connection."""
    run_cli("-c", "1", *[f"{server.url}/ok?n={n}" for n in range(4)])
    assert server.stats.connections == 1


def _records_of(transport: str, *args: str) -> list[dict[str, object]]:
    proc = _fetchcli("--transport", transport, *args)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("transport", ["aiohttp", "curl"])
def test_two_urls_on_one_host_share_a_connection(server: TestServer, transport: str) -> None:
    """Two URLs on one host started together do not open two connections when the first
    answers at once: the second waits for it (no longer than opening one takes)."""
    _records_of(transport, "-c", "2", f"{server.url}/ok?n=1", f"{server.url}/ok?n=2")
    assert server.stats.requests == 2
    assert server.stats.connections == 1


@pytest.mark.parametrize("transport", ["aiohttp", "curl"])
def test_a_slow_request_does_not_hold_the_next_one_on_its_host(
    server: TestServer, transport: str
) -> None:
    """When the first request on a host is slow, the second opens its own connection instead
    of waiting for it."""
    slow, quick = _records_of(transport, "-c", "2", f"{server.url}/slow/1000", f"{server.url}/ok")
    assert server.stats.connections == 2
    assert quick["elapsed"] < 0.5 < slow["elapsed"]


def test_input_order_does_not_stall_behind_a_slow_url(run_cli: RunCli, server: TestServer) -> None:
    """A slow first URL holds back the records, not the work: the 400 URLs behind it are all
    fetched while it is still running (8 x -c used to stop the run after 32)."""
    stdin = f"{server.url}/slow/3000\n".encode() + b"".join(
        f"{server.url}/ok?n={n}\n".encode() for n in range(400)
    )
    records = run_cli("-c", "4", stdin=stdin).records
    assert [r["line"] for r in records] == list(range(1, 402))
    head_answered = min(server.stats.arrivals) + 3.0
    assert sum(arrival < head_answered for arrival in server.stats.arrivals) == 401


# --- names ------------------------------------------------------------------------------

needs_sandbox = pytest.mark.skipif(
    not sandbox_available(), reason="needs root and unshare -m for a private /etc/resolv.conf"
)


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServer]:
    server = DnsServer()
    yield server
    server.stop()


def _in_sandbox(tmp_path: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    prefix = resolver_sandbox(tmp_path, "127.0.0.1 localhost\n127.0.0.1 listed.example\n")
    proc = _fetchcli(*args, prefix=tuple(prefix))
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, [json.loads(line) for line in out.splitlines()], err.decode()


@needs_sandbox
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_etc_hosts_still_answers(
    dns: DnsServer, server: TestServer, tmp_path: Path, transport: str
) -> None:
    """A name in /etc/hosts resolves without asking the DNS server."""
    url = f"{server.url_for('listed.example')}/ok"
    code, [record], err = _in_sandbox(tmp_path, "--transport", transport, url)
    assert code == 0, err
    assert record["status"] == 200
    assert dns.asked("listed.example") == 0


@needs_sandbox
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_name_is_resolved_once_per_run(
    dns: DnsServer, server: TestServer, tmp_path: Path, transport: str
) -> None:
    """Twenty URLs on one name, four at a time, over connections that close after each
    request: the DNS server is asked once."""
    name = f"once-{transport}.{DOMAIN}"
    urls = [f"{server.url_for(name)}/ok?n={n}" for n in range(20)]
    args = ("--transport", transport, "-c", "4", "--max-keepalive", "0", *urls)
    code, records, err = _in_sandbox(tmp_path, *args)
    assert code == 0, err
    assert len(records) == 20 and all(r["status"] == 200 for r in records)
    assert dns.asked(name) == 1


@needs_sandbox
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_name_is_a_dns_error_at_once(
    dns: DnsServer, tmp_path: Path, transport: str
) -> None:
    """NXDOMAIN: error kind dns with a plain message, without waiting for any timeout."""
    url = "http://no-such-name.example/"
    code, [record], err = _in_sandbox(tmp_path, "--transport", transport, url)
    assert code == 1
    assert record["error"] == {"kind": "dns", "message": record["error"]["message"]}
    assert "name not found" in record["error"]["message"]
    assert record["elapsed"] < 2


@needs_sandbox
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_silent_dns_server_is_a_dns_error_within_the_timeout(
    dns: DnsServer, tmp_path: Path, transport: str
) -> None:
    """A DNS server that never answers: kind dns (not a connect timeout) within -t."""
    url = f"http://x.{SILENT}/"
    code, [record], err = _in_sandbox(tmp_path, "--transport", transport, "-t", "1", url)
    assert code == 1
    assert record["error"]["kind"] == "dns"
    assert "no answer from the DNS server" in record["error"]["message"]
    assert record["elapsed"] < 3
