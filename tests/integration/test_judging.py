"""Checks and extraction against the real server, on each transport and over TLS: what a
monitor sees in its records (tests/integration/conftest.py runs each test per transport)."""

from __future__ import annotations

import datetime
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RunCli
from tests.server import TestServer

UP = 'json.status == "UP"'


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestServer, str]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with TestServer(ssl_context=context) as server:
        yield server, str(ca_file)


def test_health_checks_pass_and_fail_on_what_the_body_says(
    run_cli: RunCli, server: TestServer
) -> None:
    urls = [f"{server.url}/health", f"{server.url}/health-down", f"{server.url}/gzip-json"]
    result = run_cli("--check", UP, "--expect-header", "content-type: json", *urls, expect=1)
    up, down, gzipped = result.records
    assert up["error"] is None and up["checks"] == []
    assert down["error"] == {
        "kind": "check",
        "message": 'json.status == "UP": json was {"status": "DOWN"}',
    }
    assert down["checks"] == [UP]
    assert gzipped["error"] is None  # judged on the decoded body
    assert "1 failed (check 1)" in result.stderr


def test_a_status_check_and_a_transport_error_keep_their_own_kinds(
    run_cli: RunCli, server: TestServer
) -> None:
    urls = [f"{server.url}/status/404", f"{server.url}/status/503", "http://127.0.0.1:9/"]
    records = run_cli("--expect-status", "2xx,404", *urls, expect=1).records
    assert [r["error"] and r["error"]["kind"] for r in records] == [None, "check", "connect"]
    assert records[1]["error"]["message"] == "--expect-status 2xx,404: status was 503"
    assert records[2]["checks"] == []


def test_body_checks_and_slow(run_cli: RunCli, server: TestServer) -> None:
    records = run_cli(
        "--expect-body", r"version \d", "--reject-body", "(?i)error", "--slow", "0.001",
        f"{server.url}/page", f"{server.url}/slow/50", expect=1,
    ).records  # fmt: skip
    page, slow = records
    assert page["checks"] in ([], ["--slow 0.001"])  # a loaded machine may take 1 ms
    assert "--expect-body version \\d" in slow["checks"] and "--slow 0.001" in slow["checks"]
    assert "no match in" in slow["error"]["message"]


def test_extraction_from_json_html_headers_and_binary(run_cli: RunCli, server: TestServer) -> None:
    records = run_cli(
        "--extract", "version=json:$.build.version", "--extract", "ids=json:$.items[*].id",
        "--extract", "title=title", "--extract", "build=header:X-Build",
        "--extract", "release=re:version (\\d+\\.\\d+)",
        f"{server.url}/health", f"{server.url}/page", f"{server.url}/binary",
    ).records  # fmt: skip
    health, page, binary = (r["extract"] for r in records)
    assert health == {
        "version": "1.4.2", "ids": [1, 2], "title": None, "build": "1.4.2", "release": None,
    }  # fmt: skip
    # The title's escape sequence and markup arrive as text, never as control characters.
    assert page["title"] == "Café & Bar red [b]x[/b]" and page["release"] == "2.7"
    assert page["version"] is None and page["build"] is None
    assert set(binary.values()) == {None}
    assert all(r["error"] is None for r in records)  # extraction alone judges nothing


def test_checks_over_tls(run_cli: RunCli, tls: tuple[TestServer, str]) -> None:
    server, ca_file = tls
    records = run_cli(
        "--cacert", ca_file, "--check", UP, "--check", 'url.startsWith("https://")',
        "--extract", "v=json:$.build.version", f"{server.url}/health",
    ).records  # fmt: skip
    assert records[0]["error"] is None and records[0]["extract"] == {"v": "1.4.2"}


def test_where_filters_stdout_but_not_the_records_file(
    run_cli: RunCli, server: TestServer, tmp_path: Path
) -> None:
    log = tmp_path / "all.jsonl"
    urls = [f"{server.url}/health", f"{server.url}/health-down", f"{server.url}/status/500"]
    result = run_cli(
        "--check", UP, "--where", "size(checks) > 0", "--records", str(log), *urls, expect=1
    )
    assert [r["url"] for r in result.records] == urls[1:]
    assert len(log.read_text().splitlines()) == 3
    assert "1 left out by --where" in result.stderr


def test_bodies_are_held_for_checks_only_up_to_max_size(
    run_cli: RunCli, server: TestServer
) -> None:
    """A body past --max-size is a too-large error, not judged: nothing larger is held."""
    records = run_cli(
        "--max-size", "1000", "--expect-body", "x$", f"{server.url}/big/5000000", expect=1
    ).records
    assert records[0]["error"]["kind"] == "too-large" and records[0]["bytes"] == 1000


@pytest.fixture(scope="module")
def named_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestServer, str]]:
    """HTTPS for `localhost`: a name to look up, and a handshake to time."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with TestServer(ssl_context=context) as server:
        yield server, str(ca_file)


def _phases(record: dict[str, object]) -> dict[str, float | None]:
    timing = record["timing"]
    assert isinstance(timing, dict)
    return timing


def test_timings_of_a_fresh_and_a_reused_connection(
    request: pytest.FixtureRequest, run_cli: RunCli, named_tls: tuple[TestServer, str]
) -> None:
    """The first URL looks the name up, connects and shakes hands; the next ones reuse its
    connection, so they have no dns, connect or tls. The phases fit in the total."""
    server, ca_file = named_tls
    url = f"{server.url_for('localhost')}/ok"
    records = run_cli(
        "--timings", "--cacert", ca_file, "-c", "1", url, url + "?2", url + "?3"
    ).records
    fresh, *reused = (_phases(r) for r in records)
    transport = request.node.callspec.params["run_cli"]
    assert fresh["dns"] is not None and fresh["connect"] is not None
    # aiohttp makes the handshake inside its connect: it cannot tell the two apart.
    assert (fresh["tls"] is None) == (transport == "aiohttp")
    for timing in (fresh, *reused):
        assert timing["ttfb"] is not None and timing["queue"] is not None
        parts = sum(value or 0.0 for name, value in timing.items() if name != "total")
        assert timing["total"] is not None and parts <= timing["total"] + 1e-3
    assert all(t["dns"] is None and t["connect"] is None and t["tls"] is None for t in reused)
    assert {r["remote_ip"] for r in records} == {"127.0.0.1"}


def test_a_failed_connection_has_only_a_total_and_no_remote_ip(run_cli: RunCli) -> None:
    [record] = run_cli("--timings", "http://127.0.0.1:9/", expect=1).records
    assert record["remote_ip"] is None
    assert set(_phases(record).values()) - {None} == {_phases(record)["total"]}


def test_without_timings_records_have_a_remote_ip_and_no_timing(
    run_cli: RunCli, server: TestServer
) -> None:
    [record] = run_cli(f"{server.url}/ok").records
    assert record["remote_ip"] == "127.0.0.1" and "timing" not in record


@pytest.fixture(scope="module")
def expiring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestServer, str]]:
    """HTTPS whose certificate, made here, expires in ten days."""
    ca = trustme.CA(organization_name="fetchcli tests")
    not_after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=10, hours=1)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", not_after=not_after).configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with TestServer(ssl_context=context) as server:
        yield server, str(ca_file)


def test_tls_info_reads_the_certificate_once_per_connection(
    run_cli: RunCli, expiring: tuple[TestServer, str], server: TestServer
) -> None:
    """Every URL on the connection reports the certificate it was opened with; an http URL
    has no `tls`."""
    tls_server, ca_file = expiring
    url = f"{tls_server.url}/ok"
    records = run_cli(
        "--tls-info", "--cacert", ca_file, "-c", "1", url, url + "?2", f"{server.url}/ok"
    ).records
    first, reused, plain = records
    tls = first["tls"]
    assert tls["version"].startswith("TLSv1.") and tls["cipher"]
    assert "fetchcli tests" in tls["issuer"] and tls["sans"] == ["127.0.0.1", "localhost"]
    assert 10 <= tls["days_left"] < 10.1
    assert tls["not_after"].endswith("Z") and tls["not_before"] < tls["not_after"]
    assert reused["tls"] == tls
    assert "tls" not in plain


def test_cert_days_fails_a_certificate_about_to_expire(
    run_cli: RunCli, expiring: tuple[TestServer, str], tmp_path: Path
) -> None:
    tls_server, ca_file = expiring
    metrics = tmp_path / "m.prom"
    url = f"{tls_server.url}/ok"
    [soon] = run_cli(
        "--cacert", ca_file, "--cert-days", "14", "--metrics", str(metrics), url, expect=1
    ).records
    assert soon["checks"] == ["--cert-days 14"] and "tls" in soon  # --cert-days implies it
    assert soon["error"]["message"].startswith("--cert-days 14: the certificate expires in 10")
    [fine] = run_cli("--cacert", ca_file, "--cert-days", "7", url).records
    assert fine["error"] is None
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    [expiry] = families["fetchcli_ssl_earliest_cert_expiry"].samples
    assert abs(expiry.value - (time.time() + 10 * 86400 + 3600)) < 120


def test_a_check_can_read_timing_and_tls(run_cli: RunCli, expiring: tuple[TestServer, str]) -> None:
    """An expression naming them measures them, without --timings or --tls-info given."""
    tls_server, ca_file = expiring
    records = run_cli(
        "--cacert", ca_file, "--check", "timing.total < 60.0", "--check",
        'tls.version.startsWith("TLSv1.")', "--check", "tls.days_left > 30.0",
        f"{tls_server.url}/ok", expect=1,
    ).records  # fmt: skip
    assert records[0]["checks"] == ["tls.days_left > 30.0"]
    assert "tls was {" in records[0]["error"]["message"]


def test_under_state_a_304_is_judged_on_its_status_and_headers(
    run_cli: RunCli, server: TestServer, tmp_path: Path
) -> None:
    """The second run's 304 has no body: a body check does not fail it, a header check still
    judges it; a changed body is judged again in full."""
    state, name = tmp_path / "state.db", f"{tmp_path.name}-judged"
    url = f"{server.url}/versioned/{name}?etag=1"
    options = ("--state", str(state), "--expect-body", "^version", "--expect-header", "ETag: .")
    first = run_cli(*options, url).records[0]
    again = run_cli(*options, url).records[0]
    assert (first["status"], first["checks"]) == (200, [])
    assert (again["status"], again["checks"], again["error"]) == (304, [], None)
    server.versions[name] = "gone"
    changed = run_cli(*options, url, expect=1).records[0]
    assert changed["status"] == 200 and changed["checks"] == ["--expect-body ^version"]


def test_with_insecure_the_certificate_that_would_not_verify_is_still_reported(
    run_cli: RunCli, expiring: tuple[TestServer, str]
) -> None:
    tls_server, _ = expiring
    [record] = run_cli("-k", "--tls-info", f"{tls_server.url}/ok").records
    assert record["error"] is None and "fetchcli tests" in record["tls"]["issuer"]
