"""The stderr side: the progress line's words, the line taken off the screen whole, and long
lines wrapped at a terminal's width between words."""

from __future__ import annotations

import io
import re

import pytest

from fetchcli.input.sources import InputMeter
from fetchcli.models import ErrorInfo, ErrorKind, Result, Summary, Target
from fetchcli.output.render import Reporter, summary_line


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


def test_the_total_is_exact_once_the_input_is_read() -> None:
    """A 40-line file read to its end says `of 40`, not an estimate, even before anything
    finished; so does a pipe, once it has ended."""
    for total_bytes in (1000, None):
        clock = Clock()
        meter = InputMeter(total_bytes=total_bytes, read_bytes=1000, targets=40, complete=True)
        reporter = _reporter(io.StringIO(), clock)
        reporter.follow(meter)
        with reporter:
            clock.now = 1.0
            assert reporter.progress_text() == "⠋ 0 done · 0/s · of 40 · 0:01"
            _finish(reporter, 10, 0)
            assert reporter.progress_text() == "⠋ 10 done · 10/s · of 40 · ETA 0:03 · 0:01"


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


def _long_summary() -> Summary:
    summary = Summary(ok=9_876, failed=124, elapsed=512.3, bytes=123_456_789)
    summary.failures_by_kind.update({"connect": 100, "timeout": 20, "http 404": 4})
    summary.skipped.update({"dedupe": 12, "skip-done": 3})
    for n in range(100):
        summary.latencies.add(n / 40)
    return summary


@pytest.mark.parametrize("width", [80, 120])
def test_a_long_summary_wraps_at_the_terminals_width_between_words(width: int) -> None:
    """At 80 and 120 columns the summary breaks at its ` · ` separators (or spaces), never
    inside `19.5 req/s` or any other word, and no line is wider than the terminal."""
    stderr = io.StringIO()
    reporter = Reporter(stderr, is_terminal=True, progress=False, width=width)
    text = f"fetchcli: {summary_line(_long_summary())}"
    assert len(text) > width
    reporter.summary(_long_summary())
    lines = stderr.getvalue().splitlines()
    assert len(lines) > 1
    assert all(len(line) <= width for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])
    assert re.sub(r"\s+", " ", " ".join(lines)) == re.sub(r"\s+", " ", text)
    assert all(line.split(" ")[-1] in text.split(" ") for line in lines)  # whole words
    assert any(line.startswith("  · ") for line in lines[1:])  # at a separator


def test_the_summary_is_one_line_off_a_terminal() -> None:
    """To a log file the summary stays one line, for grep."""
    stderr = io.StringIO()
    Reporter(stderr, is_terminal=False, progress=False, width=40).summary(_long_summary())
    assert stderr.getvalue().count("\n") == 1


def test_a_word_wider_than_the_terminal_gets_a_line_of_its_own() -> None:
    """A long URL in a warning is never cut; the words around it still wrap."""
    url = "https://example.com/" + "a" * 100
    stderr = io.StringIO()
    Reporter(stderr, is_terminal=True, progress=False, width=60).warning(f"{url}: binary body")
    assert stderr.getvalue().splitlines() == ["fetchcli: warning:", f"  {url}:", "  binary body"]


def test_large_downloads_show_bytes_rate_and_an_eta_by_bytes() -> None:
    now = [0.0]
    reporter = Reporter(io.StringIO(), is_terminal=True, progress=True, clock=lambda: now[0])
    now[0] = 2.0
    reporter.bodies.read = 500_000  # under a megabyte: nothing about bytes
    assert "MB" not in reporter.progress_text() and "kB" not in reporter.progress_text()
    reporter.bodies.read, reporter.bodies.expected = 20_000_000, 200_000_000
    text = reporter.progress_text()
    assert "20.0 MB of 200.0 MB · 10.0 MB/s · ETA 0:18 by bytes" in text
    reporter.bodies.expected = reporter.bodies.read  # every size unknown, or all done
    assert (
        "of 20.0 MB" not in reporter.progress_text() and "by bytes" not in reporter.progress_text()
    )
