"""The command line in-process: usage errors, terminal-dependent defaults, exit statuses."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from fetchcli._version import __version__
from fetchcli.input.filters import shard_of
from tests.conftest import RunCli


@pytest.fixture
def transport() -> httpx.MockTransport:
    router = respx.Router(assert_all_called=False)
    router.get(url__regex=r"https://([^@/]*@)?ok\.test/.*").respond(200, text="fine")
    router.get("https://missing.test/").respond(404, text="gone")
    router.get("https://down.test/").mock(side_effect=httpx.ConnectError("refused"))
    return httpx.MockTransport(router.async_handler)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2", "https://ok.test/"], "--shard: must be I/N with 1 <= I <= N"),
        (["--shard", "x", "https://ok.test/"], "--shard: must be I/N"),
        (["-H", "X-A: 1\r\nX-B: 2", "https://ok.test/"], "-H: contains CR or LF"),
        (["-H", "no colon", "https://ok.test/"], "-H: must be 'Name: value'"),
        (["--max-size", "lots", "https://ok.test/"], "--max-size: not a size: 'lots'"),
        (["-c", "0", "https://ok.test/"], "--concurrency: must be at least 1, got 0"),
        (["-c", "many", "https://ok.test/"], "--concurrency: must be a whole number"),
        (["-c"], "-c: needs a value"),
        (["-f", "xml", "https://ok.test/"], "--format: 'xml' is not one of"),
        (["-u", "nopassword", "https://ok.test/"], "--user: must be USER:PASS"),
        (["-X", "GE T", "https://ok.test/"], "--method: not an HTTP method: 'GE T'"),
        (["--proxy", "ftp://proxy.test", "https://ok.test/"], "--proxy: unsupported scheme"),
        (["--nope"], "--nope: no such option"),
        (["--concurency", "3"], "--concurency: no such option (did you mean --concurrency?)"),
        (["--http2", "--transport", "aiohttp", "https://ok.test/"], "--http2: needs --transport"),
        (["missing-file.txt"], "cannot read 'missing-file.txt': No such file or directory"),
        (["-d", "@missing-body"], "--data: cannot read 'missing-body'"),
        (["--cacert", "missing.pem", "https://ok.test/"], "--cacert: cannot read 'missing.pem'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(run_cli: RunCli, transport, args, message) -> None:
    """Every user mistake prints one 'fetchcli: error:' line, exits 2 and fetches nothing."""
    result = run_cli(*args, transport=transport, expect=2)
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("fetchcli: error: ")
    assert message in result.stderr
    assert result.stdout == b""


def test_unreadable_file_stops_everything_before_fetching(run_cli, tmp_path, transport) -> None:
    """A bad file anywhere in SOURCE fails the run before the good ones are fetched."""
    good = tmp_path / "good.txt"
    good.write_text("https://ok.test/a\n")
    result = run_cli(str(good), str(tmp_path), transport=transport, expect=2)
    assert "Is a directory" in result.stderr
    assert result.stdout == b""


def test_no_source_on_a_terminal_is_a_usage_error(run_cli) -> None:
    """With no SOURCE and stdin a terminal there is nothing to read: exit 2."""
    result = run_cli(stdin_isatty=True, expect=2)
    assert "no SOURCE given and stdin is a terminal" in result.stderr


def test_no_source_reads_piped_stdin(run_cli, transport) -> None:
    """With no SOURCE and stdin piped, URLs are read from stdin with line numbers."""
    result = run_cli(stdin=b"# list\nhttps://ok.test/1\n\nhttps://ok.test/2\n", transport=transport)
    assert [(r["source"], r["line"]) for r in result.records] == [("-", 2), ("-", 4)]


def test_empty_input_warns_and_exits_0(run_cli) -> None:
    """No URLs at all is a warning, not an error."""
    result = run_cli(stdin=b"# nothing here\n\n")
    assert "fetchcli: warning: no URLs to fetch" in result.stderr
    assert result.stdout == b""


def test_format_defaults_follow_the_terminal(run_cli, transport) -> None:
    """Table on a terminal, JSON lines into a pipe."""
    piped = run_cli("https://ok.test/", transport=transport)
    assert piped.records[0]["status"] == 200
    tty = run_cli("https://ok.test/", transport=transport, stdout_isatty=True)
    assert "Snippet" in tty.stdout.decode()
    assert "200 OK" in tty.stdout.decode()


def test_csv_has_a_header_and_a_row_per_url(run_cli, transport) -> None:
    """-f csv writes a header row then one row per URL."""
    lines = run_cli("-f", "csv", "https://ok.test/", "ftp://x", transport=transport, expect=1)
    rows = lines.stdout.decode().splitlines()
    assert rows[0].startswith("line,source,url,method,final_url,status")
    assert "error_kind,error_message" in rows[0]
    assert len(rows) == 3
    assert rows[2].endswith("invalid-url,unsupported scheme 'ftp',,")  # no id, no meta


@pytest.mark.parametrize(
    ("urls", "fail_on", "code"),
    [
        (["https://ok.test/"], "any", 0),
        (["https://missing.test/"], "any", 1),
        (["https://missing.test/"], "error", 0),
        (["https://down.test/"], "error", 1),
        (["https://down.test/", "https://missing.test/"], "never", 0),
        (["notaurl://x"], "error", 1),
    ],
)
def test_fail_on_decides_the_exit_status(run_cli, transport, urls, fail_on, code) -> None:
    """--fail-on any|error|never maps failures to exit 1 or 0."""
    run_cli("--fail-on", fail_on, *urls, transport=transport, expect=code)


def test_summary_on_stderr_and_quiet_removes_it(run_cli, transport) -> None:
    """The summary goes to stderr only; -q drops it."""
    result = run_cli("https://ok.test/", "https://missing.test/", transport=transport, expect=1)
    assert "1 ok, 1 failed (http 404 1)" in result.stderr
    assert b"failed" not in result.stdout
    quiet = run_cli("-q", "https://ok.test/", transport=transport)
    assert quiet.stderr == ""


def test_verbose_logs_each_attempt_with_masked_password(run_cli, transport) -> None:
    """-v prints one line per attempt on stderr, password masked."""
    result = run_cli("-v", "https://bob:hunter2@ok.test/x", transport=transport)
    assert "GET https://bob:****@ok.test/x -> 200 OK" in result.stderr
    assert "hunter2" not in result.stderr
    assert b"hunter2" not in result.stdout


def test_records_file_appends_and_skip_done_resumes(run_cli, transport, tmp_path) -> None:
    """--records appends JSONL; --skip-done on it skips URLs that already succeeded."""
    log = tmp_path / "log.jsonl"
    urls = ["https://ok.test/a", "https://missing.test/"]
    run_cli("-f", "csv", "--records", str(log), *urls, transport=transport, expect=1)
    second = run_cli(
        "--records", str(log), "--skip-done", str(log), *urls, transport=transport, expect=1
    )
    assert [r["url"] for r in second.records] == ["https://missing.test/"]
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(logged) == 3


def test_skip_done_file_may_not_exist_yet(run_cli, transport, tmp_path) -> None:
    """The first run of a cron job has no log yet: --skip-done treats it as empty."""
    result = run_cli(
        "--skip-done", str(tmp_path / "none.jsonl"), "https://ok.test/", transport=transport
    )
    assert len(result.records) == 1


def test_dedupe_and_shards(run_cli, transport) -> None:
    """--dedupe drops repeats; the shards of a list partition it."""
    stdin = b"".join(b"https://ok.test/%d\n" % (i % 10) for i in range(30))
    assert len(run_cli("--dedupe", stdin=stdin, transport=transport).records) == 10
    seen = []
    for shard in ("1/3", "2/3", "3/3"):
        records = run_cli("--dedupe", "--shard", shard, stdin=stdin, transport=transport).records
        seen += [r["url"] for r in records]
    assert sorted(seen) == sorted({f"https://ok.test/{i}" for i in range(10)})


def test_version(run_cli) -> None:
    """--version prints the version and exits 0."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_cli("--version")
    assert out.getvalue().strip() == f"fetchcli {__version__}"


def test_insecure_warns(run_cli, transport) -> None:
    """-k prints a warning on stderr."""
    result = run_cli("-k", "https://ok.test/", transport=transport)
    assert "fetchcli: warning: TLS certificate verification is disabled" in result.stderr


def test_progress_on_a_terminal_stderr_leaves_records_intact(run_cli, transport) -> None:
    """With stderr a terminal and stdout a file the progress bar is on by default; stdout
    records are unaffected."""
    result = run_cli(
        "https://ok.test/1",
        "https://ok.test/2",
        transport=transport,
        stderr_isatty=True,
        stdout_to_file=True,
    )
    assert " done · " in result.stderr
    assert [r["status"] for r in result.records] == [200, 200]
    assert "2 ok, 0 failed" in result.stderr
    quiet = run_cli(
        "--no-progress", "-q", "https://ok.test/1", transport=transport, stderr_isatty=True
    )
    assert quiet.stderr == ""


@pytest.mark.parametrize(
    ("facts", "args", "drawn"),
    [
        ({"same_terminal": True}, (), True),  # records pause the line
        ({"stdout_to_file": True}, (), True),  # > file, > /dev/null: nothing else on screen
        ({}, (), False),  # | jq: the reader writes to the screen the line is on
        ({}, ("--progress",), True),
        ({"same_terminal": True}, ("--no-progress",), False),
    ],
)
def test_progress_by_default_only_where_nothing_interleaves(
    run_cli, transport, facts, args, drawn
) -> None:
    """At a terminal, progress is drawn by default only when stdout is that terminal or
    reaches no screen; with stdout a pipe it takes --progress."""
    result = run_cli(*args, "https://ok.test/1", transport=transport, stderr_isatty=True, **facts)
    assert (" done · " in result.stderr) is drawn
    assert "1 ok, 0 failed" in result.stderr


def test_no_color_turns_the_tables_colours_off(run_cli, transport) -> None:
    """NO_COLOR (non-empty): the table at a terminal has no escape at all; without it the
    status is green."""
    coloured = run_cli("https://ok.test/1", transport=transport, stdout_isatty=True)
    assert "\x1b[32m200 OK" in coloured.stdout.decode()
    plain = run_cli("https://ok.test/1", transport=transport, stdout_isatty=True, no_color=True)
    assert "200 OK" in plain.stdout.decode()
    assert "\x1b" not in plain.stdout.decode()


def test_output_that_cannot_be_written_is_one_line(run_cli, transport) -> None:
    """A full disk under --records stops the run with one line and exit 2, no traceback."""
    result = run_cli("--records", "/dev/full", "https://ok.test/", transport=transport, expect=2)
    assert (
        result.stderr.splitlines()[-1]
        == "fetchcli: error: cannot write output: No space left on device"
    )


def test_cacert_without_a_certificate_is_a_usage_error(run_cli, tmp_path, transport) -> None:
    """--cacert naming a file that holds no certificate: exit 2 before anything is fetched,
    naming the option and the file."""
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 not a certificate")
    result = run_cli("--cacert", str(garbage), "https://ok.test/", transport=transport, expect=2)
    assert (
        result.stderr
        == f"fetchcli: error: --cacert: no certificate in '{garbage}' (PEM expected)\n"
    )


def test_summary_counts_what_was_skipped_and_why(run_cli, transport, tmp_path) -> None:
    """URLs left out by --dedupe, --shard or --skip-done are counted in the summary, by flag."""
    done_url = next(
        f"https://ok.test/d{n}" for n in range(99) if shard_of(f"https://ok.test/d{n}", 2) == 1
    )
    done = tmp_path / "done.jsonl"
    done.write_text(json.dumps({"url": done_url, "status": 200, "error": None}) + "\n")
    urls = [f"https://ok.test/{n}" for n in range(40)]
    stdin = "\n".join([*urls, urls[1], done_url]).encode()
    other_shard = sum(shard_of(url, 2) != 1 for url in urls)
    result = run_cli(
        "--dedupe", "--shard", "1/2", "--skip-done", str(done), stdin=stdin, transport=transport
    )
    assert len(result.records) == 40 - other_shard
    skipped = 2 + other_shard
    assert f"{skipped} skipped (" in result.stderr
    for part in (f"shard {other_shard}", "dedupe 1", "skip-done 1"):
        assert part in result.stderr


def test_skipping_everything_says_how_many_were_skipped(run_cli, tmp_path) -> None:
    """Every URL already done (--skip-done): the warning says they were skipped, and by what."""
    done = tmp_path / "log.jsonl"
    done.write_text('{"url": "https://ok.test/a", "status": 200, "error": null}\n')
    result = run_cli("--skip-done", str(done), "https://ok.test/a")
    assert "fetchcli: warning: no URLs to fetch: all 1 skipped (--skip-done 1)" in result.stderr


@pytest.mark.parametrize(
    ("args", "warning"),
    [
        (["--separator", "\\n"], "--separator: ignored: only -f body writes bodies"),
        (["--no-follow", "--max-redirects", "3"], "--max-redirects: ignored with --no-follow"),
        (["--overwrite"], "--overwrite: ignored without --save"),
    ],
)
def test_options_with_nothing_to_act_on_are_warned_about(run_cli, transport, args, warning) -> None:
    """An option that would do nothing is said once on stderr; the run goes on."""
    result = run_cli(*args, "https://ok.test/", transport=transport)
    assert f"fetchcli: warning: {warning}\n" in result.stderr
    assert result.records[0]["status"] == 200


def test_dry_run_counts_in_the_singular(run_cli) -> None:
    """One URL on one host reads as such."""
    result = run_cli("--dry-run", "https://a.test/x")
    assert "dry run: 1 URL on 1 host; nothing was fetched" in result.stderr
