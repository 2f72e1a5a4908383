"""Where Results go: JSON lines, CSV, the table, a records file. Sinks write; nothing else does.

Every sink gets the Result with its record, `Result.to_record()` made once per URL (sanitized,
masked), and flushes each line, so a reader downstream sees a record as soon as it is complete
and an interrupted run never leaves half a line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Generic, Protocol, TypeVar

from fetchcli.models import RECORD_FIELDS, Record, Result

R = TypeVar("R")

CSV_FIELDS = (
    *(name for field in RECORD_FIELDS for name in
      (("error_kind", "error_message") if field == "error" else (field,))),
    "id", "meta",  # a data row's, empty for a URL line (a table's columns are fixed at its head)
)  # fmt: skip


class Sink(Protocol):
    def write(self, result: Result, record: Record) -> None: ...
    def close(self) -> None: ...


# json.dumps with any keyword builds a new encoder per call: one, made once, is a microsecond
# less on every record.
def _encoder() -> Callable[[Record], str]:
    """JSONEncoder(ensure_ascii=False).encode, with its C encoder made once rather than per
    record (JSONEncoder.iterencode makes one each call: a quarter of a record's encoding)."""
    python = json.JSONEncoder(ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)  # CPython's C encoder, else None
    if make is None:
        return python.encode
    strings = json.encoder.encode_basestring  # as ensure_ascii=False picks it
    encode = make(None, python.default, strings, None, ": ", ", ", False, False, True)
    return lambda record: "".join(encode(record, 0))


_ENCODE = _encoder()


class JsonlSink:
    def __init__(self, stream: BinaryIO, *, close_stream: bool = False) -> None:
        self._stream = stream
        self._close_stream = close_stream

    def write(self, result: Result, record: Record) -> None:
        self._stream.write(_ENCODE(record).encode() + b"\n")
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
        if self._close_stream:
            self._stream.close()


class CsvSink:
    """A header row, then one row per record, with the error split into two columns."""

    def __init__(self, stream: BinaryIO, extra: tuple[str, ...] = ()) -> None:
        import csv  # -f csv's alone: a JSON-lines run starts without it

        self._stream = stream
        self._fields = (*CSV_FIELDS, *extra)  # `changed` with --state
        self._text = io.StringIO()  # one row at a time, through one writer
        self._writer = csv.writer(self._text, lineterminator="\n")
        self._write_row(self._fields)

    def write(self, result: Result, record: Record) -> None:
        self._write_row([_csv_value(value) for value in csv_row(record, self._fields)])

    def _write_row(self, row: Sequence[Any]) -> None:
        self._writer.writerow(row)
        self._stream.write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()


def csv_row(record: Record, fields: tuple[str, ...] = CSV_FIELDS) -> list[Any]:
    error = record.get("error") or {}
    flat = {
        **record,
        **(record.get("extract") or {}),  # --extract's names are never a record field's
        "error_kind": error.get("kind"),
        "error_message": error.get("message"),
    }
    return [flat.get(name) for name in fields]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):  # an --extract of JSON: one cell, as JSON
        return json.dumps(value, ensure_ascii=False)
    return value


class TableSink(Generic[R]):
    """Keeps a small display row per result, in whatever order they finish, and shows them as
    one table in input order when the run ends (so the engine needs no input-order window)."""

    def __init__(
        self, to_row: Callable[[int, Result, Record], R], show: Callable[[list[R]], None]
    ) -> None:
        self._rows: list[tuple[int, R]] = []
        self._to_row = to_row
        self._show = show

    def write(self, result: Result, record: Record) -> None:
        index = result.target.index
        self._rows.append((index, self._to_row(index + 1, result, record)))

    def close(self) -> None:
        self._rows.sort(key=lambda pair: pair[0])
        self._show([row for _, row in self._rows])


class ChangedOnly:
    """--changed-only: passes on the records whose `changed` is true, and the failures."""

    def __init__(self, inner: Sink, failed: Callable[[Result], bool]) -> None:
        self._inner = inner
        self._failed = failed

    def write(self, result: Result, record: Record) -> None:
        if record.get("changed") is True or self._failed(result):
            self._inner.write(result, record)

    def close(self) -> None:
        self._inner.close()


class Where:
    """--where: passes on the records the test keeps, and counts the others."""

    def __init__(
        self, inner: Sink, keeps: Callable[[Record], bool], left_out: Callable[[], None]
    ) -> None:
        self._inner = inner
        self._keeps = keeps
        self._left_out = left_out

    def write(self, result: Result, record: Record) -> None:
        if self._keeps(record):
            self._inner.write(result, record)
        else:
            self._left_out()

    def close(self) -> None:
        self._inner.close()


class TeeSink:
    """Writes every result to each sink in turn (stdout plus `--records FILE`)."""

    def __init__(self, *sinks: Sink) -> None:
        self._sinks = sinks

    def write(self, result: Result, record: Record) -> None:
        for sink in self._sinks:
            sink.write(result, record)

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()
