"""The stderr side: the summary, the progress line, warnings and -v lines; at a terminal
drawn with rich, which is imported only then (a cron run's stderr is a file: plain lines).

Server text arrives here already sanitized by `Result.to_record()` and is only ever wrapped in
`Text`, never parsed as markup. (The results table is table.py.)
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

from fetchcli.consumer import BodyMeter
from fetchcli.input.sources import InputMeter
from fetchcli.models import Result, Summary

_STOPPED_BY: dict[int, str] = {
    signal.SIGINT: "interrupted (Ctrl-C)",
    signal.SIGTERM: "terminated (SIGTERM)",
}


def summary_line(summary: Summary) -> str:
    """ok and failed counts, failures by kind, what was skipped and why, bytes, elapsed,
    requests per second; and, first, whether the run was cut short.

    >>> summary_line(Summary(ok=3, failed=1, skipped=Counter(dedupe=2), elapsed=2.0))
    '3 ok, 1 failed, 2 skipped (dedupe 2) · 0 bytes in 2.00s · 2.0 req/s'
    """
    from rich.filesize import decimal  # rich only for a run that shows its summary

    failed = f"{summary.failed} failed"
    if summary.failures_by_kind:
        failed += f" ({_counts(summary.failures_by_kind)})"
    truncated = f", {summary.truncated} truncated" if summary.truncated else ""
    if summary.hidden:
        truncated += f", {summary.hidden} left out by --where"
    skipped = ""
    if summary.skipped:
        skipped = f", {summary.skipped.total()} skipped ({_counts(summary.skipped)})"
    latency = ""
    if summary.latencies.count:
        p50, p90, p99 = (summary.latencies.percentile(p) for p in (50, 90, 99))
        latency = f" · p50 {_seconds(p50)}, p90 {_seconds(p90)}, p99 {_seconds(p99)}"
    stopped = ""
    if summary.signal is not None:
        stopped = _STOPPED_BY.get(summary.signal, f"stopped by signal {summary.signal}") + ": "
    timing = ""
    if summary.elapsed is not None:
        timing = f" in {summary.elapsed:.2f}s · {summary.rate:.1f} req/s"
    return (
        f"{stopped}{summary.ok} ok, {failed}{truncated}{skipped} · {decimal(summary.bytes)}"
        f"{timing}{latency}"
    )


def _seconds(value: float) -> str:
    """`42ms`, `1.3s`.

    >>> _seconds(0.0421), _seconds(1.29)
    ('42ms', '1.3s')
    """
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.1f}s"


def _counts(counter: Counter[str]) -> str:
    """Most first; ties by name, so a run says the same whatever order its URLs finished in.

    >>> _counts(Counter({"timeout": 1, "http 404": 1, "dns": 3}))
    'dns 3, http 404 1, timeout 1'
    """
    return ", ".join(f"{name} {n}" for name, n in sorted(counter.items(), key=_most_then_name))


def _most_then_name(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


class Reporter:
    """The stderr side: warnings, errors, -v lines, the progress line and the summary.

    The progress line is one line redrawn in place (never rich's Live, whose thread could draw
    between two bytes of a record): it is cleared before anything else is written to the
    terminal and drawn again after, so no text of it is left at the start of a line, and it is
    cleared for good before the table is drawn.
    """

    def __init__(
        self,
        stderr: TextIO,
        *,
        is_terminal: bool,
        progress: bool,
        no_color: bool | None = None,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console_options = {"no_color": no_color, "width": width}
        self._stderr = stderr
        self._is_terminal = is_terminal
        self.progress = progress
        self._clock = clock
        self._started = clock()
        self._done = 0
        self._failed = 0
        self._meter: InputMeter | None = None
        self.bodies = BodyMeter()  # body bytes in this process: large downloads' bytes and ETA
        self._shown = False
        self._frame = 0

    @cached_property
    def console(self) -> Console:
        """rich's console on stderr: its width, at each line, is the terminal's."""
        from rich.console import Console  # 26 ms: only a run that draws on a terminal needs it

        return Console(
            file=self._stderr,
            force_terminal=self._is_terminal,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=True,
            **self._console_options,  # type: ignore[arg-type]
        )

    def __enter__(self) -> Reporter:
        self._started = self._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.clear()

    def follow(self, meter: InputMeter) -> None:
        """Read the input's progress (for a total and an ETA) from `meter`."""
        self._meter = meter

    def finished(self, result: Result) -> None:
        """One URL is done (whenever its record is written)."""
        self._done += 1
        self._failed += not result.ok

    def refresh(self) -> None:
        """Draw the progress line again (the run calls this a few times a second)."""
        if not self.progress:
            return
        self._frame += 1
        width = self.console.width
        line = self.progress_text()[: max(0, width - 1)]
        self._stderr.write(f"\r{line}\x1b[K")
        self._stderr.flush()
        self._shown = True

    def clear(self) -> None:
        """Take the progress line off the screen, whole."""
        if self._shown:
            self._stderr.write("\r\x1b[K")
            self._stderr.flush()
            self._shown = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """For a write to the same terminal (a record on stdout): no progress while it is made."""
        if not self._shown:
            yield
            return
        self.clear()
        try:
            yield
        finally:
            self.refresh()

    def progress_text(self) -> str:
        """`⠹ 1,234 done · 12 failed · 310/s · of 4,000 · ETA 0:09 · 0:04`: the total is exact
        once the input has been read to its end, `of ~N` (estimated from the bytes read) while
        a file is still being read, and absent while a pipe is."""
        elapsed = self._clock() - self._started
        rate = self._done / elapsed if elapsed > 0 else 0.0
        parts = [f"{_SPINNER[self._frame % len(_SPINNER)]} {self._done:,} done"]
        if self._failed:
            parts.append(f"{self._failed:,} failed")
        parts.append(f"{rate:,.0f}/s")
        total = self._total(rate)
        if total is not None:
            parts.append(total[0])
            if rate > 0:
                parts.append(f"ETA {_clock_time((total[1] - self._done) / rate)}")
        parts += self._bytes_parts(elapsed)
        parts.append(_clock_time(elapsed))
        return " · ".join(parts)

    def _bytes_parts(self, elapsed: float) -> list[str]:
        """`12.6 MB of 200.0 MB · 10.1 MB/s · ETA 0:18`, once a megabyte has come: for large
        downloads, where a count of URLs says little."""
        bodies = self.bodies
        if bodies.read < _SHOW_BYTES_AFTER or elapsed <= 0:
            return []
        from rich.filesize import decimal

        rate = bodies.read / elapsed
        parts = [decimal(bodies.read)]
        if bodies.expected > bodies.read:
            parts[0] += f" of {decimal(bodies.expected)}"
        parts.append(f"{decimal(round(rate))}/s")
        if bodies.expected > bodies.read and rate > 0:
            parts.append(f"ETA {_clock_time((bodies.expected - bodies.read) / rate)} by bytes")
        return parts

    def _total(self, rate: float) -> tuple[str, int] | None:
        """`of 40` and 40 once the input is read; `of ~41` while it is, when that can be told."""
        meter = self._meter
        if meter is None:
            return None
        if meter.complete:
            total = max(self._done, meter.targets)
            return f"of {total:,}", total
        fraction = meter.fraction
        if not fraction or not meter.targets or rate <= 0:
            return None
        total = max(self._done, round(meter.targets / fraction))
        return f"of ~{total:,}", total

    def line(self, text: str) -> None:
        """A plain line on stderr (never markup), with the progress line kept below it; at a
        terminal, wrapped to its width at spaces (see wrap_line)."""
        if not self._is_terminal:
            with self.paused():
                self._stderr.write(f"{text}\n")
                self._stderr.flush()
            return
        from rich.text import Text

        with self.paused():
            for line in wrap_line(text, self.console.width):
                self.console.print(Text(line), soft_wrap=True)

    def warning(self, text: str) -> None:
        self.line(f"fetchcli: warning: {text}")

    def summary(self, summary: Summary) -> None:
        self.line(f"fetchcli: {summary_line(summary)}")


_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_SHOW_BYTES_AFTER = 1_000_000  # below a megabyte, bytes on the progress line say nothing
_INDENT = "  "


def wrap_line(text: str, width: int) -> list[str]:
    """A long stderr line as lines of at most `width` cells, broken at its ` · ` separators
    where it can be and else at spaces, never inside a word (a word wider than the terminal
    gets a line of its own); the lines after the first are indented.

    >>> wrap_line("fetchcli: 9 ok, 0 failed · 1.2 kB in 0.46s · 19.5 req/s", 44)
    ['fetchcli: 9 ok, 0 failed · 1.2 kB in 0.46s', '  · 19.5 req/s']
    >>> wrap_line("fetchcli: warning: a long warning about a thing", 24)
    ['fetchcli: warning: a', '  long warning about a', '  thing']
    """
    if _cells(text) <= width:
        return [text]
    return [line for part in _at_separators(text, width) for line in _at_spaces(part, width)]


def _cells(text: str) -> int:
    """The terminal cells `text` takes; rich's cell tables are imported only for a terminal's
    line (2 ms a start otherwise)."""
    from rich.cells import cell_len

    return cell_len(text)


def _at_separators(text: str, width: int) -> list[str]:
    first, *rest = text.split(" · ")
    lines = [first]
    for part in rest:
        joined = f"{lines[-1]} · {part}"
        if _cells(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(f"{_INDENT}· {part}")
    return lines


def _at_spaces(line: str, width: int) -> list[str]:
    if _cells(line) <= width:
        return [line]
    body = line.lstrip(" ")
    indent = line[: len(line) - len(body)] + _INDENT
    first, *words = body.split(" ")
    lines = [line[: len(line) - len(body)] + first]
    for word in words:
        joined = f"{lines[-1]} {word}"
        if _cells(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(indent + word)
    return lines


def _clock_time(seconds: float) -> str:
    """`0:04`, `1:02:03`.

    >>> _clock_time(4.2), _clock_time(3723)
    ('0:04', '1:02:03')
    """
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
