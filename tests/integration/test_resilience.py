"""Retries, deadlines, politeness and TLS against the real (and misbehaving) local server."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.conftest import RunCli
from tests.server import TestServer


def test_flaky_route_recovers_with_retries(run_cli: RunCli, server: TestServer) -> None:
    """Two 503s then 200: --retries 3 ends with 200 after three attempts."""
    [record] = run_cli(
        "--retries", "3", "--retry-backoff", "0.01", f"{server.url}/flaky/a?fail=2"
    ).records
    assert (record["status"], record["attempts"]) == (200, 3)
    assert server.stats.requests == 3


def test_retry_after_is_waited_for(run_cli, server) -> None:
    """A 429 with Retry-After: 1 is retried after about a second (capped at --retry-max-wait)."""
    [record] = run_cli(
        "--retries", "1", "--retry-max-wait", "0.3",
        f"{server.url}/flaky/b?fail=1&status=429&retry_after=1",
    ).records  # fmt: skip
    first, second = server.stats.arrivals
    assert record["status"] == 200
    assert 0.25 <= second - first < 1.0


def test_without_retries_failures_stand(run_cli, server) -> None:
    """--retries 0 (the default) reports the first 503."""
    [record] = run_cli(f"{server.url}/flaky/c?fail=1", expect=1).records
    assert (record["status"], record["attempts"]) == (503, 1)


def test_many_urls_many_retries_no_hang(run_cli, server) -> None:
    """300 flaky URLs at -c 20 with retries: each gets exactly one record, all recovered."""
    stdin = b"".join(f"{server.url}/flaky/k{i}?fail=2\n".encode() for i in range(300))
    records = run_cli("-c", "20", "--retries", "3", "--retry-backoff", "0.001", stdin=stdin).records
    assert [r["line"] for r in records] == list(range(1, 301))
    assert {(r["status"], r["attempts"]) for r in records} == {(200, 3)}
    assert server.stats.requests == 900


def test_max_time_stops_a_body_that_drips_forever(run_cli, server) -> None:
    """A server dripping a byte every 100 ms never trips -t 5, but --max-time 0.5 ends it."""
    url = f"{server.url}/drip?chunks=1000&delay_ms=100"
    [record] = run_cli("-t", "5", "--max-time", "0.5", url, expect=1).records
    assert record["error"]["kind"] == "deadline"
    assert 0 < record["bytes"] < 20
    assert record["elapsed"] < 3


def test_max_time_covers_backoff_waits(run_cli, server) -> None:
    """Retries waiting out a long Retry-After are cut by --max-time."""
    url = f"{server.url}/flaky/d?fail=100&retry_after=30"
    [record] = run_cli("--retries", "5", "--max-time", "0.5", url, expect=1).records
    assert record["error"]["kind"] == "deadline"


def test_per_host_caps_requests_to_one_origin(run_cli, server) -> None:
    """--per-host 2 holds two in flight to the server even at -c 10."""
    stdin = b"".join(f"{server.url}/hold?ms=40&n={i}\n".encode() for i in range(20))
    run_cli("-c", "10", "--per-host", "2", stdin=stdin)
    assert server.stats.peak_in_flight == 2


def test_rate_spaces_request_starts(run_cli, server) -> None:
    """--rate 20/s: eight requests start about 50 ms apart, never in a burst."""
    urls = [f"{server.url}/ok?n={i}" for i in range(8)]
    run_cli("-c", "8", "--rate", "20/s", *urls)
    arrivals = sorted(server.stats.arrivals)[1:]  # the first also waits for a new connection
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert min(gaps) > 0.025  # no burst
    assert arrivals[-1] - arrivals[0] >= 0.25


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _tls_server(ca: trustme.CA, **cert_options: datetime.datetime) -> Iterator[TestServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", **cert_options).configure_cert(context)
    server = TestServer(ssl_context=context)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA) -> Iterator[TestServer]:
    yield from _tls_server(ca)


@pytest.fixture(scope="module")
def expired_server(ca: trustme.CA) -> Iterator[TestServer]:
    now = datetime.datetime.now(datetime.UTC)
    yield from _tls_server(
        ca, not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=1)
    )


def test_untrusted_certificate_is_a_tls_error(run_cli, tls_server) -> None:
    """A certificate from an unknown CA fails with kind 'tls' and is not retried."""
    [record] = run_cli("--retries", "2", f"{tls_server.url}/ok", expect=1).records
    assert record["error"]["kind"] == "tls"
    assert record["attempts"] == 1


def test_cacert_trusts_the_server(run_cli, tls_server, ca, tmp_path: Path) -> None:
    """--cacert with the CA's certificate makes the same server fetch fine."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    [record] = run_cli("--cacert", str(ca_file), f"{tls_server.url}/ok").records
    assert (record["status"], record["snippet"]) == (200, "hello world")


def test_insecure_skips_the_check_and_warns(run_cli, tls_server) -> None:
    """-k fetches from the untrusted server and says so on stderr."""
    result = run_cli("-k", f"{tls_server.url}/ok")
    assert result.records[0]["status"] == 200
    assert "warning: TLS certificate verification is disabled" in result.stderr


def test_expired_certificate_is_a_tls_error(run_cli, expired_server, ca, tmp_path) -> None:
    """An expired certificate fails with kind 'tls' even from a trusted CA."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    [record] = run_cli("--cacert", str(ca_file), f"{expired_server.url}/ok", expect=1).records
    assert record["error"]["kind"] == "tls"
    assert "expired" in record["error"]["message"]


def test_missing_cacert_is_a_usage_error(run_cli, tmp_path) -> None:
    """--cacert naming a missing file: exit 2 before anything is fetched."""
    result = run_cli("--cacert", str(tmp_path / "nope.pem"), "https://127.0.0.1:1/", expect=2)
    assert "cannot read" in result.stderr


def test_http2_flag_falls_back_to_http11_when_not_offered(
    run_cli, tls_server, ca, tmp_path
) -> None:
    """--http2 against a server that offers only HTTP/1.1 (ALPN) still fetches."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    args = ["--transport", "auto", "--http2", "--cacert", str(ca_file), f"{tls_server.url}/ok"]
    [record] = run_cli(*args).records  # the last --transport wins: auto picks httpcore
    assert (record["status"], record["http_version"]) == (200, "HTTP/1.1")
