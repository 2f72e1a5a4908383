"""HTTP/2 against a local server that speaks only it (tests/h2_server.py): the version reaches
the records, and streams share one connection within the pool bound."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import trustme

from tests.conftest import CliResult, RunCli
from tests.h2_server import H2Server


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
