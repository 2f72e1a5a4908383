"""Everything rich draws: the results table, the summary, the progress bar, stderr messages.

The only module that imports rich. Server text arrives here already sanitized by
`Result.to_record()` and is only ever wrapped in `Text`, never parsed as markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.filesize import decimal
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from fetchcli.models import Result, Summary

_STATUS_STYLES = {2: "green", 3: "cyan", 4: "yellow", 5: "red"}


def results_table(results: Sequence[Result]) -> Table:
    """The results as a table: #, URL, Status, Time, Size, Type, Snippet."""
    table = Table(show_lines=False, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("URL", overflow="fold", ratio=3)
    table.add_column("Status", no_wrap=True)
    table.add_column("Time", justify="right", no_wrap=True)
    table.add_column("Size", justify="right", no_wrap=True)
    table.add_column("Type", overflow="ellipsis", max_width=24)
    table.add_column("Snippet", overflow="ellipsis", ratio=2)
    for number, result in enumerate(results, start=1):
        table.add_row(*_row(number, result))
    return table


def _row(number: int, result: Result) -> list[Text]:
    record = result.to_record()
    mime = (record["content_type"] or "").split(";", 1)[0]
    return [
        Text(str(number)),
        Text(record["url"]),
        _status_cell(result, record["reason"]),
        Text(f"{result.elapsed:.2f}s" if result.attempts else ""),
        Text(decimal(result.bytes) if result.status is not None else ""),
        Text(mime),
        Text(record["snippet"] or "", style="dim"),
    ]


def _status_cell(result: Result, reason: str | None) -> Text:
    if result.error is not None:
        status = f"{result.status} " if result.status is not None else ""
        return Text(f"{status}{result.error.kind}", style="bold red")
    style = _STATUS_STYLES.get((result.status or 0) // 100, "")
    return Text(f"{result.status} {reason or ''}".rstrip(), style=style)


def render_table(results: Sequence[Result], *, width: int | None, color: bool) -> str:
    """The table as text for stdout, sized for the terminal (or 120 columns for a file)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width or 120,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
    )
    console.print(results_table(results))
    return buffer.getvalue()


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
