"""`--merge`: the records files of a list's shards -> one stream of Results in input order, each
URL once, as one run over the whole list would have made them.

A shard's records file holds its records in input order (the default `--order input`); one
that was run again with `--skip-done` on its own file (a preempted pod, a failed array task)
holds a second ordered run after the first, with the URLs that failed the first time again. So
each file is read once to find where its ordered runs start, then every run of every file is
merged lazily (one record per run in memory, never the whole list), and where a line of a list
has several records the latest run's wins.
"""

from __future__ import annotations

import contextlib
import datetime
import heapq
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from fetchcli.errors import UsageError
from fetchcli.models import (
    PHASES,
    ErrorInfo,
    ErrorKind,
    Record,
    Result,
    RowRequest,
    Target,
    Timing,
    TlsInfo,
)
from fetchcli.slots import frozen

Warn = Callable[[str], None]
MAX_RUNS = 512  # ordered runs over all files; more means a file is not in input order


@frozen
class _OrderedRun:
    """A stretch of one shard's records file, in the order the run met its sources."""

    path: str
    start: int  # byte offsets in the file
    end: int | None  # None: to the end
    sources: tuple[str, ...]  # in the order the run meets them


@frozen
class Merged:
    """One record read back by --merge, and the Result it stands for."""

    result: Result
    record: Record  # as the shard wrote it (`changed` included, when --state made it)


def merged(paths: Sequence[str], warn: Warn | None = None) -> Iterator[Merged]:
    """Every record of every file in input order (by source, then line), each line once."""
    runs: list[_OrderedRun] = []
    for path in paths:
        runs += _runs_of(path, warn)
    if len(runs) > MAX_RUNS:
        raise UsageError(
            f"--merge: the records are in {len(runs)} ordered runs: write them with "
            "--order input (the default)"
        )
    rank = _source_ranks(run.sources for run in runs)
    streams = [_keyed(run, number, rank) for number, run in enumerate(runs)]
    yield from _latest_per_line(heapq.merge(*streams, key=lambda item: item[0]))


def result_of(record: Record) -> Result:
    """The Result a record was made from, as far as the record tells (raises for a line that
    is not a record)."""
    error = record["error"]
    headers, checks, extract = record.get("headers"), record.get("checks"), record.get("extract")
    row = None
    if record.get("id") is not None or record.get("meta") is not None:  # a data row's record
        row = RowRequest(method=record.get("method"), id=record.get("id"), meta=record.get("meta"))
    return Result(
        Target(record["url"], record["source"], record["line"], request=row),
        method=record.get("method"),
        final_url=record["final_url"],
        status=record["status"],
        reason=record["reason"],
        http_version=record["http_version"],
        elapsed=float(record["elapsed"]),
        bytes=int(record["bytes"]),
        content_type=record["content_type"],
        snippet=record["snippet"],
        attempts=int(record["attempts"]),
        redirects=int(record["redirects"]),
        truncated=bool(record["truncated"]),
        saved_to=record["saved_to"],
        error=None if error is None else ErrorInfo(ErrorKind(error["kind"]), error["message"]),
        headers=None if headers is None else tuple(headers.items()),
        checks=None if checks is None else tuple(checks),
        extract=None if extract is None else tuple(extract.items()),
        remote_ip=record.get("remote_ip"),  # records of versions before it have none
        timing=_timing_of(record.get("timing")),
        tls=_tls_of(record.get("tls")),
    )


def _tls_of(tls: Any) -> TlsInfo | None:
    if not isinstance(tls, dict):
        return None
    text = {name: value if isinstance(value, str) else None for name, value in tls.items()}
    expires = None
    if text.get("not_after"):
        with contextlib.suppress(ValueError):
            expires = datetime.datetime.fromisoformat(str(text["not_after"])).timestamp()
    sans = tls.get("sans")
    return TlsInfo(
        version=text.get("version"),
        cipher=text.get("cipher"),
        subject=text.get("subject"),
        issuer=text.get("issuer"),
        sans=tuple(str(name) for name in sans) if isinstance(sans, list) else (),
        not_before=text.get("not_before"),
        not_after=text.get("not_after"),
        days_left=_seconds(tls.get("days_left")),
        expires=expires,
    )


def _timing_of(timing: Any) -> Timing | None:
    if not isinstance(timing, dict):
        return None
    return Timing(**{name: _seconds(timing.get(name)) for name in PHASES})


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _records(path: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, Record]]:
    """(offset, record) for each line that is a record; other lines (one cut short by a
    crash) are passed over."""
    with open(path, "rb") as lines:
        lines.seek(start)
        offset = start
        for raw in lines:
            if end is not None and offset >= end:
                return
            here, offset = offset, offset + len(raw)
            record = _parsed(raw)
            if record is not None:
                yield here, record


_RECORD_START = b'{"line": '  # how every record fetchcli writes begins


def _parsed(raw: bytes) -> Record | None:
    """The record on a line, or None. A shard killed mid-write leaves half a record without
    its newline, and the run after it appends its first record to that half: that one is
    kept."""
    try:
        record = json.loads(raw)
    except ValueError:
        start = raw.rfind(_RECORD_START)
        if start <= 0:
            return None
        try:
            record = json.loads(raw[start:])
        except ValueError:
            return None
    return record if _is_record(record) else None


def _is_record(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    line = record.get("line", False)
    return (
        isinstance(record.get("url"), str)
        and isinstance(record.get("source"), str)
        and (line is None or (isinstance(line, int) and not isinstance(line, bool)))
    )


def _runs_of(path: str, warn: Warn | None) -> list[_OrderedRun]:
    """Where the file's ordered runs start: a run ends where a line number goes back within
    a source, or a source seen earlier in the run comes back."""
    runs: list[_OrderedRun] = []
    start, previous = 0, None
    sources: list[str] = []
    try:
        for offset, record in _records(path):
            source, line = record["source"], record["line"]
            if previous is not None and _goes_back(previous, source, line, sources):
                runs.append(_OrderedRun(path, start, offset, tuple(sources)))
                start, sources = offset, []
            if not sources or sources[-1] != source:
                sources.append(source)
            previous = (source, line)
    except OSError as exc:
        raise UsageError(f"--merge: cannot read '{path}': {exc.strerror or exc}") from None
    if previous is not None:
        runs.append(_OrderedRun(path, start, None, tuple(sources)))
    elif _has_text(path):
        raise UsageError(
            f"--merge: '{path}' holds no records (a URL list?): --merge reads the records "
            "files that runs wrote with --records or -f jsonl"
        )
    elif warn is not None:
        warn(f"--merge: no records in '{path}'")  # a shard that had no URLs
    return runs


def _has_text(path: str) -> bool:
    """Whether the file has a line that is not blank (read up to the first one)."""
    with open(path, "rb") as lines:
        return any(line.strip() for line in lines)


def _goes_back(previous: tuple[str, Any], source: str, line: Any, sources: list[str]) -> bool:
    before_source, before_line = previous
    if source != before_source:
        return source in sources
    return isinstance(line, int) and isinstance(before_line, int) and line < before_line


def _source_ranks(orders: Iterable[tuple[str, ...]]) -> dict[str, int]:
    """One order of the sources every run agrees with (each shard met them in the order they
    were given), ties by first appearance."""
    first_seen: dict[str, int] = {}
    after: dict[str, set[str]] = {}
    for order in orders:
        for earlier, later in zip(order, order[1:], strict=False):
            after.setdefault(earlier, set()).add(later)
        for source in order:
            first_seen.setdefault(source, len(first_seen))
    waiting = dict.fromkeys(first_seen, 0)
    for later_ones in after.values():
        for later in later_ones:
            waiting[later] += 1
    ready = [(first_seen[s], s) for s, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    rank: dict[str, int] = {}
    while ready:
        _, source = heapq.heappop(ready)
        rank[source] = len(rank)
        for later in after.get(source, ()):
            waiting[later] -= 1
            if waiting[later] == 0:
                heapq.heappush(ready, (first_seen[later], later))
    for source in first_seen:  # runs that disagree (a cycle): first appearance decides
        rank.setdefault(source, len(rank))
    return rank


Key = tuple[int, int, int, int]


def _keyed(run: _OrderedRun, number: int, rank: dict[str, int]) -> Iterator[tuple[Key, Record]]:
    for offset, record in _records(run.path, run.start, run.end):
        line = record["line"] if isinstance(record["line"], int) else -1
        yield (rank[record["source"]], line, number, offset), record


def _latest_per_line(items: Iterator[tuple[Key, Record]]) -> Iterator[Merged]:
    """Of the records for one line of one source, the last run's. URL arguments have no line:
    they are told apart by URL and by which repeat of it in its run they are (`fetchcli a a b`
    has two records of `a`), the last run's record of each, in the order first met (a handful,
    held until their block ends)."""
    held: tuple[Key, Record] | None = None
    arguments: dict[tuple[str, int], Record] = {}
    repeats: Counter[tuple[int, str]] = Counter()  # (run, URL): records met so far
    for item in items:
        if item[0][1] == -1:
            if held is not None:
                yield from _made(held[1])
                held = None
            url = item[1]["url"]
            repeats[item[0][2], url] += 1
            arguments[url, repeats[item[0][2], url]] = item[1]  # a later run's replaces it
            continue
        if arguments:
            yield from _flushed(arguments)
        if held is not None and held[0][:2] != item[0][:2]:
            yield from _made(held[1])
        held = item
    if held is not None:
        yield from _made(held[1])
    yield from _flushed(arguments)


def _flushed(arguments: dict[tuple[str, int], Record]) -> Iterator[Merged]:
    for record in arguments.values():
        yield from _made(record)
    arguments.clear()


def _made(record: Record) -> Iterator[Merged]:
    try:
        yield Merged(result_of(record), record)
    except (KeyError, TypeError, ValueError):
        return  # a line shaped like a record but not one: passed over, as unparsable lines are
