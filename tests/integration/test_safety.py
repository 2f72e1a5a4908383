"""Hostile server text never reaches a terminal as escapes or markup, in any format."""

from __future__ import annotations

import pytest

from tests.conftest import RunCli
from tests.server import TestServer

_FORBIDDEN = ["\x1b", "\x07", "\x9b", "pwned", "title"]


def _assert_safe(text: str) -> None:
    for bad in _FORBIDDEN:
        assert bad not in text, f"{bad!r} leaked into output"


def test_jsonl_strips_escapes_from_reason_snippet_and_headers(
    run_cli: RunCli, server: TestServer
) -> None:
    """Reason phrase, snippet and headers lose whole escape sequences; markup stays literal."""
    result = run_cli("--include-headers", "--snippet", "200", f"{server.url}/ansi")
    [record] = result.records
    _assert_safe(result.stdout.decode())
    assert record["reason"] == "OK RED [bold]markup[/bold]"
    assert record["headers"]["x-evil"] == "value"
    assert "[bold red]markup[/bold red]" in record["snippet"]
    assert record["snippet"].startswith("safe red bell c1")


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_csv_and_table_are_safe_too(run_cli, server, fmt) -> None:
    """CSV and the table show the same sanitized text, markup printed literally."""
    result = run_cli("-f", fmt, "--snippet", "200", f"{server.url}/ansi")
    text = result.stdout.decode()
    _assert_safe(text)
    assert "[bold" in text
    assert "markup" in text


def test_table_on_a_terminal_has_only_our_own_colours(run_cli, server) -> None:
    """With colour on, the only escapes are rich's SGR colours; no server escape survives."""
    result = run_cli("--snippet", "200", f"{server.url}/ansi", stdout_isatty=True)
    text = result.stdout.decode()
    assert "\x1b[2J" not in text
    assert "\x1b]" not in text
    assert "\x07" not in text
    assert "pwned" not in text


def test_verbose_and_summary_lines_are_safe(run_cli, server) -> None:
    """-v lines on stderr carry the sanitized reason."""
    result = run_cli("-v", f"{server.url}/ansi")
    _assert_safe(result.stderr)
    assert "OK RED [bold]markup[/bold]" in result.stderr


def test_passwords_are_masked_everywhere(run_cli, server) -> None:
    """A password in a URL shows as **** in records, table and -v lines."""
    url = server.url.replace("http://", "http://alice:s3cret@") + "/redirect/1"
    for fmt in ("jsonl", "csv", "table"):
        result = run_cli("-v", "-f", fmt, url)
        assert "s3cret" not in result.stdout.decode() + result.stderr
        assert "alice:****@" in result.stdout.decode()
