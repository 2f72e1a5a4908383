"""The installed program and the environment's proxies: a one-off fetch (the httpcore
transport, which `auto` picks for it) and an --http2 run go through HTTP_PROXY/HTTPS_PROXY."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.proxy_server import ProxyServer
from tests.server import TestServer

pytestmark = pytest.mark.e2e

FETCHCLI = [sys.executable, "-m", "fetchcli"]
TIMEOUT = 60


@pytest.fixture(scope="module")
def proxy() -> Iterator[ProxyServer]:
    with ProxyServer(hosts={"secure.invalid": "127.0.0.1"}) as proxy:
        yield proxy


def _run(*args: str, **variables: str) -> tuple[int, list[dict[str, Any]]]:
    """fetchcli in a subprocess with these proxy variables and no others; exit and records."""
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(variables)
    done = subprocess.run(
        [*FETCHCLI, "-q", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=TIMEOUT,
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def test_a_one_off_fetch_goes_through_http_proxy(server: TestServer, proxy: ProxyServer) -> None:
    """`HTTP_PROXY=… fetchcli URL`: the request reaches the proxy."""
    proxy.reset()
    url = f"{server.url}/ok"
    code, [record] = _run(url, HTTP_PROXY=proxy.url)
    assert (code, record["status"]) == (0, 200)
    assert proxy.targets() == [f"GET {url}"]


def test_worker_processes_go_through_http_proxy(server: TestServer, proxy: ProxyServer) -> None:
    """`--workers 2`: each worker process follows HTTP_PROXY as one process does."""
    proxy.reset()
    urls = [f"{server.url}/ok?n={n}" for n in range(4)]
    code, records = _run("--workers", "2", *urls, HTTP_PROXY=proxy.url)
    assert (code, [r["status"] for r in records]) == (0, [200] * 4)
    assert sorted(proxy.targets()) == [f"GET {url}" for url in urls]


def test_a_one_off_fetch_through_a_dead_proxy_fails(server: TestServer) -> None:
    """`HTTP_PROXY=http://127.0.0.1:1 fetchcli URL` fails with kind connect, never direct."""
    code, [record] = _run(f"{server.url}/ok", HTTP_PROXY="http://127.0.0.1:1")
    assert code == 1
    assert record["error"] == {"kind": "connect", "message": "connection refused"}
    assert server.stats.requests == 0


def test_an_http2_run_tunnels_through_https_proxy(proxy: ProxyServer, tmp_path: Path) -> None:
    """`--http2` with HTTPS_PROXY: a CONNECT to the proxy, TLS to the origin inside it."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("secure.invalid").configure_cert(context)
    proxy.reset()
    with TestServer(ssl_context=context) as tls_server:
        url = f"{tls_server.url_for('secure.invalid')}/ok"
        code, [record] = _run("--http2", "--cacert", str(ca_file), url, HTTPS_PROXY=proxy.url)
    assert (code, record["status"], record["snippet"]) == (0, 200, "hello world")
    assert proxy.targets() == [f"CONNECT secure.invalid:{tls_server.port}"]
