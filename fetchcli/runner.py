"""One run, start to end: sources -> engine -> sinks, with signals and a closed stdout handled.

`run()` never exits the process; it returns the Summary and lets the CLI choose the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fetchcli.errors import UsageError, cannot_write
from fetchcli.input import sources
from fetchcli.models import Record, Result, Summary
from fetchcli.output.render import Reporter
from fetchcli.output.wiring import build_outputs
from fetchcli.session import Session
from fetchcli.settings.model import Config, Format
from fetchcli.streams import Streams

if TYPE_CHECKING:
    from fetchcli.run.workers.pool import WorkerPool

_PROGRESS_EVERY = 0.25  # seconds between redraws of the progress line
_STATE_EVERY = 1.0  # seconds between checks for --state updates waiting to be committed


def run(config: Config, streams: Streams, *, transport: Any = None) -> Summary:
    """Fetch everything `config` names; UsageError (exit 2) before any fetch if inputs are bad."""
    session = Session(config, stdout=streams.stdout)
    if config.run.dry_run:
        from fetchcli.dryrun import dry_run

        return dry_run(session.config, streams)
    return _Run(session, streams, transport).execute()


class _Run:
    """The state of one run that the event loop's callbacks share."""

    def __init__(
        self,
        session: Session,
        streams: Streams,
        transport: Any,  # an httpx transport from a test; this process may not know httpx
    ) -> None:
        self.session = session
        self.config = config = session.config
        self.streams = streams
        self.transport = transport
        self.summary = Summary(keep_phases=config.run.metrics is not None)
        # Bodies streamed to the terminal the progress line is on would be cut by it.
        streaming_here = config.output.format is Format.BODY and streams.same_terminal
        self.reporter = Reporter(
            streams.stderr,
            is_terminal=streams.stderr_isatty,
            progress=config.output.progress and not streaming_here,
            no_color=streams.no_color,
        )
        self.meter = sources.InputMeter()
        self.reporter.follow(self.meter)
        session.open_state()
        self.task: asyncio.Task[None] | None = None
        self.outputs = build_outputs(
            config,
            streams,
            on_stdout_closed=self.on_stdout_closed,
            warn=self.reporter.warning,
            left_out=self._left_out,
        )
        self.pool: WorkerPool | None = None

    def execute(self) -> Summary:
        summary, reporter = self.summary, self.reporter
        with reporter:
            if self.config.request.insecure:
                reporter.warning("TLS certificate verification is disabled (--insecure)")
            for warning in self.session.warnings:
                reporter.warning(warning)
            started = time.perf_counter()
            failed = False
            try:
                if self.config.pool.workers > 1 and not self.config.run.merge:
                    self.pool = self._worker_pool()
                    self.pool.start()
                asyncio.run(self._main())
            except BaseException:
                failed = True
                if self.pool is not None:
                    self.pool.kill()  # a no-op once the run's loop has stopped them
                raise
            finally:
                # A merge's time is not the shards' time: its summary shows none.
                summary.elapsed = None if self.config.run.merge else time.perf_counter() - started
                reporter.clear()  # gone before the table is drawn
                self.session.close(quietly=failed)  # what finished is kept, Ctrl-C included
                if not summary.stdout_closed:
                    self._close_outputs(quietly=failed)
        metrics_failed = self._write_metrics()
        if summary.stdout_closed:
            return summary  # the reader left: nothing more to say
        if summary.total == 0 and summary.signal is None:
            skipped = summary.skipped
            reporter.warning(
                f"no URLs to fetch: all {skipped.total()} skipped ({_skipped_by(skipped)})"
                if skipped
                else "no URLs to fetch"
            )
        elif not self.config.output.quiet:
            reporter.summary(summary)
        if metrics_failed is not None:
            raise metrics_failed  # after the summary: the run itself is told in full
        return summary

    def _write_metrics(self) -> UsageError | None:
        """--metrics, once everything else is written; a full disk is the error to end with."""
        run = self.config.run
        if run.metrics is None:
            return None
        from fetchcli.output.metrics import write_metrics

        try:
            write_metrics(run.metrics, self.summary, labels=run.metrics_labels)
        except OSError as exc:
            return cannot_write(run.metrics, exc, "--metrics")
        return None

    async def _main(self) -> None:
        self.task = asyncio.current_task()
        ticker = asyncio.create_task(self._tick()) if self.reporter.progress else None
        keeps_state = self.session.state is not None
        committer = asyncio.create_task(self._commit_state()) if keeps_state else None
        with _signals_handled(self.stop):
            try:
                await (self._merge() if self.config.run.merge else self._fetch())
                # A cancel asked for after the last await (a merge's reader leaving) lands here,
                # inside this try, and not as a CancelledError out of asyncio.run.
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                if self.summary.signal is None and not self.summary.stdout_closed:
                    raise
            except OSError as exc:  # reading a list failed mid-way (per-URL errors are records)
                raise UsageError(f"cannot read input: {exc.strerror or exc}") from None
            finally:
                for task in (ticker, committer):
                    if task is not None:
                        task.cancel()

    async def _fetch(self) -> None:
        """Every target, fetched in this process or by the workers, emitted as it comes."""
        config, streams = self.config, self.streams
        targets = sources.targets(config, streams.stdin, self.summary.skipped, self.meter)
        conditional = self.session.conditional
        log = self.reporter.line if config.output.verbose else None
        # A thread only for a pipe, terminal or FIFO that is read (files never block).
        blocking_input = sources.input_blocks(config.sources, streams.stdin_blocks)
        if self.pool is not None:
            await self.pool.run(
                targets,
                self.emit,
                window=self.session.window,
                consumer_for=self.outputs.consumer_for,
                conditional=conditional,
                log=log,
                blocking_input=blocking_input,
                on_finished=self.reporter.finished,
            )
            return
        from fetchcli.run import engine  # httpx: never in the parent of --workers

        await engine.run(
            targets,
            config,
            self.emit,
            window=self.session.window,
            transport=self.transport,
            consumer_for=self.outputs.consumer_for,
            conditional=conditional,
            log=log,
            blocking_input=blocking_input,
            on_finished=self.reporter.finished,
            meter=self.reporter.bodies if self.reporter.progress else None,
        )

    def _worker_pool(self) -> WorkerPool:
        from fetchcli.run.workers.pool import WorkerPool  # only for --workers: start-up stays fast

        return WorkerPool(
            self.config,
            bodies=self.outputs.consumer_for is not None,
            validators=self.session.state is not None,
        )

    async def _commit_state(self) -> None:
        """What finished reaches the state file within seconds, even while the rest hangs."""
        while True:
            await asyncio.sleep(_STATE_EVERY)
            self.session.tick()

    async def _tick(self) -> None:
        """A long run on a terminal always shows that it is alive."""
        while True:
            self.reporter.refresh()
            await asyncio.sleep(_PROGRESS_EVERY)

    def stop(self, signum: int) -> None:
        """SIGINT/SIGTERM: stop dispatching and cancel what is in flight; twice: leave now."""
        if self.summary.signal is not None:
            raise SystemExit(128 + signum)
        self.summary.signal = signum
        self._cancel()

    def _left_out(self) -> None:
        self.summary.hidden += 1

    def on_stdout_closed(self) -> None:
        """The reader of stdout went away (`| head`): stop quietly."""
        self.summary.stdout_closed = True
        self._cancel()

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _merge(self) -> None:
        """--merge: the shards' records, in input order, through the outputs as if fetched."""
        from fetchcli.input import records  # reading records back: --merge's alone

        changed_only = self.config.run.changed_only
        for count, found in enumerate(records.merged(self.config.sources, self.reporter.warning)):
            if changed_only and "changed" not in found.record:
                raise UsageError(
                    "--changed-only: these records have no 'changed' (their shards ran "
                    "without --state)"
                )
            self.reporter.finished(found.result)
            record = found.result.to_record()
            if "changed" in found.record:  # the shard ran with --state
                record["changed"] = found.record["changed"]
            self._write(found.result, record)
            if count % 256 == 255:
                await asyncio.sleep(0)  # signals and the progress line get their turn

    def emit(self, result: Result) -> None:
        if self.summary.stdout_closed:
            return
        self._write(result, self.session.record(result))

    def _write(self, result: Result, record: Record) -> None:
        if self.summary.stdout_closed:
            return
        try:
            with self._stdout_write():
                self.outputs.sink.write(result, record)
        except BrokenPipeError:
            self.on_stdout_closed()
            return
        except OSError as exc:  # disk full under --records or a redirected stdout
            raise UsageError(f"cannot write output: {exc.strerror or exc}") from None
        self.summary.add(result)

    def _stdout_write(self) -> contextlib.AbstractContextManager[None]:
        """Records to the terminal the progress line is on: the line steps aside for each."""
        if self.streams.same_terminal:
            return self.reporter.paused()
        return contextlib.nullcontext()

    def _close_outputs(self, *, quietly: bool) -> None:
        """Flush and close the outputs; the table is written here."""
        try:
            self.outputs.sink.close()
        except BrokenPipeError:
            self.summary.stdout_closed = True
        except OSError as exc:
            if not quietly:  # else the run is already failing with its own message
                raise UsageError(f"cannot write output: {exc.strerror or exc}") from None


def _skipped_by(skipped: Counter[str]) -> str:
    """
    >>> _skipped_by(Counter({"skip-done": 40, "dedupe": 2}))
    '--skip-done 40, --dedupe 2'
    """
    return ", ".join(f"--{flag} {count}" for flag, count in skipped.most_common())


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
