"""SOURCE arguments (URLs, files, stdin) -> a lazy stream of Targets, and the filter stages.

Lines are read one at a time, so a pipe yields its first Target before it reaches EOF and a list
of millions of lines never sits in memory. Each URL read is a Line; the filters keep or drop
Lines, and a kept one becomes its Target once, numbered. Bad lines carry an `invalid-url`
error; they are never dropped and never raise.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from fetchcli.models import ErrorInfo, ErrorKind, Target
from fetchcli.sanitize import mask_url
from fetchcli.settings.model import Config, InputConfig, Shard
from fetchcli.settings.urls import MAX_URL_LENGTH, url_problem
from fetchcli.streams import LineInput, PipeReader

STDIN = "-"
ARG = "arg"
_SHOWN_INVALID_CHARS = 200  # an invalid line is echoed back, but not all 8 KiB of it


class Line(NamedTuple):
    """A URL as read, before the filters: where it came from, and why it is not one if so."""

    url: str
    source: str
    line: int | None
    error: ErrorInfo | None = None


def is_url_argument(source: str) -> bool:
    return "://" in source


def is_special_file(path: str) -> bool:
    """A FIFO, a character device or a socket: opening it may wait for a writer, and a read may
    wait as long as the writer likes, so it is opened and read in a thread, never on the loop
    (where it would stall the run and the signals with it)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def input_blocks(sources: Iterable[str], stdin_blocks: bool) -> bool:
    """Whether reading these SOURCEs may block: stdin from a pipe or terminal, or a FIFO."""
    return any(
        (source == STDIN and stdin_blocks)
        or (source != STDIN and not is_url_argument(source) and is_special_file(source))
        for source in sources
    )


@dataclass(slots=True)
class InputMeter:
    """How far through its input a run is: bytes read of the total (known when every source
    is a file or an argument, not a pipe), and targets handed on after the filters; once
    `complete`, the input has been read to its end and `targets` is the run's exact total."""

    total_bytes: int | None = None
    read_bytes: int = 0
    targets: int = 0
    complete: bool = False

    @property
    def fraction(self) -> float | None:
        if not self.total_bytes:
            return None
        return min(1.0, self.read_bytes / self.total_bytes)


def targets(
    config: Config,
    stdin: LineInput,
    skipped: Counter[str] | None = None,
    meter: InputMeter | None = None,
) -> Iterator[Target]:
    """The run's lazy target pipeline: read, then dedupe, shard and skip-done as stages; each
    URL a stage leaves out is counted in `skipped` under the stage's flag name, and `meter`
    follows the reading."""
    options = config.input
    skipped = Counter() if skipped is None else skipped
    meter = InputMeter() if meter is None else meter
    meter.total_bytes = _input_size(config.sources, stdin)
    found = read_sources(config.sources, options.default_scheme, stdin, meter)
    return _numbered(filtered(found, options, skipped), meter)


def from_strings(urls: Iterable[str], options: InputConfig) -> Iterator[Target]:
    """Targets from URLs given one by one (the Python API): as URL arguments are, filtered as
    a list is."""
    found = (make_line(url.strip(), ARG, None, options.default_scheme) for url in urls)
    return _numbered(filtered(found, options, Counter()), InputMeter())


def filtered(found: Iterator[Line], options: InputConfig, skipped: Counter[str]) -> Iterator[Line]:
    """--dedupe, --shard and --skip-done as lazy stages."""
    if options.dedupe:
        found = dedupe(found, skipped)
    if options.shard is not None:
        found = in_shard(found, options.shard, skipped)
    if options.skip_done is not None:
        found = skip_done(found, load_done(options.skip_done), skipped)
    return found


def _numbered(kept: Iterable[Line], meter: InputMeter) -> Iterator[Target]:
    """Each kept Line as its Target, numbered in the run's order (input order's sequence)."""
    for index, (url, source, line, error) in enumerate(kept):
        meter.targets += 1
        # Every byte read: this is the last target (the next pull would only find the end).
        meter.complete = meter.total_bytes is not None and meter.read_bytes >= meter.total_bytes
        yield Target(url, source, line, error, index)
    meter.complete = True


def _input_size(sources: Iterable[str], stdin: LineInput) -> int | None:
    """Bytes in all the input, or None when a part of it is a pipe or terminal."""
    total = 0
    for source in sources:
        if is_url_argument(source):
            total += len(source.encode()) + 1
            continue
        try:
            status = os.fstat(stdin.fileno()) if source == STDIN else os.stat(source)  # type: ignore[attr-defined]
        except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
            return None
        if not stat.S_ISREG(status.st_mode):
            return None
        total += status.st_size
    return total


def _kept(
    targets: Iterable[Line], keep: Callable[[Line], bool], reason: str, skipped: Counter[str]
) -> Iterator[Line]:
    for target in targets:
        if keep(target):
            yield target
        else:
            skipped[reason] += 1


def read_sources(
    sources: Iterable[str],
    default_scheme: str,
    stdin: LineInput,
    meter: InputMeter | None = None,
) -> Iterator[Line]:
    """The Lines of every SOURCE in argument order, read lazily."""
    meter = InputMeter() if meter is None else meter
    for source in sources:
        if is_url_argument(source):
            meter.read_bytes += len(source.encode()) + 1
            yield make_line(source, ARG, None, default_scheme)
        elif source == STDIN:
            yield from iter_lines(stdin, STDIN, default_scheme, meter)
        elif is_special_file(source):
            yield from _special_lines(source, default_scheme, meter)
        else:
            with open(source, "rb") as lines:
                yield from iter_lines(lines, source, default_scheme, meter)


def _special_lines(path: str, default_scheme: str, meter: InputMeter) -> Iterator[Line]:
    """A FIFO's lines: opened here, in the input thread (the open waits for a writer), and read
    with a bare os.read, which holds no lock a shutting-down interpreter would wait for."""
    fd = os.open(path, os.O_RDONLY)
    try:
        yield from iter_lines(PipeReader(fd), path, default_scheme, meter)
    finally:
        os.close(fd)


def iter_lines(
    stream: LineInput, source: str, default_scheme: str, meter: InputMeter | None = None
) -> Iterator[Line]:
    """The Lines of a URL list: blank lines and `#` comments skipped, line numbers kept."""
    meter = InputMeter() if meter is None else meter
    for number, raw in enumerate(_bounded_lines(stream, meter), start=1):
        if isinstance(raw, _LongLine):
            start = raw.decode("utf-8", "ignore").strip()[: _SHOWN_INVALID_CHARS - 1] + "…"
            yield _invalid(start, source, number, f"line longer than {MAX_URL_LENGTH} bytes")
            continue
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            shown = raw.decode("utf-8", "replace").strip()
            yield _invalid(shown, source, number, "line is not valid UTF-8")
            continue
        if text and not text.startswith("#"):
            yield make_line(text, source, number, default_scheme)


class _LongLine(bytes):
    """The start of a line longer than MAX_URL_LENGTH bytes, whose rest was skipped."""


def _bounded_lines(stream: LineInput, meter: InputMeter) -> Iterator[bytes]:
    """Lines of at most MAX_URL_LENGTH bytes; a longer one is skipped whole and yields its
    start as a _LongLine, so a hostile input without newlines cannot fill memory."""
    limit = MAX_URL_LENGTH + 2  # room for CR LF
    while line := stream.readline(limit):
        meter.read_bytes += len(line)
        if len(line) < limit or line.endswith(b"\n"):
            yield line
            continue
        while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
            meter.read_bytes += len(rest)
        meter.read_bytes += len(rest)
        yield _LongLine(line[: 4 * _SHOWN_INVALID_CHARS])  # enough UTF-8 for the start shown


def make_line(text: str, source: str, line: int | None, default_scheme: str) -> Line:
    """The Line of one URL, or one flagged invalid-url with the reason."""
    url = text if "://" in text else f"{default_scheme}://{text}"
    problem = url_problem(url)
    if problem is not None:
        return _invalid(text, source, line, problem)
    return Line(url, source, line)


def _invalid(text: str, source: str, line: int | None, reason: str) -> Line:
    shown = text if len(text) <= _SHOWN_INVALID_CHARS else text[: _SHOWN_INVALID_CHARS - 1] + "…"
    return Line(shown, source, line, ErrorInfo(ErrorKind.INVALID_URL, reason))


def dedupe(targets: Iterable[Line], skipped: Counter[str] | None = None) -> Iterator[Line]:
    """Skip exact repeats of a URL. Keeps a 64-bit hash per distinct URL (under 100 bytes in a
    set), not the URL; a false repeat would take some 2**32 distinct URLs."""
    seen: set[int] = set()

    def first_time(target: Line) -> bool:
        digest = int.from_bytes(hashlib.blake2b(target.url.encode(), digest_size=8).digest())
        if digest in seen:
            return False
        seen.add(digest)
        return True

    return _kept(targets, first_time, "dedupe", Counter() if skipped is None else skipped)


def shard_of(url: str, count: int) -> int:
    """The 1-based shard of `url`: a blake2b hash, the same on every machine and run.

    >>> shard_of("https://example.com/", 4)
    4
    """
    digest = hashlib.blake2b(url.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count + 1


def in_shard(
    targets: Iterable[Line], shard: Shard, skipped: Counter[str] | None = None
) -> Iterator[Line]:
    def mine(target: Line) -> bool:
        return shard_of(target.url, shard.count) == shard.index

    return _kept(targets, mine, "shard", Counter() if skipped is None else skipped)


def load_done(path: Path) -> set[str]:
    """URLs with a successful record (no error, status < 400) in an earlier JSONL output.

    A missing file is an empty history (the first run of a cron job); lines that do not parse,
    such as one cut short by a crash, are ignored."""
    done: set[str] = set()
    try:
        lines = path.open("rb")
    except FileNotFoundError:
        return done
    with lines:
        for raw in lines:
            url = _successful_url(raw)
            if url is not None:
                done.add(url)
    return done


def _successful_url(raw: bytes) -> str | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("error") is not None:
        return None
    status, url = record.get("status"), record.get("url")
    if isinstance(status, int) and status < 400 and isinstance(url, str):
        return url
    return None


def skip_done(
    targets: Iterable[Line], done: set[str], skipped: Counter[str] | None = None
) -> Iterator[Line]:
    """Records hold masked URLs, so compare masked forms."""

    def not_done(target: Line) -> bool:
        return target.error is not None or mask_url(target.url) not in done

    return _kept(targets, not_done, "skip-done", Counter() if skipped is None else skipped)
