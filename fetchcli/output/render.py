"""The stderr side, drawn with rich: the summary, the progress bar, warnings and -v lines.

Server text arrives here already sanitized by `Result.to_record()` and is only ever wrapped in
`Text`, never parsed as markup. (The results table is table.py.)
"""

from __future__ import annotations

import signal
from collections import Counter
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.filesize import decimal
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from fetchcli.models import Summary

_STOPPED_BY: dict[int, str] = {
    signal.SIGINT: "interrupted (Ctrl-C)",
    signal.SIGTERM: "terminated (SIGTERM)",
}


def summary_line(summary: Summary) -> str:
    """ok and failed counts, failures by kind, what was skipped and why, bytes, elapsed,
    requests per second; and, first, whether the run was cut short.

    >>> from fetchcli.models import Summary
    >>> summary_line(Summary(ok=3, failed=1, skipped=Counter(dedupe=2), elapsed=2.0))
    '3 ok, 1 failed, 2 skipped (dedupe 2) · 0 bytes in 2.00s · 2.0 req/s'
    """
    failed = f"{summary.failed} failed"
    if summary.failures_by_kind:
        failed += f" ({_counts(summary.failures_by_kind)})"
    truncated = f", {summary.truncated} truncated" if summary.truncated else ""
    skipped = ""
    if summary.skipped:
        skipped = f", {summary.skipped.total()} skipped ({_counts(summary.skipped)})"
    stopped = ""
    if summary.signal is not None:
        stopped = _STOPPED_BY.get(summary.signal, f"stopped by signal {summary.signal}") + ": "
    return (
        f"{stopped}{summary.ok} ok, {failed}{truncated}{skipped} · {decimal(summary.bytes)} "
        f"in {summary.elapsed:.2f}s · {summary.rate:.1f} req/s"
    )


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counter.most_common())


class Reporter:
    """The stderr side: warnings, errors, -v lines, the progress bar and the summary."""

    def __init__(self, stderr: TextIO, *, is_terminal: bool, progress: bool) -> None:
        self.console = Console(
            file=stderr,
            force_terminal=is_terminal,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=True,
        )
        self._progress = (
            Progress(
                SpinnerColumn(),
                MofNCompleteColumn(),
                TextColumn("URLs done"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            if progress
            else None
        )
        self._task = self._progress.add_task("fetch", total=None) if self._progress else None

    def __enter__(self) -> Reporter:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)

    def line(self, text: str) -> None:
        """A plain line on stderr, drawn above the progress bar; `text` is never markup."""
        self.console.print(Text(text), soft_wrap=True)

    def warning(self, text: str) -> None:
        self.line(f"fetchcli: warning: {text}")

    def summary(self, summary: Summary) -> None:
        self.line(f"fetchcli: {summary_line(summary)}")
