"""Self-check of the raw-asyncio test server in tests/server.py, driven by plain httpx."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import trustme

from tests.server import ANSI_HEADER, COMPRESSED_TEXT, TestServer


@pytest.fixture(scope="module")
def server() -> Iterator[TestServer]:
    srv = TestServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: TestServer) -> Iterator[httpx.Client]:
    server.reset()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def test_ok(client: httpx.Client) -> None:
    """/ok answers 200 hello world with a Content-Length."""
    response = client.get("/ok")
    assert response.status_code == 200
    assert response.text == "hello world"
    assert response.headers["content-length"] == "11"


def test_redirect_chain_ends_in_200(client: httpx.Client, server: TestServer) -> None:
    """/redirect/2 redirects twice, then answers 200 redirected."""
    response = client.get("/redirect/2", follow_redirects=True)
    assert response.status_code == 200
    assert response.text == "redirected"
    assert len(response.history) == 2
    assert server.stats.paths["/redirect/0"] == 1


def test_echo_reports_request(client: httpx.Client) -> None:
    """/echo returns the method, query, lower-cased headers and body as JSON."""
    response = client.post("/echo?a=1", headers={"X-Test": "yes"}, content=b"payload")
    data = response.json()
    assert (data["method"], data["path"], data["query"]) == ("POST", "/echo", "a=1")
    assert data["headers"]["x-test"] == "yes"
    assert data["body"] == "payload"


def test_gzip_is_decoded_by_httpx(client: httpx.Client) -> None:
    """/gzip sends a gzip-encoded body that httpx transparently decodes."""
    response = client.get("/gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == COMPRESSED_TEXT


def test_drip_streams_chunks(client: httpx.Client) -> None:
    """/drip sends the requested number of chunks with chunked transfer encoding."""
    with client.stream("GET", "/drip?chunks=3&delay_ms=10") as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.read() == b"ddd"


def test_ansi_reason_phrase_round_trips(client: httpx.Client) -> None:
    """/ansi puts escape sequences in the reason phrase and a header, unfiltered."""
    response = client.get("/ansi")
    assert "\x1b[31m" in response.reason_phrase
    assert response.headers["x-evil"] == ANSI_HEADER
    assert b"\x1b[2J" in response.content


def test_hold_counts_peak_in_flight(server: TestServer) -> None:
    """Five concurrent /hold requests are all in flight at once."""
    server.reset()
    barrier = threading.Barrier(5)

    def fetch(_: int) -> int:
        barrier.wait(timeout=10)
        return httpx.get(f"{server.url}/hold?ms=500", timeout=10).status_code

    with ThreadPoolExecutor(5) as pool:
        assert list(pool.map(fetch, range(5))) == [200] * 5
    assert server.stats.peak_in_flight == 5
    assert server.wait_idle()
    assert server.stats.requests == 5


def test_reset_aborts_connection(client: httpx.Client) -> None:
    """/reset drops the connection with a TCP RST instead of answering."""
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get("/reset")


def test_flaky_recovers_after_failures(client: httpx.Client) -> None:
    """/flaky/k?fail=2 fails twice with 503, then recovers."""
    codes = [client.get("/flaky/k?fail=2").status_code for _ in range(3)]
    assert codes == [503, 503, 200]


def test_keep_alive_reuses_one_connection(client: httpx.Client, server: TestServer) -> None:
    """Three requests over one client share a single TCP connection."""
    for _ in range(3):
        assert client.get("/ok").status_code == 200
    assert server.stats.connections == 1
    assert server.stats.requests == 3


def test_tls_server() -> None:
    """With an SSL context the server speaks HTTPS and its URL says so."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with TestServer(server_context) as srv, httpx.Client(verify=client_context) as http:
        assert srv.url.startswith("https://")
        assert http.get(f"{srv.url}/ok").text == "hello world"
