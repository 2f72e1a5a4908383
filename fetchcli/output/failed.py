"""`--failed-out FILE`: every failed URL (a data row's request as a JSON request line), in
input order, each after a comment saying why, so that `fetchcli FILE` retries exactly those.
Written when the run ends (an interrupted run included, for what finished), atomically: FILE is
whole or untouched.

Entries are kept in a temporary file, not in memory: a run where a whole site is down can fail
a million URLs. They arrive in input order unless --order completion; then they are sorted in
runs of bounded size and merged."""

from __future__ import annotations

import heapq
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO

from fetchcli.models import Record, Result

_RUN = 100_000  # entries sorted in memory at a time


class FailedOut:
    """A Sink that keeps the failures and writes FILE when closed."""

    def __init__(self, path: Path, failed: Callable[[Result], bool]) -> None:
        self._path = path
        self._failed = failed
        self._entries: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._last = -1
        self._ordered = True

    def write(self, result: Result, record: Record) -> None:
        if not self._failed(result):
            return
        index = result.target.index
        self._ordered &= index > self._last
        self._last = max(self._last, index)
        entry = [index, _why(result, record), _again(result)]
        self._entries.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._entries.seek(0)
        entries = (json.loads(line) for line in self._entries)
        ordered = entries if self._ordered else _sorted(entries)
        directory = self._path.parent
        fd, temporary = tempfile.mkstemp(prefix=".fetchcli-", suffix=".part", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                for _, why, url in ordered:
                    out.write(f"# {why}\n{url}\n")
            os.replace(temporary, self._path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        finally:
            self._entries.close()


def _again(result: Result) -> str:
    """The line that asks for the same again: the URL, or a data row's request as a JSON
    request line (with --template, the request it expanded to: replay it without)."""
    target = result.target
    if target.request is None or target.error is not None:
        return target.url
    return json.dumps(target.request.as_row(target.url), ensure_ascii=False)


def _why(result: Result, record: Record) -> str:
    """`connect: connection refused`, `http 404: Not Found`: from the record, so one line with
    passwords masked. (The URL line below it is the URL as given, to be fetched again.)"""
    if result.error is not None:
        return f"{result.error.kind}: {record['error']['message']}"
    return f"http {result.status}: {record['reason'] or ''}".rstrip(": ")


def _sorted(entries: Iterator[list[object]]) -> Iterator[list[object]]:
    """Entries in index order, in bounded memory: sorted runs, then merged."""
    runs: list[IO[str]] = []
    while chunk := list(islice(entries, _RUN)):
        chunk.sort(key=lambda entry: entry[0])  # type: ignore[arg-type,return-value]
        run: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - merged
        run.writelines(json.dumps(entry, ensure_ascii=False) + "\n" for entry in chunk)
        run.seek(0)
        runs.append(run)
    try:
        streams = [(json.loads(line) for line in run) for run in runs]
        yield from heapq.merge(*streams, key=lambda entry: entry[0])
    finally:
        for run in runs:
            run.close()
