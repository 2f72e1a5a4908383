"""Records, sinks and rendering: contract fields, safe values, flushed lines, the table."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace

import pytest
from rich.cells import cell_len

from fetchcli.models import RECORD_FIELDS, ErrorInfo, ErrorKind, Result, Summary, Target
from fetchcli.net.order import Reorder, Window
from fetchcli.output.render import summary_line
from fetchcli.output.sinks import CSV_FIELDS, CsvSink, JsonlSink, TableSink, TeeSink
from fetchcli.output.table import HEADERS, render_results

CONTRACT_FIELDS = (
    "line", "source", "url", "final_url", "status", "reason", "http_version", "elapsed", "bytes",
    "content_type", "snippet", "attempts", "redirects", "truncated", "saved_to", "error",
)  # fmt: skip

HOSTILE = Result(
    Target("https://bob:hunter2@h.test/x", "list.txt", 3),
    final_url="https://bob:hunter2@h.test/y",
    status=200,
    reason="OK \x1b[31mred\x1b[0m",
    http_version="HTTP/1.1",
    elapsed=0.25,
    bytes=12,
    content_type="text/plain\x07",
    snippet="[bold red]hi[/bold red] \x1b]0;title\x07",
    attempts=1,
)
FAILED = Result(
    Target("https://down.test/", "arg", None),
    attempts=2,
    error=ErrorInfo(ErrorKind.CONNECT, "refused by https://u:pw@down.test/"),
)


class CountingBytes(io.BytesIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_record_has_the_contract_fields_in_order() -> None:
    """A record's fields are the contract's, in its order."""
    assert RECORD_FIELDS == CONTRACT_FIELDS
    assert tuple(HOSTILE.to_record()) == CONTRACT_FIELDS


def test_record_values_are_masked_and_sanitized() -> None:
    """Passwords become ****; server text loses escapes; markup stays literal."""
    record = HOSTILE.to_record()
    assert record["url"] == "https://bob:****@h.test/x"
    assert record["final_url"] == "https://bob:****@h.test/y"
    assert record["reason"] == "OK red"
    assert record["content_type"] == "text/plain"
    assert record["snippet"] == "[bold red]hi[/bold red] "
    assert FAILED.to_record()["error"] == {
        "kind": "connect",
        "message": "refused by https://u:****@down.test/",
    }


def test_headers_only_when_captured() -> None:
    """headers: lower-cased names, repeats joined with ', ', only when captured."""
    with_headers = Result(
        Target("https://h/", "arg", None),
        headers=(("X-A", "1"), ("x-a", "2"), ("Evil", "\x1b[2Jv")),
    )
    assert with_headers.to_record()["headers"] == {"x-a": "1, 2", "evil": "v"}
    assert "headers" not in HOSTILE.to_record()


def test_ok_and_summary_counts() -> None:
    """ok means no error and status < 400; the summary counts kinds and HTTP failures."""
    not_found = Result(Target("https://h/", "arg", None), status=404, bytes=5)
    summary = Summary()
    for result in (HOSTILE, FAILED, not_found):
        summary.add(result)
    assert (HOSTILE.ok, FAILED.ok, not_found.ok) == (True, False, False)
    assert (summary.ok, summary.failed, summary.errors, summary.bytes) == (1, 2, 1, 17)
    assert summary.failures_by_kind == {"connect": 1, "http 404": 1}


def test_jsonl_writes_and_flushes_a_line_per_record() -> None:
    """One parseable JSON line per result, flushed at once."""
    out = CountingBytes()
    sink = JsonlSink(out)
    sink.write(HOSTILE, HOSTILE.to_record())
    assert out.flushes == 1
    sink.write(FAILED, FAILED.to_record())
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["url"] for line in lines] == [
        "https://bob:****@h.test/x",
        "https://down.test/",
    ]
    assert b"\x1b" not in out.getvalue()


def test_csv_has_header_and_flat_error_columns() -> None:
    """CSV: header row, error split in two columns, booleans as true/false, None empty."""
    out = io.BytesIO()
    sink = CsvSink(out)
    sink.write(HOSTILE, HOSTILE.to_record())
    sink.write(FAILED, FAILED.to_record())
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    assert tuple(rows[0]) == CSV_FIELDS
    assert "error" not in CSV_FIELDS and {"error_kind", "error_message"} <= set(CSV_FIELDS)
    assert rows[0]["truncated"] == "false" and rows[0]["error_kind"] == ""
    assert rows[1]["error_kind"] == "connect" and rows[1]["status"] == ""


def test_table_and_tee_sinks() -> None:
    """The table sink shows every result once at close, in input order whatever order they
    finished in; tee writes to each sink."""
    first = replace(HOSTILE, target=replace(HOSTILE.target, index=0))
    second = replace(FAILED, target=replace(FAILED.target, index=1))
    shown = []
    table = TableSink(lambda number, result, record: (number, result), shown.append)
    out = io.BytesIO()
    tee = TeeSink(table, JsonlSink(out))
    tee.write(second, second.to_record())
    tee.write(first, first.to_record())
    tee.close()
    assert shown == [[(1, first), (2, second)]]
    assert len(out.getvalue().splitlines()) == 2


def test_table_rendering_is_safe() -> None:
    """The table has the contract's columns, masks passwords, and prints markup literally."""
    text = render_results([HOSTILE, FAILED], width=140, color=False)
    for column in ("#", "URL", "Status", "Time", "Size", "Type", "Snippet"):
        assert column in text
    assert "****" in text and "hunter2" not in text
    assert "[bold red]hi[/bold red]" in text
    assert "connect" in text
    assert "\x1b" not in text


def test_summary_line() -> None:
    """ok/failed counts, failures by kind, bytes, elapsed and rate."""
    summary = Summary()
    summary.add(HOSTILE)
    summary.add(FAILED)
    summary.elapsed = 2.0
    line = summary_line(summary)
    assert "1 ok, 1 failed (connect 1)" in line
    assert "1.0 req/s" in line


def test_reorder_releases_in_sequence() -> None:
    """Items pushed out of order come out in order; without a window at once."""

    async def run() -> None:
        ordered: Reorder[str] = Reorder(Window(max_bytes=1000))
        for _ in range(3):
            await ordered.reserve()
        assert ordered.push(2, "c") == []
        assert ordered.push(0, "a") == ["a"]
        assert ordered.push(1, "b") == ["b", "c"]
        assert Reorder[str](None).push(5, "x") == ["x"]

    asyncio.run(run())


def test_reorder_holds_a_bounded_weight_behind_a_slow_head() -> None:
    """Reservations wait once the items held behind the head weigh the budget, and go on as
    soon as the head is released."""

    async def run() -> None:
        ordered: Reorder[str] = Reorder(Window(max_bytes=10), size_of=len)
        for _ in range(3):
            await ordered.reserve()
        assert ordered.push(1, "x" * 6) == []
        third = asyncio.create_task(ordered.reserve())
        await asyncio.sleep(0)
        assert third.done()  # 6 bytes held: under the budget
        await third
        assert ordered.push(2, "y" * 6) == []
        fourth = asyncio.create_task(ordered.reserve())
        await asyncio.sleep(0)
        assert not fourth.done()  # 12 bytes held behind the head
        assert ordered.push(0, "head") == ["head", "x" * 6, "y" * 6]
        await asyncio.wait_for(fourth, 1)

    asyncio.run(run())


def test_reorder_window_bounds_work_ahead() -> None:
    """With at most 3 items out, a 4th reservation waits until the head is released."""

    async def run() -> None:
        ordered: Reorder[int] = Reorder(Window(max_bytes=1 << 20, max_items=3))
        for _ in range(3):
            await ordered.reserve()
        fourth = asyncio.create_task(ordered.reserve())
        await asyncio.sleep(0)
        assert not fourth.done()
        ordered.push(1, 1)
        await asyncio.sleep(0)
        assert not fourth.done()  # 1 is held behind 0
        ordered.push(0, 0)
        await asyncio.wait_for(fourth, 1)
        ordered.push(5, 5)
        assert ordered.drain() == [5]

    asyncio.run(run())


@pytest.mark.parametrize("results", [[], [FAILED]])
def test_table_renders_small_runs(results: list[Result]) -> None:
    """An empty or all-failed run still draws the whole frame: every column heading, one line
    per URL between the borders, nothing wider than the terminal."""
    lines = render_results(results, width=80, color=False).splitlines()
    assert len(lines) == 4 + len(results)
    assert [cell.strip() for cell in lines[1].strip("┃").split("┃")] == list(HEADERS)
    assert all(cell_len(line) <= 80 for line in lines)
    for line, result in zip(lines[3:-1], results, strict=True):
        assert f"│ {result.target.url} │ connect" in line


def test_table_shows_the_error_message_of_a_failure() -> None:
    """A failed URL's row says why it failed where a snippet would be."""
    text = render_results([FAILED], width=160, color=False)
    assert "refused by https://u:****@down.test/" in text
