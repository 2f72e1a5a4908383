"""The stderr side, drawn with rich: the summary, the progress bar, warnings and -v lines.

Server text arrives here already sanitized by `Result.to_record()` and is only ever wrapped in
`Text`, never parsed as markup. (The results table is table.py.)
"""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.filesize import decimal
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from fetchcli.models import Summary


def summary_line(summary: Summary) -> str:
    """ok and failed counts, failures by kind, bytes, elapsed, requests per second."""
    failed = f"{summary.failed} failed"
    if summary.failures_by_kind:
        kinds = ", ".join(f"{kind} {n}" for kind, n in summary.failures_by_kind.most_common())
        failed += f" ({kinds})"
    truncated = f", {summary.truncated} truncated" if summary.truncated else ""
    return (
        f"{summary.ok} ok, {failed}{truncated} · {decimal(summary.bytes)} "
        f"in {summary.elapsed:.2f}s · {summary.rate:.1f} req/s"
    )


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
