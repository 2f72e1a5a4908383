"""Judging what was fetched, run as a user runs it: the installed program in a subprocess
against the real test server. --check and its shorthands decide the exit status, --failed-out,
--metrics and the summary; --extract fills records, CSV columns and the table; --where thins
stdout only; a bad option stops the run before anything is fetched."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.test_terminal import _refused_url, run_in_terminal
from tests.helpers import FETCHCLI, TIMEOUT, records_of, run_fetchcli, subprocess_env, timeless
from tests.server import DOWN_BODY, HEALTH_BODY, TestServer

pytestmark = pytest.mark.e2e

UP = 'json.status == "UP"'
VERSION = "version=json:$.build.version"


def _urls(server: TestServer, args: list[str]) -> list[str]:
    return [server.url + arg if arg.startswith("/") else arg for arg in args]


def _summary(stderr: bytes) -> str:
    return next(line for line in stderr.decode().splitlines() if " ok, " in line)


# --- 1. exit status -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--check", UP, "/health"], 0),
        (["--check", UP, "/health", "/health-down"], 1),
        (["--expect-body", "UP", "--expect-header", r"X-Build: ^1\.4", "/health"], 0),
        (["--reject-body", "DOWN", "/health-down"], 1),
        (["--expect-status", "404", "/status/404"], 0),  # the status it expects is a success
        (["--expect-status", "2xx", "/status/404"], 1),
        (["--extract", VERSION, "/health-down"], 0),  # nothing found is no failure
        (["--fail-on", "error", "--check", UP, "/health-down"], 1),  # a check is an error
        (["--fail-on", "never", "--check", UP, "/health-down"], 0),
        (["--max-failures", "1", "--check", UP, "/health", "/health-down"], 0),
        (["--max-failures", "1", "--check", UP, "/health-down", "/health-down?again"], 1),
    ],
)
def test_exit_status_follows_the_checks(server: TestServer, args: list[str], code: int) -> None:
    done = run_fetchcli("--no-progress", *_urls(server, args))
    assert done.returncode == code, done.stderr


def test_a_failed_check_says_what_it_saw(server: TestServer) -> None:
    """The record names each failed check and the value it saw; the status is a check too."""
    urls = _urls(server, ["/health", "/health-down", "/status/500", _refused_url()])
    done = run_fetchcli("--no-progress", "--check", UP, *urls)
    up, down, error500, refused = records_of(done.stdout)
    assert up["error"] is None and up["checks"] == []
    assert down["error"] == {"kind": "check", "message": f'{UP}: json was {{"status": "DOWN"}}'}
    assert down["checks"] == [UP]
    assert error500["checks"] == ["status < 400", UP]
    assert error500["error"]["message"].startswith("status < 400: status was 500; ")
    assert refused["error"]["kind"] == "connect"  # a transport error keeps its kind
    assert "failed (check 2, connect 1)" in _summary(done.stderr)


# --- 2. bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--check", "status =="],
        ["--check", "nosuch == 1"],
        ["--expect-body", "(unclosed"],
        ["--expect-header", "no colon here"],
        ["--extract", "v=json:$["],
        ["--extract", "v=xml:/a"],
        ["--extract", "status=title"],  # a record field's name
        ["--expect-status", "7xx"],
        ["--where", "nosuch == 1"],
        ["--where", "json.status == 1"],  # --check's field, not the record's
        ["--where", "status == 200", "-f", "body"],  # bodies are written as they come
    ],
)
def test_bad_option_stops_before_any_fetch(server: TestServer, args: list[str]) -> None:
    done = run_fetchcli(*args, f"{server.url}/health")
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(f"fetchcli: error: {args[0]}: "), err
    assert "Traceback" not in err
    assert done.stdout == b""
    assert server.stats.requests == 0


# --- 3. --failed-out ------------------------------------------------------------------------


def test_failed_out_gives_the_reason_and_reruns_the_failures(
    server: TestServer, tmp_path: Path
) -> None:
    """A check failure goes to --failed-out under a `# check: ...` comment; fetchcli run on
    that file fetches those URLs again, and only them."""
    failed = tmp_path / "failed.txt"
    urls = _urls(server, ["/health", "/health-down", "/status/500", "/health?again"])
    first = run_fetchcli("--no-progress", "--check", UP, "--failed-out", str(failed), *urls)
    assert first.returncode == 1
    lines = failed.read_text().splitlines()
    assert len(lines) == 4
    assert lines[:2] == [f'# check: {UP}: json was {{"status": "DOWN"}}', urls[1]]
    assert lines[2].startswith("# check: status < 400: status was 500; ")
    assert lines[3] == urls[2]
    server.reset()
    again = run_fetchcli("--no-progress", str(failed))
    assert [r["url"] for r in records_of(again.stdout)] == [urls[1], urls[2]]
    assert dict(server.stats.paths) == {"/health-down": 1, "/status/500": 1}


# --- 4. --metrics ---------------------------------------------------------------------------


def _samples(text: str, name: str) -> dict[str, float]:
    """The samples of one metric family, by the value of their one label besides `run`."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                (label,) = (v for k, v in sample.labels.items() if k != "run")
                found[label] = sample.value
    return found


def test_metrics_count_failures_by_check(server: TestServer, tmp_path: Path) -> None:
    metrics = tmp_path / "judge.prom"
    urls = _urls(server, ["/health", "/health-down", "/health-down?2", "/status/503"])
    args = ("--check", UP, "--expect-header", "X-Build: 1", "--metrics", str(metrics))
    done = run_fetchcli("--no-progress", *args, *urls)
    assert done.returncode == 1
    text = metrics.read_text()
    assert _samples(text, "fetchcli_check_failures") == {
        UP: 3.0,
        "--expect-header X-Build: 1": 3.0,
        "status < 400": 1.0,
    }
    assert _samples(text, "fetchcli_errors")["check"] == 3.0


# --- 5. --where -----------------------------------------------------------------------------


def test_where_thins_stdout_only(server: TestServer, tmp_path: Path) -> None:
    """--where 'error == null' hides the failures from stdout, not from --records, the summary
    or the exit status."""
    records = tmp_path / "all.jsonl"
    urls = _urls(server, ["/health", "/health-down", "/health?2", "/status/500"])
    args = ("--check", UP, "--where", "error == null", "--records", str(records))
    done = run_fetchcli("--no-progress", *args, *urls)
    assert done.returncode == 1
    assert [r["url"] for r in records_of(done.stdout)] == [urls[0], urls[2]]
    assert [r["url"] for r in records_of(records.read_bytes())] == urls
    summary = _summary(done.stderr)
    assert "2 ok, 2 failed" in summary and "2 left out by --where" in summary


def test_where_reads_the_record_written(server: TestServer) -> None:
    """--where sees `checks` and `extract` as the records have them."""
    urls = _urls(server, ["/health", "/health-down", "/page"])
    where = 'extract.version == "1.4.2" || "title" in extract && extract.title != null'
    args = ("--extract", VERSION, "--extract", "title=title", "--where", where)
    done = run_fetchcli("--no-progress", *args, *urls)
    assert done.returncode == 0
    assert [r["url"] for r in records_of(done.stdout)] == [urls[0], urls[2]]
    assert "1 left out by --where" in _summary(done.stderr)


# --- 6, 7. many URLs, several processes -----------------------------------------------------


def _health_list(server: TestServer, path: Path, count: int) -> tuple[Path, set[str]]:
    """/health, every seventh one /health-down, each URL distinct; and the set of the down."""
    urls = [f"{server.url}/health{'-down' if n % 7 == 3 else ''}?n={n}" for n in range(count)]
    path.write_text("\n".join(urls) + "\n")
    return path, {url for url in urls if "/health-down" in url}


def test_two_workers_judge_as_one_process(server: TestServer, tmp_path: Path) -> None:
    listing, _ = _health_list(server, tmp_path / "urls.txt", 120)
    with listing.open("a") as out:
        out.write(f"{server.url}/page\n{server.url}/status/503\n")
    args = ("--no-progress", "--check", UP, "--expect-header", "X-Build: .", "--slow", "30")
    args += ("--extract", VERSION, "--extract", "t=title", "--extract", "b=header:X-Build")
    one = run_fetchcli(str(listing), *args)
    two = run_fetchcli(str(listing), *args, "--workers", "2")
    assert one.returncode == two.returncode == 1
    key = lambda r: r["line"]  # noqa: E731
    alone = sorted((timeless(r) for r in records_of(one.stdout)), key=key)
    split = sorted((timeless(r) for r in records_of(two.stdout)), key=key)
    assert split == alone and len(split) == 122
    assert alone[0]["extract"] == {"version": "1.4.2", "t": None, "b": "1.4.2"}
    assert alone[-2]["extract"]["t"] == "Café & Bar red [b]x[/b]"
    assert _summary(two.stderr).split(" · ")[0] == _summary(one.stderr).split(" · ")[0]


def test_a_thousand_urls_judged_in_input_order(server: TestServer, tmp_path: Path) -> None:
    listing, down = _health_list(server, tmp_path / "urls.txt", 1000)
    done = run_fetchcli(
        str(listing), "--no-progress", "-c", "50", "--order", "input", "--check", UP
    )
    assert done.returncode == 1
    records = records_of(done.stdout)
    assert [r["url"] for r in records] == listing.read_text().split()
    assert {r["url"] for r in records if r["checks"] == [UP]} == down
    assert all(r["error"] is None for r in records if r["url"] not in down)
    assert f"{1000 - len(down)} ok, {len(down)} failed (check {len(down)})" in _summary(done.stderr)


def test_merged_shards_keep_what_was_judged(server: TestServer, tmp_path: Path) -> None:
    """Two shards judged apart, merged: the CSV has the extract column, --where and the exit
    status see the checks, and a reader that leaves before reading ends the merge quietly."""
    listing, down = _health_list(server, tmp_path / "urls.txt", 30)
    shards = [tmp_path / f"shard-{n}.jsonl" for n in (1, 2)]
    for n, records in enumerate(shards, 1):
        run_fetchcli(str(listing), "-q", "--shard", f"{n}/2", "--check", UP, "--extract", VERSION,
                     "--records", str(records))  # fmt: skip
    merge = ("--merge", *map(str, shards))
    table = run_fetchcli(*merge, "-f", "csv", "--extract", VERSION)
    assert table.returncode == 1
    rows = list(csv.DictReader(io.StringIO(table.stdout.decode())))
    assert [row["version"] == "" for row in rows] == [row["url"] in down for row in rows]
    failed = run_fetchcli(*merge, "--where", "checks.size() > 0")
    assert {r["url"] for r in records_of(failed.stdout)} == down
    reader, writer = os.pipe()
    os.close(reader)  # `fetchcli --merge ... | true`
    with subprocess.Popen([*FETCHCLI, *merge], stdout=writer, stderr=subprocess.PIPE,
                          env=subprocess_env()) as proc:  # fmt: skip
        os.close(writer)
        assert proc.stderr is not None
        assert proc.wait(timeout=TIMEOUT) == 0
        assert proc.stderr.read() == b""


# --- 8. CSV ---------------------------------------------------------------------------------


def test_csv_has_a_column_per_extract(server: TestServer) -> None:
    urls = _urls(server, ["/health", "/gzip-json", "/health-down"])
    done = run_fetchcli(
        "-f", "csv", "--extract", VERSION, "--extract", "build=header:X-Build", *urls
    )
    assert done.returncode == 0
    rows = list(csv.reader(io.StringIO(done.stdout.decode())))
    header = rows[0]
    assert header[-2:] == ["version", "build"]
    table = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [(r["url"], r["version"], r["build"]) for r in table] == [
        (urls[0], "1.4.2", "1.4.2"),
        (urls[1], "1.4.2", ""),  # extracted from the decoded body
        (urls[2], "", ""),
    ]


# --- 9. the table at a terminal -------------------------------------------------------------


def test_table_shows_extracted_values_and_no_escape(server: TestServer) -> None:
    """At a terminal the extracted values stand where the snippet would, and /page's title,
    which holds an escape sequence and rich markup, shows as plain text."""
    urls = _urls(server, ["/health", "/page"])
    screen = run_in_terminal("--extract", VERSION, "--extract", "t=title", *urls, columns=160)
    rows = [line for line in screen.lines if line.startswith("│")]
    assert len(rows) == 2
    assert "version=1.4.2 t=null" in rows[0]
    assert "version=null t=Café & Bar red [b]x[/b]" in rows[1]
    assert "<!doctype" not in "\n".join(screen.lines)  # no snippet
    assert b"\x1b[31m" not in screen.raw and b"\x1b[0mred" not in screen.raw


# --- 10, 11. --list-fields, -f body ---------------------------------------------------------


def test_list_fields() -> None:
    done = run_fetchcli("--list-fields")
    assert done.returncode == 0
    listed = {line.split()[0] for line in done.stdout.decode().splitlines() if line[:2] == "  "}
    assert {"status", "body", "json", "headers", "extract", "checks", "error"} <= listed


def test_body_format_streams_bodies_and_exits_on_the_check(server: TestServer) -> None:
    urls = _urls(server, ["/health", "/health-down", "/health?2"])
    done = run_fetchcli("-f", "body", "--no-progress", "--expect-body", '"UP"', *urls)
    assert done.stdout == HEALTH_BODY + DOWN_BODY + HEALTH_BODY
    assert done.returncode == 1
    assert "2 ok, 1 failed (check 1)" in _summary(done.stderr)
