"""HTTP/2 and HTTP/3 against local servers that speak only them (tests/h2_server.py, an h2-only
HTTPS server; tests/h3_server.py, aioquic on UDP with nothing on the TCP port): the version
reaches the records, streams share one connection within the pool bound, and HTTP/3 falls
back to TCP where the server has no QUIC."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

import fetchcli
from fetchcli.http.transports.curl.transport import has_http3
from tests.conftest import CliResult, RunCli
from tests.h2_server import H2Server
from tests.h3_server import H3Server
from tests.server import TestServer

needs_http3 = pytest.mark.skipif(
    not has_http3(), reason="the libcurl under pycurl was built without HTTP/3 (no ngtcp2)"
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def h2_server(ca: trustme.CA) -> Iterator[H2Server]:
    server = H2Server(ca)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def h3_server(ca: trustme.CA) -> Iterator[H3Server]:
    server = H3Server(ca)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def h1_server(ca: trustme.CA) -> Iterator[TestServer]:
    """HTTPS with HTTP/1.1 only, over TCP only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with TestServer(ssl_context=context) as server:
        yield server


@pytest.fixture
def run_h2(
    request: pytest.FixtureRequest, run_cli: RunCli, h2_server: H2Server, ca_file: str
) -> Callable[..., CliResult | None]:
    """Run with --http2 on this folder's transport: its result on httpcore and curl; None on
    aiohttp, which speaks HTTP/1.1 only and must refuse before anything is fetched."""
    refused = request.node.callspec.params["run_cli"] == "aiohttp"

    def run(*args: str, stdin: bytes = b"") -> CliResult | None:
        result = run_cli("--http2", "--cacert", ca_file, *args, stdin=stdin, expect=None)
        if refused:
            assert result.code == 2
            assert "--http2: needs --transport httpcore or curl" in result.stderr
            assert h2_server.stats.requests == 0
            return None
        assert result.code == 0, result.stderr
        return result

    return run


def test_http2_is_spoken_and_recorded(run_h2, h2_server: H2Server) -> None:
    """--http2 to a server that speaks only HTTP/2: the record says HTTP/2, the body arrives."""
    if (result := run_h2(f"{h2_server.url}/ok")) is None:
        return
    [record] = result.records
    assert (record["status"], record["reason"], record["http_version"]) == (200, "OK", "HTTP/2")
    assert (record["snippet"], record["bytes"]) == ("ok", 2)


def test_http2_streams_share_one_connection_within_the_bound(run_h2, h2_server) -> None:
    """-c 8 --max-connections 1: eight requests open at once (each /gather/8 answers only when
    all eight are) on the one connection the bound allows."""
    stdin = f"{h2_server.url}/gather/8\n".encode() * 8
    if (result := run_h2("-c", "8", "--max-connections", "1", stdin=stdin)) is None:
        return
    assert len(result.records) == 8
    assert {(r["status"], r["http_version"], r["snippet"]) for r in result.records} == {
        (200, "HTTP/2", "gathered")
    }
    assert (h2_server.stats.connections, h2_server.stats.peak_streams) == (1, 8)


def test_http2_bodies_past_the_flow_control_window(run_h2, h2_server) -> None:
    """Bodies past HTTP/2's initial 64 KiB window, several at once, arrive whole."""
    stdin = b"".join(f"{h2_server.url}/bytes/{300_000 + i}\n".encode() for i in range(4))
    if (result := run_h2("-c", "4", stdin=stdin)) is None:
        return
    assert [(r["status"], r["bytes"]) for r in result.records] == [
        (200, 300_000 + i) for i in range(4)
    ]


def _fetch(urls: list[str], ca_file: str, **options: object) -> list[dict[str, object]]:
    return list(fetchcli.fetch(urls, transport="curl", http3=True, cacert=ca_file, **options))


@needs_http3
def test_http3_is_spoken_and_recorded(h3_server: H3Server, ca_file) -> None:
    """http3 on the curl transport, to a server on UDP alone: HTTP/3 it is, body and all."""
    [record] = _fetch([f"{h3_server.url}/ok"], ca_file)
    assert (record["status"], record["reason"], record["http_version"]) == (200, "OK", "HTTP/3")
    assert (record["snippet"], record["bytes"]) == ("ok", 2)
    [big] = _fetch([f"{h3_server.url}/bytes/1000000"], ca_file)
    assert (big["status"], big["bytes"]) == (200, 1_000_000)


@needs_http3
def test_http3_streams_share_one_connection(h3_server: H3Server, ca_file) -> None:
    """Six requests open at once on one QUIC connection, within --max-connections 1."""
    urls = [f"{h3_server.url}/gather/6"] * 6
    records = _fetch(urls, ca_file, concurrency=6, max_connections=1)
    assert {(r["status"], r["http_version"], r["snippet"]) for r in records} == {
        (200, "HTTP/3", "gathered")
    }
    assert (h3_server.stats.connections, h3_server.stats.peak_streams) == (1, 6)


@needs_http3
def test_http3_falls_back_to_tcp(h1_server: TestServer, h2_server: H2Server, ca_file) -> None:
    """http3 to servers with no QUIC: fetched over TCP all the same, as HTTP/1.1 or HTTP/2
    as the server's ALPN offers (curl's --http3, not --http3-only)."""
    [h1] = _fetch([f"{h1_server.url}/ok"], ca_file)
    [h2] = _fetch([f"{h2_server.url}/ok"], ca_file)
    assert (h1["status"], h1["http_version"]) == (200, "HTTP/1.1")
    assert (h2["status"], h2["http_version"]) == (200, "HTTP/2")


@needs_http3
def test_http3_with_an_untrusted_certificate_is_a_tls_error(
    h3_server: H3Server, tmp_path: Path
) -> None:
    """A QUIC handshake refused for the certificate reads as a TLS failure, as over TCP."""
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    [record] = _fetch([f"{h3_server.url}/ok"], str(other))
    assert record["status"] is None
    assert record["error"] == {  # libcurl says no more over QUIC
        "kind": "tls",
        "message": "certificate verify failed: the server's certificate was not accepted",
    }


def test_http3_on_another_transport_is_refused() -> None:
    """From Python too: HTTP/3 is libcurl's alone, and asking httpcore for it is a ValueError."""
    with pytest.raises(ValueError, match="^http3: needs --transport curl"):
        fetchcli.fetch(["https://a.test/"], transport="httpcore", http3=True)
