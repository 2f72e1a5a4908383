"""The stderr side: the progress line's words, and the line taken off the screen whole."""

from __future__ import annotations

import io

from fetchcli.input.sources import InputMeter
from fetchcli.models import ErrorInfo, ErrorKind, Result, Target
from fetchcli.output.render import Reporter


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _reporter(stderr: io.StringIO, clock: Clock) -> Reporter:
    return Reporter(stderr, is_terminal=True, progress=True, clock=clock)


def _finish(reporter: Reporter, ok: int, failed: int) -> None:
    for _ in range(ok):
        reporter.finished(Result(Target("https://a.test/", "-", 1), status=200))
    for _ in range(failed):
        error = ErrorInfo(ErrorKind.CONNECT, "connection refused")
        reporter.finished(Result(Target("https://a.test/", "-", 1), error=error))


def test_progress_counts_finished_urls_failures_and_the_rate() -> None:
    """From a pipe there is no total: done, failed, rate and elapsed time."""
    clock = Clock()
    reporter = _reporter(io.StringIO(), clock)
    with reporter:
        _finish(reporter, 90, 10)
        clock.now = 4.0
        assert reporter.progress_text() == "⠋ 100 done · 10 failed · 25/s · 0:04"


def test_progress_shows_a_total_and_an_eta_for_a_file() -> None:
    """With the input's size known, a total estimated from the part read, and the ETA."""
    clock, meter = Clock(), InputMeter(total_bytes=1000, read_bytes=250, targets=300)
    reporter = _reporter(io.StringIO(), clock)
    reporter.follow(meter)
    with reporter:
        _finish(reporter, 200, 0)
        clock.now = 10.0
        assert reporter.progress_text() == "⠋ 200 done · 20/s · of ~1,200 · ETA 0:50 · 0:10"


def test_the_line_is_cleared_whole_and_lines_go_above_it() -> None:
    """Every draw starts at the line's start and erases what was there; a warning clears the
    progress line first and draws it again below."""
    stderr = io.StringIO()
    reporter = _reporter(stderr, Clock())
    with reporter:
        reporter.refresh()
        reporter.warning("careful")
    text = stderr.getvalue()
    assert text.startswith("\r⠙ 0 done")
    assert "\r\x1b[Kfetchcli: warning: careful\n\r⠹ 0 done" in text
    assert text.endswith("\r\x1b[K")  # gone, at the end
