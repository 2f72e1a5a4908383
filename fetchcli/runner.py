"""One run, start to end: sources -> engine -> sinks, with signals and a closed stdout handled.

`run()` never exits the process; it returns the Summary and lets the CLI choose the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from fetchcli import descriptors, engine, sources
from fetchcli.attempt import ConsumerFactory
from fetchcli.bodies import BodySink
from fetchcli.body import BodyConsumer, Tee
from fetchcli.config import Config, Format, Order
from fetchcli.errors import UsageError
from fetchcli.models import Result, Summary, Target
from fetchcli.order import Window
from fetchcli.render import Reporter
from fetchcli.save import Saver, prepare_directory
from fetchcli.sinks import CsvSink, JsonlSink, Sink, TableSink, TeeSink
from fetchcli.streams import Streams
from fetchcli.table import Row, render_table, table_row

if TYPE_CHECKING:
    import httpx


def run(
    config: Config, streams: Streams, *, transport: httpx.AsyncBaseTransport | None = None
) -> Summary:
    """Fetch everything `config` names; UsageError (exit 2) before any fetch if inputs are bad."""
    check_inputs(config)
    config, shortage = descriptors.fit(config, descriptors.open_file_limit())
    return _Run(config, streams, transport, warnings=[shortage] if shortage else []).execute()


def check_inputs(config: Config) -> None:
    """Fail before any fetch when an input cannot be read or an output cannot be written."""
    for source in config.sources:
        if source != sources.STDIN and not sources.is_url_argument(source):
            _check_file(source)
    if config.input.skip_done is not None and config.input.skip_done.exists():
        _check_file(str(config.input.skip_done))
    if config.output.save_dir is not None:
        try:
            prepare_directory(config.output.save_dir)
        except OSError as exc:
            raise UsageError(
                f"cannot write to '{config.output.save_dir}': {exc.strerror or exc}"
            ) from None


def _check_file(path: str) -> None:
    try:
        sources.check_readable([path])
    except OSError as exc:
        raise UsageError(f"cannot read '{path}': {exc.strerror or exc}") from None


HELD_BYTES = 16 * 1024 * 1024  # records held back for input order: some 20,000 of them


def window_for(config: Config) -> Window | None:
    """How much may wait behind a slow URL in input order; None: results as they finish.

    The table is sorted when drawn, so it needs no window. Bodies also hold a spool each, so
    their number is bounded too."""
    output = config.output
    if output.order is Order.COMPLETION or output.format is Format.TABLE:
        return None
    if output.format is Format.BODY:
        return Window(HELD_BYTES, max_items=max(64, 8 * config.pool.concurrency))
    return Window(HELD_BYTES)


def iter_targets(config: Config, stdin: sources.LineInput) -> Iterator[Target]:
    """The lazy target pipeline: read, then dedupe, shard and skip-done as generator stages."""
    options = config.input
    targets = sources.iter_targets(config.sources, options.default_scheme, stdin)
    if options.dedupe:
        targets = sources.dedupe(targets)
    if options.shard is not None:
        targets = sources.in_shard(targets, options.shard)
    if options.skip_done is not None:
        targets = sources.skip_done(targets, sources.load_done(options.skip_done))
    return targets


class _Run:
    """The state of one run that the event loop's callbacks share."""

    def __init__(
        self,
        config: Config,
        streams: Streams,
        transport: httpx.AsyncBaseTransport | None,
        warnings: list[str],
    ) -> None:
        self.config = config
        self.warnings = warnings
        self.streams = streams
        self.transport = transport
        self.summary = Summary()
        self.reporter = Reporter(
            streams.stderr, is_terminal=streams.stderr_isatty, progress=config.output.progress
        )
        self.task: asyncio.Task[None] | None = None
        self.body_sink: BodySink | None = None
        self.sink = self._make_sink()

    def execute(self) -> Summary:
        summary, reporter = self.summary, self.reporter
        with reporter:
            if self.config.request.insecure:
                reporter.warning("TLS certificate verification is disabled (--insecure)")
            for warning in self.warnings:
                reporter.warning(warning)
            started = time.perf_counter()
            failed = False
            try:
                asyncio.run(self._main())
            except BaseException:
                failed = True
                raise
            finally:
                summary.elapsed = time.perf_counter() - started
                if not summary.stdout_closed:
                    self._close_sink(quietly=failed)
        if summary.stdout_closed:
            return summary  # the reader left: nothing more to say
        if summary.total == 0 and summary.signal is None:
            reporter.warning("no URLs to fetch")
        elif not self.config.output.quiet:
            reporter.summary(summary)
        return summary

    async def _main(self) -> None:
        self.task = asyncio.current_task()
        with _signals_handled(self.stop):
            try:
                await engine.run(
                    iter_targets(self.config, self.streams.stdin),
                    self.config,
                    self.emit,
                    window=window_for(self.config),
                    transport=self.transport,
                    consumer_for=self._consumer_factory(),
                    log=self.reporter.line if self.config.output.verbose else None,
                    # A thread only for a pipe or terminal that is read (files never block).
                    blocking_input=self.streams.stdin_blocks
                    and sources.STDIN in self.config.sources,
                )
            except asyncio.CancelledError:
                if self.summary.signal is None and not self.summary.stdout_closed:
                    raise
            except OSError as exc:  # reading a list failed mid-way (per-URL errors are records)
                raise UsageError(f"cannot read input: {exc.strerror or exc}") from None

    def stop(self, signum: int) -> None:
        """SIGINT/SIGTERM: stop dispatching and cancel what is in flight; twice: leave now."""
        if self.summary.signal is not None:
            raise SystemExit(128 + signum)
        self.summary.signal = signum
        self._cancel()

    def stdout_closed(self) -> None:
        """The reader of stdout went away (`| head`): stop quietly."""
        self.summary.stdout_closed = True
        self._cancel()

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def emit(self, result: Result) -> None:
        if self.summary.stdout_closed:
            return
        try:
            self.sink.write(result)
        except BrokenPipeError:
            self.stdout_closed()
            return
        except OSError as exc:  # disk full under --records or a redirected stdout
            raise UsageError(f"cannot write output: {exc.strerror or exc}") from None
        self.summary.add(result)
        self.reporter.advance()

    def _close_sink(self, *, quietly: bool) -> None:
        """Flush and close the outputs; the table is written here."""
        try:
            self.sink.close()
        except BrokenPipeError:
            self.summary.stdout_closed = True
        except OSError as exc:
            if not quietly:  # else the run is already failing with its own message
                raise UsageError(f"cannot write output: {exc.strerror or exc}") from None

    def _make_sink(self) -> Sink:
        output, stdout = self.config.output, self.streams.stdout
        records = _records_sink(self.config) if output.records is not None else None
        sink: Sink
        if output.format is Format.CSV:
            sink = CsvSink(stdout)
        elif output.format is Format.TABLE:
            sink = TableSink(table_row, self._show_table)
        elif output.format is Format.BODY:
            self.body_sink = BodySink(
                stdout,
                separator=output.separator,
                ordered=output.order is Order.INPUT,
                on_closed=self.stdout_closed,
            )
            sink = self.body_sink
        else:
            sink = JsonlSink(stdout, include_headers=output.include_headers)
        return sink if records is None else TeeSink(sink, records)

    def _consumer_factory(self) -> ConsumerFactory | None:
        saver = Saver(self.config.output.save_dir) if self.config.output.save_dir else None
        body_sink = self.body_sink
        if saver is None and body_sink is None:
            return None

        def open_body(target: Target, status: int) -> BodyConsumer | None:
            # The file first: if it cannot be made, stdout has not been promised anything.
            parts: list[BodyConsumer] = []
            if saver is not None and (saved := saver.open(target.url, status)) is not None:
                parts.append(saved)
            if body_sink is not None:
                parts.append(body_sink.open(target))
            return parts[0] if len(parts) == 1 else Tee(*parts) if parts else None

        return open_body

    def _show_table(self, rows: Sequence[Row]) -> None:
        width, color = self.streams.width or 120, self.streams.stdout_isatty
        stdout = self.streams.stdout
        for line in render_table(rows, width=width, color=color):
            stdout.write(f"{line}\n".encode())
        stdout.flush()


def _records_sink(config: Config) -> Sink:
    path = config.output.records
    assert path is not None
    try:
        records = path.open("ab")
    except OSError as exc:
        raise UsageError(f"cannot write '{path}': {exc.strerror or exc}") from None
    return JsonlSink(records, include_headers=config.output.include_headers, close_stream=True)


@contextlib.contextmanager
def _signals_handled(stop: Callable[[int], None]) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
        except (ValueError, RuntimeError, NotImplementedError):
            pass  # not the main thread (an in-process test): default handling stays
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
