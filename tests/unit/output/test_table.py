"""The results table's layout: what each column keeps when the terminal is narrow."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from fetchcli.models import ErrorInfo, ErrorKind, Result, Target
from fetchcli.output.table import HEADERS, Row, render_table, table_row

_LONG = "https://www.example.org/a-rather-long/path/to/somewhere/deep/inside/the/site?n="


def _ok(number: int, snippet: str = "hello world") -> Row:
    cells = (str(number), f"{_LONG}{number}", "200 OK", "0.12s", "11 bytes", "text/html", snippet)
    return Row(cells, "green")


def _failed(number: int, kind: str, message: str) -> Row:
    cells = (str(number), f"{_LONG}{number}", kind, "1.00s", "", "", message)
    return Row(cells, "bold red", failed=True)


def _header(lines: list[str]) -> list[str]:
    return [name.strip() for name in lines[1].strip("┃").split("┃")]


def test_a_reason_is_shown_whole_at_80_columns_with_ten_thousand_rows() -> None:
    """Even with five-digit row numbers, `read timeout after 10s` fits at 80 columns, and the
    URLs keep their host and their ends: Type and Size are what give way."""
    rows = [_ok(9998), _failed(9999, "timeout", "read timeout after 10s"), _ok(10000)]
    lines = list(render_table(rows, width=80, color=False))
    assert all(cell_len(line) <= 80 for line in lines)
    assert _header(lines) == ["#", "URL", "Status", "Time", "Snippet"]
    assert "read timeout after 10s" in lines[4]
    assert "www.example.org/…" in lines[3] and "n=9998" in lines[3] and "hello world" in lines[3]


def test_a_long_reason_is_cut_with_an_ellipsis() -> None:
    """A message longer than its column ends in `…`, never past the table's edge."""
    message = "certificate verify failed: self-signed certificate in certificate chain"
    lines = list(render_table([_ok(1), _failed(2, "tls", message)], width=80, color=False))
    assert all(cell_len(line) <= 80 for line in lines)
    assert "│ certificate verify f" in lines[4] and "… │" in lines[4]


def test_without_failures_the_url_keeps_its_room() -> None:
    """When every row succeeded the Snippet is only shown if there is room: at 80 columns the
    URL takes it."""
    lines = list(render_table([_ok(1), _ok(2)], width=80, color=False))
    assert _header(lines) == ["#", "URL", "Status", "Time", "Size"]


def test_no_snippet_is_held_back_for_short_reasons() -> None:
    """The room kept for reasons is the longest reason's, not the longest snippet's."""
    rows = [_ok(1, "x" * 80), _failed(2, "dns", "name not found")]
    lines = list(render_table(rows, width=80, color=False))
    widths = [len(cell) - 2 for cell in lines[1].strip("┃").split("┃")]
    assert widths[-1] == len("name not found")


def test_a_failure_after_part_of_the_body_still_says_why() -> None:
    """A body cut short has a snippet, but its row shows the reason it failed instead."""
    message = "server closed the connection before the end of the body"
    result = Result(
        Target("http://a.test/short", "-", 1),
        status=200,
        reason="OK",
        snippet="aaaaaaaaaa",
        error=ErrorInfo(ErrorKind.PROTOCOL, message),
    )
    row = table_row(1, result, result.to_record())
    assert row.failed and row.cells[2] == "200 protocol" and row.cells[6] == message


def test_at_a_wide_terminal_a_long_reason_and_then_the_snippets_get_room() -> None:
    """At 200 columns the reason is whole, Type is back, and the snippets fill what is left."""
    message = "server closed the connection before the end of the body"
    rows = [_ok(1, "x" * 80), _failed(2, "protocol", message)]
    lines = list(render_table(rows, width=200, color=False))
    assert message in lines[4]
    assert _header(lines)[-2:] == ["Type", "Snippet"]
    assert all(cell_len(line) == 200 for line in lines)


_CELL = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x4E10), max_size=90)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.lists(_CELL, min_size=6, max_size=6)), min_size=1),
    st.integers(min_value=40, max_value=240),
)
def test_the_table_never_wraps(rows: list[tuple[bool, list[str]]], width: int) -> None:
    """Whatever the cells hold, no line of the table is wider than the terminal."""
    table = [Row((str(n), *cells), "", failed=failed) for n, (failed, cells) in enumerate(rows, 1)]
    lines = list(render_table(table, width=width, color=False))
    assert len(lines) == len(rows) + 4
    assert all(cell_len(line) <= width for line in lines)
    assert len(HEADERS) == 7
