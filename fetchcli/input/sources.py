"""SOURCE arguments (URLs, files, stdin) -> a lazy stream of Targets, and the filter stages.

Lines are read one at a time, so a pipe yields its first Target before it reaches EOF and a list
of millions of lines never sits in memory. Each URL read is a Line; the filters keep or drop
Lines, and a kept one becomes its Target once, numbered. Bad lines carry an `invalid-url`
error; they are never dropped and never raise.
"""

from __future__ import annotations

import io
import json
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from fetchcli.input import rows
from fetchcli.input.filters import filtered
from fetchcli.input.line import Line
from fetchcli.input.rows import RowRules
from fetchcli.models import ErrorInfo, ErrorKind, Target
from fetchcli.settings.model import Config, InputFormat
from fetchcli.settings.template import LINE, Template
from fetchcli.settings.urls import MAX_URL_LENGTH, url_problem
from fetchcli.slots import frozen, mutable
from fetchcli.streams import LineInput, PipeReader

STDIN = "-"
ARG = "arg"
_SHOWN_INVALID_CHARS = 200  # an invalid line is echoed back, but not all 8 KiB of it


@frozen
class Reading:
    """How the run reads its lines: --input-format, and the rules rows follow."""

    format: InputFormat = InputFormat.LINES
    rules: RowRules = RowRules()

    @classmethod
    def of(cls, config: Config) -> Reading:
        options, request = config.input, config.request
        template = None if options.template is None else Template.parse(options.template)
        rules = RowRules(template, request.headers, request.data, options.default_scheme)
        return cls(options.input_format, rules)

    @property
    def longest(self) -> int:
        """The longest line kept: a JSON request may hold a body; a URL is short."""
        lines_only = self.format is InputFormat.LINES and self.rules.template is None
        return MAX_URL_LENGTH if lines_only else rows.MAX_LINE


def is_url_argument(source: str) -> bool:
    return "://" in source


def is_special_file(path: str) -> bool:
    """A FIFO, a character device or a socket: opening it may wait for a writer, and a read may
    wait as long as the writer likes, so it is opened and read in a thread, never on the loop
    (where it would stall the run and the signals with it)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def input_blocks(sources: Iterable[str], stdin_blocks: bool) -> bool:
    """Whether reading these SOURCEs may block: stdin from a pipe or terminal, or a FIFO."""
    return any(
        (source == STDIN and stdin_blocks)
        or (source != STDIN and not is_url_argument(source) and is_special_file(source))
        for source in sources
    )


@mutable
class InputMeter:
    """How far through its input a run is: bytes read of the total (known when every source
    is a file or an argument, not a pipe), and targets handed on after the filters; once
    `complete`, the input has been read to its end and `targets` is the run's exact total."""

    total_bytes: int | None = None
    read_bytes: int = 0
    targets: int = 0
    complete: bool = False

    @property
    def fraction(self) -> float | None:
        if not self.total_bytes:
            return None
        return min(1.0, self.read_bytes / self.total_bytes)


def targets(
    config: Config,
    stdin: LineInput,
    skipped: Counter[str] | None = None,
    meter: InputMeter | None = None,
) -> Iterator[Target]:
    """The run's lazy target pipeline: read, then dedupe, shard and skip-done as stages; each
    URL a stage leaves out is counted in `skipped` under the stage's flag name, and `meter`
    follows the reading."""
    options = config.input
    skipped = Counter() if skipped is None else skipped
    meter = InputMeter() if meter is None else meter
    meter.total_bytes = _input_size(config.sources, stdin)
    found = read_sources(config.sources, options.default_scheme, stdin, meter, Reading.of(config))
    return _numbered(filtered(found, options, skipped), meter)


def from_strings(urls: Iterable[str | dict[str, Any]], config: Config) -> Iterator[Target]:
    """Targets from URLs or request dicts given one by one (the Python API): as URL arguments
    and JSON request lines are, filtered as a list is."""
    reading = Reading.of(config)
    found = (
        _row_line(item, "", ARG, None, reading.rules, loose=False)
        if isinstance(item, dict)
        else _line_of(item.strip(), ARG, None, reading)
        for item in urls
    )
    return _numbered(filtered(found, config.input, Counter()), InputMeter())


def _numbered(kept: Iterable[Line], meter: InputMeter) -> Iterator[Target]:
    """Each kept Line as its Target, numbered in the run's order (input order's sequence)."""
    for index, (url, source, line, error, request) in enumerate(kept):
        meter.targets += 1
        # Every byte read: this is the last target (the next pull would only find the end).
        meter.complete = meter.total_bytes is not None and meter.read_bytes >= meter.total_bytes
        yield Target(url, source, line, error, index, request)
    meter.complete = True


def _input_size(sources: Iterable[str], stdin: LineInput) -> int | None:
    """Bytes in all the input, or None when a part of it is a pipe or terminal."""
    total = 0
    for source in sources:
        if is_url_argument(source):
            total += len(source.encode()) + 1
            continue
        try:
            status = os.fstat(stdin.fileno()) if source == STDIN else os.stat(source)  # type: ignore[attr-defined]
        except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
            return None
        if not stat.S_ISREG(status.st_mode):
            return None
        total += status.st_size
    return total


def read_sources(
    sources: Iterable[str],
    default_scheme: str,
    stdin: LineInput,
    meter: InputMeter | None = None,
    reading: Reading | None = None,
) -> Iterator[Line]:
    """The Lines of every SOURCE in argument order, read lazily."""
    meter = InputMeter() if meter is None else meter
    reading = reading or Reading(rules=RowRules(default_scheme=default_scheme))
    for source in sources:
        if is_url_argument(source):
            meter.read_bytes += len(source.encode()) + 1
            yield _line_of(source, ARG, None, reading)
        elif source == STDIN:
            yield from iter_lines(stdin, STDIN, default_scheme, meter, reading)
        elif is_special_file(source):
            yield from _special_lines(source, meter, reading)
        else:
            with open(source, "rb") as lines:
                yield from iter_lines(lines, source, default_scheme, meter, reading)


def _special_lines(path: str, meter: InputMeter, reading: Reading) -> Iterator[Line]:
    """A FIFO's lines: opened here, in the input thread (the open waits for a writer), and read
    with a bare os.read, which holds no lock a shutting-down interpreter would wait for."""
    fd = os.open(path, os.O_RDONLY)
    try:
        yield from iter_lines(PipeReader(fd), path, reading.rules.default_scheme, meter, reading)
    finally:
        os.close(fd)


def iter_lines(
    stream: LineInput,
    source: str,
    default_scheme: str,
    meter: InputMeter | None = None,
    reading: Reading | None = None,
) -> Iterator[Line]:
    """The Lines of a list (URLs, JSON requests, lines for --template; or a CSV table): blank
    lines and `#` comments skipped, line numbers kept."""
    meter = InputMeter() if meter is None else meter
    reading = reading or Reading(rules=RowRules(default_scheme=default_scheme))
    lines = _bounded_lines(stream, meter, reading.longest)
    if reading.format is InputFormat.CSV:
        yield from _table_lines(lines, source, reading)
        return
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, _LongLine):
            start = raw.decode("utf-8", "ignore").strip()[: _SHOWN_INVALID_CHARS - 1] + "…"
            as_row = reading.format is InputFormat.JSONL or (
                reading.format is InputFormat.AUTO and start.startswith("{")
            )
            longest = reading.longest
            reason = (
                "line over 1 MiB"
                if longest == rows.MAX_LINE
                else f"line longer than {longest} bytes"
            )
            yield _invalid(start, source, number, reason, request=as_row)
            continue
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            shown = raw.decode("utf-8", "replace").strip()
            yield _invalid(shown, source, number, "line is not valid UTF-8")
            continue
        if text and not text.startswith("#"):
            yield _line_of(text, source, number, reading)


def _line_of(text: str, source: str, number: int | None, reading: Reading) -> Line:
    """One line: a JSON request (jsonl, or auto and it starts with `{`), a value for the
    template, or a URL."""
    if reading.format is InputFormat.JSONL or (
        reading.format is InputFormat.AUTO and text.startswith("{")
    ):
        try:
            row = rows.json_row(text)
        except rows.RowError as exc:
            return _invalid(text, source, number, str(exc), request=True)
        return _row_line(row, text, source, number, reading.rules, loose=False)
    if reading.rules.template is not None:
        return _row_line({LINE: text}, text, source, number, reading.rules, loose=True)
    if len(text) > MAX_URL_LENGTH:
        return _invalid(text, source, number, f"line longer than {MAX_URL_LENGTH} bytes")
    return make_line(text, source, number, reading.rules.default_scheme)


def _row_line(
    row: dict[str, Any],
    text: str,
    source: str,
    number: int | None,
    rules: RowRules,
    *,
    loose: bool,
) -> Line:
    try:
        url, request = rows.request_of(row, rules, loose=loose)
    except rows.RowError as exc:
        # The row itself, not its URL: --failed-out writes this line back, and a bare URL there
        # would be fetched as a GET the row never asked for.
        shown = text or json.dumps(row, ensure_ascii=False, default=repr)  # an API dict: any value
        line = _invalid(shown, source, number, str(exc), request=True)
        return line._replace(request=rows.joined_back(row))  # its id and meta, if it has them
    return Line(url, source, number, None, request)


def _table_lines(lines: Iterator[bytes], source: str, reading: Reading) -> Iterator[Line]:
    """--input-format csv: a request per row, keyed by the header row."""
    texts = (raw.decode("utf-8", "replace") for raw in lines)
    for number, row in rows.csv_rows(texts):
        if isinstance(row, rows.RowError):
            yield _invalid("", source, number, str(row), request=True)
        else:
            yield _row_line(row, "", source, number, reading.rules, loose=True)


class _LongLine(bytes):
    """The start of a line longer than MAX_URL_LENGTH bytes, whose rest was skipped."""


def _bounded_lines(stream: LineInput, meter: InputMeter, longest: int) -> Iterator[bytes]:
    """Lines of at most `longest` bytes; a longer one is skipped whole and yields its start as
    a _LongLine, so a hostile input without newlines cannot fill memory."""
    limit = longest + 2  # room for CR LF
    while line := stream.readline(limit):
        meter.read_bytes += len(line)
        if len(line) < limit or line.endswith(b"\n"):
            yield line
            continue
        while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
            meter.read_bytes += len(rest)
        meter.read_bytes += len(rest)
        yield _LongLine(line[: 4 * _SHOWN_INVALID_CHARS])  # enough UTF-8 for the start shown


def make_line(text: str, source: str, line: int | None, default_scheme: str) -> Line:
    """The Line of one URL, or one flagged invalid-url with the reason."""
    url = text if "://" in text else f"{default_scheme}://{text}"
    problem = url_problem(url)
    if problem is not None:
        return _invalid(text, source, line, problem)
    return Line(url, source, line)


def _invalid(
    text: str, source: str, line: int | None, reason: str, *, request: bool = False
) -> Line:
    """A line that is no URL (`invalid-url`) or no request (`invalid-request`), shown cut."""
    shown = text if len(text) <= _SHOWN_INVALID_CHARS else text[: _SHOWN_INVALID_CHARS - 1] + "…"
    kind = ErrorKind.INVALID_REQUEST if request else ErrorKind.INVALID_URL
    return Line(shown, source, line, ErrorInfo(kind, reason))
