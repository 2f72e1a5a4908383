"""One run, start to end: sources -> engine -> sinks, with signals and a closed stdout handled.

`run()` never exits the process; it returns the Summary and lets the CLI choose the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

import httpx

from fetchcli import engine, sources
from fetchcli.config import Config, Format
from fetchcli.errors import UsageError
from fetchcli.models import Result, Summary, Target
from fetchcli.render import Reporter, render_table
from fetchcli.sinks import CsvSink, JsonlSink, Sink, TableSink, TeeSink
from fetchcli.streams import Streams


def check_inputs(config: Config) -> None:
    """Fail before any fetch when an input file cannot be read (exit 2)."""
    for source in config.sources:
        if source != sources.STDIN and not sources.is_url_argument(source):
            _check_file(source)
    if config.input.skip_done is not None and config.input.skip_done.exists():
        _check_file(str(config.input.skip_done))


def _check_file(path: str) -> None:
    try:
        sources.check_readable([path])
    except OSError as exc:
        raise UsageError(f"cannot read '{path}': {exc.strerror or exc}") from None


def iter_targets(config: Config, stdin: BinaryIO) -> Iterator[Target]:
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


class _Outcome:
    """How the run ended, decided by callbacks that fire inside the event loop."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.stdout_closed = False


def run(
    config: Config, streams: Streams, *, transport: httpx.AsyncBaseTransport | None = None
) -> Summary:
    check_inputs(config)
    output = config.output
    summary = Summary()
    with Reporter(
        streams.stderr, is_terminal=streams.stderr_isatty, progress=output.progress
    ) as reporter:
        if config.request.insecure:
            reporter.warning("TLS certificate verification is disabled (--insecure)")
        sink = _make_sink(config, streams)
        outcome = _Outcome()
        started = time.perf_counter()
        try:
            asyncio.run(_run_async(config, streams, sink, summary, reporter, outcome, transport))
        finally:
            summary.elapsed = time.perf_counter() - started
            summary.signal = outcome.signal
            summary.stdout_closed = outcome.stdout_closed
            if not outcome.stdout_closed:
                with contextlib.suppress(BrokenPipeError):
                    sink.close()
    if summary.total == 0 and outcome.signal is None:
        reporter.warning("no URLs to fetch")
    elif not output.quiet and not outcome.stdout_closed:
        reporter.summary(summary)
    return summary


async def _run_async(
    config: Config,
    streams: Streams,
    sink: Sink,
    summary: Summary,
    reporter: Reporter,
    outcome: _Outcome,
    transport: httpx.AsyncBaseTransport | None,
) -> None:
    main_task = asyncio.current_task()
    assert main_task is not None

    def stop(signum: int) -> None:
        if outcome.signal is not None:
            raise SystemExit(128 + signum)  # a second Ctrl-C: leave at once
        outcome.signal = signum
        main_task.cancel()

    def emit(result: Result) -> None:
        if outcome.stdout_closed:
            return
        try:
            sink.write(result)
        except BrokenPipeError:
            outcome.stdout_closed = True
            main_task.cancel()
            return
        summary.add(result)
        reporter.advance()

    with _signals_handled(stop):
        try:
            await engine.run(
                iter_targets(config, streams.stdin),
                config,
                emit,
                transport=transport,
                log=reporter.line if config.output.verbose else None,
                blocking_input=streams.stdin_blocks,
            )
        except asyncio.CancelledError:
            if outcome.signal is None and not outcome.stdout_closed:
                raise


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


def _make_sink(config: Config, streams: Streams) -> Sink:
    output = config.output
    sink: Sink
    if output.format is Format.CSV:
        sink = CsvSink(streams.stdout)
    elif output.format is Format.TABLE:
        sink = TableSink(lambda results: _show_table(results, streams))
    else:
        sink = JsonlSink(streams.stdout, include_headers=output.include_headers)
    if output.records is not None:
        try:
            records = output.records.open("ab")
        except OSError as exc:
            raise UsageError(f"cannot write '{output.records}': {exc.strerror or exc}") from None
        sink = TeeSink(sink, JsonlSink(records, include_headers=True, close_stream=True))
    return sink


def _show_table(results: Sequence[Result], streams: Streams) -> None:
    text = render_table(results, width=streams.width, color=streams.stdout_isatty)
    streams.stdout.write(text.encode())
    streams.stdout.flush()
