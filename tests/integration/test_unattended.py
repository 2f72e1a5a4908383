"""Unattended runs against the real server: --state over three runs (ETag, Last-Modified,
neither), --changed-only, --failed-out, --max-failures, --dry-run, --metrics."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fetchcli.state import StateStore
from tests.conftest import RunCli
from tests.server import TestServer


def _changed(records: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(r["status"], r["changed"]) for r in records]


def test_state_over_three_runs(run_cli: RunCli, server: TestServer, tmp_path: Path) -> None:
    """New URLs are changed; unchanged ones come back as 304 (validators sent) or with the same
    hash; a changed body is changed; a failed fetch is null and leaves its state alone."""
    state, name = tmp_path / "state.db", tmp_path.name  # the server outlives one test
    urls = [
        f"{server.url}/versioned/{name}-etag?etag=1",
        f"{server.url}/versioned/{name}-lastmod?lastmod=1",
        f"{server.url}/versioned/{name}-plain",
        "http://127.0.0.1:9/",
    ]
    first = run_cli("--state", str(state), *urls, expect=1).records
    assert _changed(first) == [(200, True), (200, True), (200, True), (None, None)]
    second = run_cli("--state", str(state), *urls, expect=1).records
    assert _changed(second) == [(304, False), (304, False), (200, False), (None, None)]
    assert [r["bytes"] for r in second[:2]] == [0, 0] and second[0]["error"] is None
    server.versions.update({f"{name}-etag": "version 2", f"{name}-plain": "version 2"})
    third = run_cli("--state", str(state), *urls, expect=1).records
    assert _changed(third) == [(200, True), (304, False), (200, True), (None, None)]
    rows = sqlite3.connect(state).execute("SELECT url FROM urls").fetchall()
    assert sorted(url for (url,) in rows) == sorted(urls[:3])  # the failure never stored


def test_a_304_is_not_a_failure_and_saves_nothing(run_cli, server, tmp_path) -> None:
    """With --save, an unchanged URL (304) writes no file; the run exits 0."""
    state, out = tmp_path / "state.db", tmp_path / "out"
    url = f"{server.url}/versioned/{tmp_path.name}?etag=1"
    run_cli("--state", str(state), "--save", str(out), url)
    first = set(out.iterdir())
    [record] = run_cli("--state", str(state), "--save", str(out), url).records
    assert (record["status"], record["saved_to"], record["changed"]) == (304, None, False)
    assert set(out.iterdir()) == first


def test_changed_only(run_cli, server, tmp_path) -> None:
    """stdout gets only what changed and what failed; --records still gets every record."""
    state, log = tmp_path / "state.db", tmp_path / "log.jsonl"
    x, y = f"{tmp_path.name}-x", f"{tmp_path.name}-y"
    urls = [f"{server.url}/versioned/{x}", f"{server.url}/versioned/{y}"]
    urls.append(f"{server.url}/status/500")
    run_cli("--state", str(state), *urls, expect=1)
    server.versions[y] = "y changed"
    args = ("--state", str(state), "--changed-only", "--records", str(log), *urls)
    records = run_cli(*args, expect=1).records
    assert [r["url"] for r in records] == urls[1:]
    assert len(log.read_text().splitlines()) == 3


def test_changed_only_needs_state(run_cli) -> None:
    """--changed-only without --state is a usage error."""
    result = run_cli("--changed-only", "https://a.test/", expect=2)
    assert "--changed-only: needs --state FILE" in result.stderr


@pytest.mark.parametrize("order", ["input", "completion"])
def test_failed_out_lists_the_failures_to_retry(run_cli, server, tmp_path, order) -> None:
    """Every failed URL, in input order whatever --order says, after a comment saying why;
    fetching the file again fetches exactly those."""
    failed = tmp_path / "failed.txt"
    urls = [
        f"{server.url}/slow/200",
        f"{server.url}/status/404",
        f"{server.url}/ok",
        "http://127.0.0.1:9/",
        f"{server.url}/status/503",
    ]
    run_cli("--order", order, "--failed-out", str(failed), *urls, expect=1)
    assert failed.read_text() == (
        f"# http 404: Not Found\n{urls[1]}\n"
        f"# connect: connection refused\n{urls[3]}\n"
        f"# http 503: Service Unavailable\n{urls[4]}\n"
    )
    again = run_cli(str(failed), expect=1).records
    assert [r["url"] for r in again] == [urls[1], urls[3], urls[4]]


@pytest.mark.parametrize(
    ("limit", "code"), [("0", 1), ("1", 1), ("2", 0), ("50%", 0), ("40%", 0), ("39%", 1)]
)
def test_max_failures(run_cli, server, limit, code) -> None:
    """Exit 1 only past the threshold: 2 of 5 URLs fail here."""
    urls = [f"{server.url}/ok?n={n}" for n in range(3)] + [f"{server.url}/status/500"] * 2
    run_cli("--max-failures", limit, *urls, expect=code)


def test_a_bad_max_failures_is_a_usage_error(run_cli) -> None:
    result = run_cli("--max-failures", "lots", "https://a.test/", expect=2)
    assert result.stderr.startswith("fetchcli: error: --max-failures: must be a number of URLs")
    assert result.stderr.count("\n") == 1


def test_dry_run_fetches_nothing(run_cli, server, tmp_path) -> None:
    """The effective URLs in input order on stdout; invalid lines and per-host counts on
    stderr; no request reaches the server; exit 0."""
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{server.url}/a\nexample.test/b\nftp://no\n{server.url}/a\n")
    result = run_cli("--dry-run", "--dedupe", str(listing))
    assert result.stdout.decode().splitlines() == [f"{server.url}/a", "https://example.test/b"]
    assert f"line 3 of {listing}: invalid-url: unsupported scheme 'ftp'" in result.stderr
    assert "2 URLs on 2 hosts, 1 skipped; nothing was fetched" in result.stderr
    assert server.stats.requests == 0


def test_metrics_file_parses_as_prometheus(run_cli, server, tmp_path) -> None:
    """The metrics file, read back by Prometheus' own parser, counts what the run did."""
    metrics = tmp_path / "fetchcli.prom"
    urls = [f"{server.url}/ok", f"{server.url}/status/404", "http://127.0.0.1:9/"]
    run_cli("--metrics", str(metrics), *urls, expect=1)
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families.values()
        for s in family.samples
    }
    run = ("run", "fetchcli")  # the file's name: each run's series are its own
    assert samples[("fetchcli_urls", (("result", "ok"), run))] == 1
    assert samples[("fetchcli_urls", (("result", "failed"), run))] == 2
    assert samples[("fetchcli_errors", (("kind", "connect"), run))] == 1
    assert samples[("fetchcli_responses", (("code", "404"), run))] == 1
    assert samples[("fetchcli_request_duration_seconds_count", (run,))] == 3
    assert families["fetchcli_request_duration_seconds"].type == "histogram"
    assert samples[("fetchcli_run_duration_seconds", (run,))] > 0
    assert samples[("fetchcli_last_run_timestamp_seconds", (run,))] > 1.7e9


def test_summary_has_latency_percentiles(run_cli, server) -> None:
    """The summary ends with p50, p90 and p99 of the per-URL times."""
    result = run_cli(*[f"{server.url}/slow/{ms}" for ms in (10, 20, 300)])
    assert " · p50 " in result.stderr and ", p99 3" in result.stderr


def test_a_state_file_another_run_holds(run_cli, server, tmp_path) -> None:
    """Cron started the next run before the last one ended: exit 2 at once, one line, nothing
    fetched."""
    state = tmp_path / "state.db"
    holder = StateStore(state)
    try:
        result = run_cli("--state", str(state), f"{server.url}/ok", expect=2)
    finally:
        holder.close()
    assert result.stdout == b""
    assert result.stderr == (
        f"fetchcli: error: --state: cannot use '{state}': in use by another fetchcli run\n"
    )


def test_a_state_file_that_is_something_else(run_cli, server, tmp_path) -> None:
    """--state pointed at the URL list by mistake: exit 2, and the list is left alone."""
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{server.url}/ok\n")
    result = run_cli("--state", str(listing), str(listing), expect=2)
    assert "not a fetchcli state file" in result.stderr
    assert listing.read_text() == f"{server.url}/ok\n"


def test_state_with_csv_and_body_formats(run_cli, server, tmp_path) -> None:
    """CSV gains a `changed` column; -f body writes the body when it came and nothing for a
    304."""
    state, url = tmp_path / "state.db", f"{server.url}/versioned/{tmp_path.name}?etag=1"
    first = run_cli("--state", str(state), "-f", "csv", url).stdout.decode().splitlines()
    assert first[0].endswith(",changed") and first[1].endswith(",true")
    second = run_cli("--state", str(state), "-f", "csv", url).stdout.decode().splitlines()
    assert ",304," in second[1] and second[1].endswith(",false")
    server.versions[tmp_path.name] = "version 2"
    assert run_cli("--state", str(state), "-f", "body", url).stdout == b"version 2"
    assert run_cli("--state", str(state), "-f", "body", url).stdout == b""
