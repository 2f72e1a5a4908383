"""What a run needs besides its options, set up the same way for the command line (runner.py)
and the Python API (api.py): every input checked before anything is fetched, the pool fitted
to the open-file limit, the window of input order, the --state file, and the record each Result
becomes (with `changed` when --state is kept)."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from fetchcli.consumer import Conditional
from fetchcli.errors import StateError, UsageError
from fetchcli.models import Record, Result, Target
from fetchcli.preflight import check_inputs
from fetchcli.run import budget, cores
from fetchcli.run.reorder import HELD_BYTES, Window
from fetchcli.settings.model import Config, Format, Order

if TYPE_CHECKING:
    from fetchcli.state import StateStore


class Session:
    """One run's setup. UsageError (exit 2; a ValueError from the API) for anything wrong."""

    def __init__(self, config: Config, *, stdout: BinaryIO | None = None) -> None:
        check_inputs(config, stdout)
        config, fewer_workers = cores.fit_workers(config, cores.usable_cpus())
        self.config, shortage = budget.fit(config, budget.open_file_limit())
        said = (fewer_workers, shortage)
        self.warnings = (*self.config.warnings, *(warning for warning in said if warning))
        self.window = window_for(self.config)
        self.state: StateStore | None = None
        output = self.config.output
        self._resume_in = output.save if output.resume else None  # --continue's directory

    def open_state(self) -> None:
        """Open --state's file (held by this run until `close`), when the run keeps one."""
        path = self.config.run.state
        if path is None or self.config.run.dry_run:
            return
        from fetchcli.state import StateStore  # sqlite3: only a run with --state needs it

        try:
            self.state = StateStore(path)
        except StateError as exc:
            raise self._state_error(exc) from None

    @property
    def conditional(self) -> Conditional | None:
        """The conditional headers to send for a target (--state's validators, --continue's
        Range), or None."""
        if self.state is None and self._resume_in is None:
            return None
        return self._conditional_headers

    def _conditional_headers(self, target: Target) -> dict[str, str]:
        headers = self._validators(target) if self.state is not None else {}
        if self._resume_in is not None:
            from fetchcli.output.resume import resume_headers  # --continue only: not at start

            headers.update(resume_headers(self._resume_in, target))
        return headers

    def record(self, result: Result) -> Record:
        """The record of `result`, with `changed` under --state (the state brought up to date)."""
        record = result.to_record()
        if self.state is not None:
            try:
                record["changed"] = self.state.observe(result)
            except StateError as exc:  # a full disk, say: the run stops, as for --records
                raise self._state_error(exc) from None
        return record

    def tick(self) -> None:
        """Commit --state's pending updates once they are due (the runner calls this every
        second, so what finished is kept while the rest hangs); a failure waits for `close`."""
        if self.state is not None:
            try:
                self.state.tick()
            except StateError:
                return

    def close(self, *, quietly: bool = False) -> None:
        """Commit what finished and let go of the state file (Ctrl-C included); `quietly`: the
        run is failing already, with its own message."""
        if self.state is None:
            return
        state, self.state = self.state, None
        try:
            state.close()
        except StateError as exc:
            if not quietly:
                raise self._state_error(exc) from None

    def _validators(self, target: Target) -> dict[str, str]:
        assert self.state is not None
        try:
            return self.state.validators(target.key)
        except StateError as exc:
            raise self._state_error(exc) from None

    def _state_error(self, exc: StateError) -> UsageError:
        return UsageError(f"--state: cannot use '{self.config.run.state}': {exc}")


def window_for(config: Config) -> Window | None:
    """How much may wait behind a slow URL in input order; None: results as they finish.

    The table is sorted when drawn, so it needs no window. Bodies also hold a spool each, so
    their number is bounded too."""
    output = config.output
    if output.order is Order.COMPLETION or output.format is Format.TABLE:
        return None
    if output.format is Format.BODY:
        in_flight = config.pool.concurrency * config.pool.workers
        return Window(HELD_BYTES, max_items=max(64, 8 * in_flight))
    return Window(HELD_BYTES)
