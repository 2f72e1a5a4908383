"""The outputs a run needs, built in one place: the sink for --format (with --records beside
it), and the factory of body consumers (--save files, the stdout of -f body)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from fetchcli.consumer import BodyConsumer, BodyHead, ConsumerFactory, FanOut
from fetchcli.errors import cannot_write
from fetchcli.models import Result, Target
from fetchcli.output.sinks import (
    ChangedOnly,
    CsvSink,
    JsonlSink,
    Sink,
    TableSink,
    TeeSink,
    Where,
)
from fetchcli.sanitize import shown
from fetchcli.settings.model import Config, FailOn, Format, Order, OutputConfig
from fetchcli.streams import Streams

if TYPE_CHECKING:
    from fetchcli.output.bodies import BodySink
    from fetchcli.output.save import Saver
    from fetchcli.output.table import Row

TABLE_WIDTH = 120  # when stdout is not a terminal


class Outputs(NamedTuple):
    """The run's record sink, and who wants each body (None: nobody)."""

    sink: Sink
    consumer_for: ConsumerFactory | None  # None: nobody wants the bodies


def build_outputs(
    config: Config,
    streams: Streams,
    on_stdout_closed: Callable[[], None],
    warn: Callable[[str], None],
    left_out: Callable[[], None] = lambda: None,
) -> Outputs:
    """The sink and the body consumers for `config`; UsageError if --records cannot be opened.
    `warn` says on stderr what was held back from a terminal, `left_out` hears of each record
    --where keeps from stdout."""
    output = config.output
    bodies = None
    if output.format is Format.BODY:
        from fetchcli.output.bodies import BodySink  # and its spool: -f body alone

        bodies = BodySink(
            streams.stdout,
            separator=output.separator,
            ordered=output.order is Order.INPUT,
            on_closed=on_stdout_closed,
        )
    sink = bodies or _format_sink(config, streams)
    if config.run.changed_only:
        sink = ChangedOnly(sink, failure_test(output.fail_on))
    # What only some runs use is imported only by them: a one-off fetch starts sooner.
    if config.judge.where is not None:
        from fetchcli.judging.where import record_filter  # CEL

        sink = Where(sink, record_filter(config.judge.where), left_out)
    if output.records is not None:
        sink = TeeSink(sink, _records_sink(output.records))
    if config.run.failed_out is not None:
        from fetchcli.output.failed import FailedOut

        sink = TeeSink(sink, FailedOut(config.run.failed_out, failure_test(output.fail_on)))
    guard = _binary_guard(warn) if bodies is not None and streams.stdout_isatty else None
    return Outputs(sink, _consumer_factory(_saver(output), bodies, guard))


def _saver(output: OutputConfig) -> Saver | None:
    if output.save is None:
        return None
    from fetchcli.output.save import saver_for  # file names, checksums, resuming

    return saver_for(output)


def failure_test(fail_on: FailOn) -> Callable[[Result], bool]:
    """What counts as failed for --failed-out: as --fail-on says (`never` counts as `any`)."""
    if fail_on is FailOn.ERROR:
        return lambda result: result.error is not None
    return lambda result: not result.ok


def _format_sink(config: Config, streams: Streams) -> Sink:
    output = config.output
    if output.format is Format.CSV:
        extra = ("changed",) if config.run.state else ()
        extracts = tuple(name for name, _ in config.judge.extract)
        return CsvSink(streams.stdout, extra=(*extra, *extracts))
    if output.format is Format.TABLE:
        return _table_sink(streams)
    return JsonlSink(streams.stdout)


def _records_sink(path: Path) -> Sink:
    try:
        records = path.open("ab")
        if records.tell() and not _ends_a_line(path):
            records.write(b"\n")  # a run killed mid-record: ours start on a line of their own
    except OSError as exc:
        raise cannot_write(path, exc, "--records") from None
    return JsonlSink(records, close_stream=True)


def _ends_a_line(path: Path) -> bool:
    with path.open("rb") as existing:
        existing.seek(-1, 2)
        return existing.read(1) == b"\n"


Guard = Callable[[BodyConsumer, Target, str | None], BodyConsumer]


def _consumer_factory(
    saver: Saver | None, bodies: BodySink | None, guard: Guard | None
) -> ConsumerFactory | None:
    if saver is None and bodies is None:
        return None

    def open_body(target: Target, head: BodyHead) -> BodyConsumer | None:
        # The file first: if it cannot be made, stdout has not been promised anything.
        parts: list[BodyConsumer] = []
        if saver is not None and (saved := saver.open(target, head)) is not None:
            parts.append(saved)
        if bodies is not None:
            writer: BodyConsumer = bodies.open(target)
            parts.append(writer if guard is None else guard(writer, target, head.content_type))
        return parts[0] if len(parts) == 1 else FanOut(*parts) if parts else None

    return open_body


def _binary_guard(warn: Callable[[str], None]) -> Guard:
    from fetchcli.output.bodies import BinaryWithheld

    def guard(writer: BodyConsumer, target: Target, content_type: str | None) -> BodyConsumer:
        kind = (content_type or "no type").split(";", 1)[0]

        def notice() -> None:
            warn(
                f"{shown(target.url)}: binary body ({shown(kind)}) not written to the terminal; "
                "pipe it (| cat) or use --save DIR"
            )

        return BinaryWithheld(writer, content_type, notice)

    return guard


def _table_sink(streams: Streams) -> TableSink[Row]:
    from fetchcli.output.table import render_table, table_row  # rich's cells: 9 ms to import

    def show(rows: Sequence[Row]) -> None:
        width, color = streams.width or TABLE_WIDTH, streams.stdout_isatty and not streams.no_color
        for line in render_table(rows, width=width, color=color):
            streams.stdout.write(f"{line}\n".encode())
        streams.stdout.flush()

    return TableSink(table_row, show)
