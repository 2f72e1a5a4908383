"""The sinks' bytes: JSON lines and CSV exactly as a reader downstream gets them, each line
flushed as it is complete; the table in input order; --changed-only's filter; the tee."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fetchcli.models import ErrorInfo, ErrorKind, Record, Result, Target
from fetchcli.output import sinks
from fetchcli.output.sinks import CSV_FIELDS, ChangedOnly, CsvSink, JsonlSink, TableSink, TeeSink


class Stream(io.BytesIO):
    """A binary stream that tells, at each flush, what has been written so far."""

    def __init__(self) -> None:
        super().__init__()
        self.at_flush: list[bytes] = []

    def flush(self) -> None:
        super().flush()
        self.at_flush.append(self.getvalue())


def _result(index: int, **fields: Any) -> tuple[Result, Record]:
    result = Result(Target(f"https://a.test/{index}", "-", index + 1, index=index), **fields)
    return result, result.to_record()


FAILED = _result(1, error=ErrorInfo(ErrorKind.TIMEOUT, 'read timeout, "slow"'))
OK = _result(0, status=200, snippet="café, ☕", truncated=False)


def test_jsonl_is_one_utf8_line_per_record_flushed_whole() -> None:
    stream = Stream()
    sink = JsonlSink(stream)
    sink.write(*OK)
    sink.write(*FAILED)
    lines = stream.getvalue().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    assert [json.loads(line) for line in lines[:2]] == [OK[1], FAILED[1]]
    assert "café, ☕".encode() in lines[0]  # UTF-8 as it is, not \\u escapes
    assert stream.at_flush[:2] == [lines[0] + b"\n", b"\n".join(lines[:2]) + b"\n"]
    sink.close()
    assert not stream.closed  # stdout stays open; a --records file is closed


def test_a_records_file_is_closed_with_its_sink() -> None:
    stream = Stream()
    sink = JsonlSink(stream, close_stream=True)
    sink.write(*OK)
    sink.close()
    assert stream.closed


def test_csv_has_a_header_and_the_error_in_two_columns() -> None:
    """The header names every column; the error is kind and message; None is empty, booleans
    are true/false; a comma or quote in a value is quoted, so a CSV reader gets it back."""
    stream = Stream()
    sink = CsvSink(stream)
    assert stream.at_flush == [(",".join(CSV_FIELDS) + "\n").encode()]  # before any record
    sink.write(*OK)
    sink.write(*FAILED)
    assert len(stream.at_flush) == 3  # the header, then each row as soon as it is written
    assert all(written.endswith(b"\n") for written in stream.at_flush)
    sink.close()
    rows = list(csv.DictReader(io.StringIO(stream.getvalue().decode())))
    assert list(rows[0]) == list(CSV_FIELDS)
    assert "error" not in CSV_FIELDS
    assert (rows[0]["status"], rows[0]["snippet"], rows[0]["truncated"]) == (
        "200",
        "café, ☕",
        "false",
    )
    assert (rows[0]["error_kind"], rows[0]["error_message"]) == ("", "")
    assert (rows[1]["status"], rows[1]["error_kind"]) == ("", "timeout")
    assert rows[1]["error_message"] == 'read timeout, "slow"'


def test_csv_with_state_adds_the_changed_column() -> None:
    stream = Stream()
    sink = CsvSink(stream, extra=("changed",))
    result, record = OK
    sink.write(result, {**record, "changed": True})
    header, row = stream.getvalue().decode().splitlines()
    assert header.endswith(",changed") and row.endswith(",true")


def test_the_table_shows_rows_in_input_order_once_the_run_ends() -> None:
    """Rows finish in any order; the table is shown once, at close, numbered from 1 in input
    order."""
    shown: list[list[tuple[int, str]]] = []
    sink: TableSink[tuple[int, str]] = TableSink(
        lambda number, result, record: (number, record["url"]), shown.append
    )
    for index in (2, 0, 1):
        sink.write(*_result(index))
        assert shown == []
    sink.close()
    assert shown == [[(1, "https://a.test/0"), (2, "https://a.test/1"), (3, "https://a.test/2")]]


class Collect:
    def __init__(self) -> None:
        self.urls: list[str] = []
        self.closed = False

    def write(self, result: Result, record: Record) -> None:
        self.urls.append(record["url"])

    def close(self) -> None:
        self.closed = True


def test_changed_only_passes_what_changed_and_every_failure() -> None:
    inner = Collect()
    sink = ChangedOnly(inner, failed=lambda result: result.error is not None)
    unchanged, changed = _result(0, status=304), _result(2, status=200)
    sink.write(unchanged[0], {**unchanged[1], "changed": False})
    sink.write(changed[0], {**changed[1], "changed": True})
    sink.write(FAILED[0], {**FAILED[1], "changed": False})
    sink.close()
    assert inner.urls == ["https://a.test/2", "https://a.test/1"]
    assert inner.closed


def test_the_tee_writes_each_record_to_every_sink_and_closes_them_all() -> None:
    first, second = Collect(), Collect()
    sink = TeeSink(first, second)
    sink.write(*OK)
    sink.write(*FAILED)
    sink.close()
    assert first.urls == second.urls == ["https://a.test/0", "https://a.test/1"]
    assert first.closed and second.closed


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=6,
    )
)
def test_a_json_line_is_what_json_writes(record: dict[str, object]) -> None:
    """The JSONL sink's own encoder writes exactly what json.JSONEncoder(ensure_ascii=False)
    does: non-ASCII as it is, Infinity and NaN as json writes them, nesting included."""
    assert sinks._ENCODE(record) == json.JSONEncoder(ensure_ascii=False).encode(record)
