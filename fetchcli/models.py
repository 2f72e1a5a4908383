"""The records that flow through fetchcli: Target (what to fetch) -> Result (what happened).

Results hold raw values as fetched; `Result.to_record()` is the one place that turns them into
display-safe values (control characters stripped, passwords masked) for every sink.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import field
from enum import StrEnum
from typing import Any

from fetchcli.latencies import Latencies
from fetchcli.sanitize import mask_url, sanitize, shown
from fetchcli.slots import frozen, mutable

Record = dict[str, Any]  # a Result as the records show it: JSON-ready, sanitized, masked


class ErrorKind(StrEnum):
    """Why a URL failed, in the order of the contract."""

    INVALID_URL = "invalid-url"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"
    REDIRECTS = "redirects"
    TOO_LARGE = "too-large"
    DEADLINE = "deadline"
    IO = "io"
    OTHER = "other"
    CHECK = "check"
    INVALID_REQUEST = "invalid-request"
    CHECKSUM = "checksum"


@frozen
class ErrorInfo:
    """Why a URL has no usable answer: an error kind and a one-line message."""

    kind: ErrorKind
    message: str


@frozen
class RowRequest:
    """What a data row asks for beyond its URL (a JSON request line, a CSV row, a line filling
    --template); None fields keep the run's own (-X, -d, --timeout)."""

    method: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # replace the run's of the same name
    body: bytes | None = None
    timeout: float | None = None
    id: str | int | None = None  # carried to the record unchanged, to join results back
    meta: Any = None
    checksum: str | None = None  # `sha256:HEX`: what a --save'd body must hash to

    def as_row(self, url: str) -> dict[str, Any]:
        """The request as a JSON request line holds it (--failed-out, --dry-run)."""
        row: dict[str, Any] = {"url": url}
        if self.method is not None:
            row["method"] = self.method
        if self.headers:
            row["headers"] = dict(self.headers)
        if self.body is not None:
            row["body"] = self.body.decode("utf-8", "replace")
        for name in ("timeout", "id", "meta", "checksum"):
            if getattr(self, name) is not None:
                row[name] = getattr(self, name)
        return row


def request_key(url: str, request: RowRequest | None) -> str:
    """What --dedupe, --shard and --state know a request by: its URL for a GET without a body
    (as for a URL line, so a list's shards stay where they were), else its method, URL and a
    hash of its body.

    >>> request_key("https://a.test/", RowRequest(method="GET"))
    'https://a.test/'
    >>> request_key("https://a.test/", RowRequest(method="POST", body=b"{}"))[:28]
    'POST https://a.test/ 44136fa'
    """
    if request is None or (request.method in (None, "GET") and request.body is None):
        return url
    digest = hashlib.sha256(request.body or b"").hexdigest()
    return f"{request.method or 'POST'} {url} {digest}"


@frozen
class Target:
    """One URL to fetch, with where it came from. `error` is set for lines that are not URLs;
    `index` is the 0-based position in the run, given by the engine's feed; `request` what a
    data row asked for."""

    url: str
    source: str
    line: int | None
    error: ErrorInfo | None = None
    index: int = 0
    request: RowRequest | None = None

    def __repr__(self) -> str:
        return f"Target({mask_url(self.url)!r}, source={self.source!r}, line={self.line})"

    @property
    def key(self) -> str:
        return request_key(self.url, self.request)


@frozen
class Timing:
    """Where one URL's time went, in seconds (--timings): the final hop's phases, None for one
    that did not happen (a reused connection has no dns, connect or tls), and `total` over
    every attempt and redirect."""

    queue: float | None = None  # waiting for a slot (--per-host, --rate) and a connection
    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    ttfb: float | None = None  # request sent -> first byte of the response
    total: float | None = None

    def values(self) -> tuple[float | None, ...]:
        return (self.queue, self.dns, self.connect, self.tls, self.ttfb, self.total)

    def to_record(self) -> dict[str, float | None]:
        q, d, c, t, f, total = self.queue, self.dns, self.connect, self.tls, self.ttfb, self.total
        return {
            "queue": q if q is None else _micro(q),
            "dns": d if d is None else _micro(d),
            "connect": c if c is None else _micro(c),
            "tls": t if t is None else _micro(t),
            "ttfb": f if f is None else _micro(f),
            "total": total if total is None else _micro(total),
        }


PHASES = ("queue", "dns", "connect", "tls", "ttfb", "total")


def _micro(seconds: float) -> float:
    """Seconds to the microsecond at half round(seconds, 6)'s cost (an integer divided by 1e6
    is the float nearest that decimal; a value half way between two may go the other way):
    seven a record with --timings. Infinity and NaN (a --merge'd record can hold them) pass."""
    try:
        return round(seconds * 1e6) / 1e6
    except (OverflowError, ValueError):
        return seconds


@frozen
class TlsInfo:
    """The TLS connection a response came on (--tls-info): how it settled and its leaf
    certificate, with the days left until it expires as of the fetch."""

    version: str | None = None
    cipher: str | None = None
    subject: str | None = None
    issuer: str | None = None
    sans: tuple[str, ...] = ()
    not_before: str | None = None  # ISO 8601, UTC
    not_after: str | None = None
    days_left: float | None = None
    expires: float | None = None  # not_after as a Unix time, for --metrics

    def to_record(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cipher": self.cipher,
            "subject": _safe(self.subject),
            "issuer": _safe(self.issuer),
            "sans": [shown(name) for name in self.sans],
            "not_before": self.not_before,
            "not_after": self.not_after,
            "days_left": self.days_left,
        }


@frozen
class Result:
    """The outcome of fetching one Target. Built once per URL, never mutated."""

    target: Target
    final_url: str | None = None
    status: int | None = None
    reason: str | None = None
    http_version: str | None = None
    elapsed: float = 0.0
    bytes: int = 0
    content_type: str | None = None
    snippet: str | None = None
    attempts: int = 0
    redirects: int = 0
    truncated: bool = False
    saved_to: str | None = None
    error: ErrorInfo | None = None
    headers: tuple[tuple[str, str], ...] | None = None
    # For --state only (not in the records): the validators and the body's SHA-256.
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    # With checks (fetchcli/judging): the names of those that failed, the status included
    # (--expect-status, else `status < 400`), so a judged URL is ok when it has no error.
    checks: tuple[str, ...] | None = None
    extract: tuple[tuple[str, Any], ...] | None = None  # with --extract: (name, value)
    remote_ip: str | None = None  # of the final response's connection
    timing: Timing | None = None  # with --timings
    tls: TlsInfo | None = None  # with --tls-info, for an https response
    method: str | None = None  # of the request sent; None for a line never sent
    resumed_from: int | None = None  # --continue: bytes of a part kept (0: started over)

    @property
    def ok(self) -> bool:
        """True when there was no error and the final status is below 400 (or, for a judged
        URL, passed the status check)."""
        if self.error is not None or self.status is None:
            return False
        if self.status == 416 and self.saved_to is not None:
            return True  # --continue: the part was whole already, and is in place now
        return self.status < 400 or self.checks is not None

    def judged(
        self,
        checks: tuple[str, ...] | None,
        extract: tuple[tuple[str, Any], ...] | None,
        error: ErrorInfo | None,
    ) -> Result:
        """This Result with a judge's verdict, on every URL of a monitored list: its fields
        copied slot by slot, as copy and pickle make a frozen dataclass (a third less than
        calling __init__, which looks object.__setattr__ up per field; replace() twice that)."""
        if checks == self.checks and extract is None is self.extract and error is self.error:
            return self  # the verdict it was made with (the fetcher presumes a pass)
        values = list(_ALL_FIELDS(self))
        values[_ERROR_AT], values[_CHECKS_AT], values[_EXTRACT_AT] = error, checks, extract
        verdict = object.__new__(Result)
        for set_slot, value in zip(_SLOT_SETTERS, values, strict=False):  # same length
            set_slot(verdict, value)
        return verdict

    def to_record(self) -> Record:
        """The record as the contract names it, with every server-controlled string made safe."""
        record: Record = {
            "line": self.target.line,
            "source": self.target.source,
            "url": _safe(self.target.url),
            "method": self.method,
            "final_url": _safe(self.final_url),
            "status": self.status,
            "reason": _safe(self.reason),
            "http_version": self.http_version,
            "remote_ip": self.remote_ip,
            "elapsed": _micro(self.elapsed),
            "bytes": self.bytes,
            "content_type": _safe(self.content_type),
            "snippet": _safe(self.snippet),
            "attempts": self.attempts,
            "redirects": self.redirects,
            "truncated": self.truncated,
            "saved_to": _safe(self.saved_to),
            "error": None,
        }
        if self.error is not None:
            record["error"] = {"kind": str(self.error.kind), "message": _safe(self.error.message)}
        request = self.target.request
        if request is not None:
            if request.id is not None:
                record["id"] = _safe_value(request.id)
            if request.meta is not None:
                record["meta"] = _safe_value(request.meta)
        if self.headers is not None:
            record["headers"] = merged_headers(self.headers)
        if self.checks is not None:
            record["checks"] = [shown(name) for name in self.checks]
        if self.extract is not None:
            record["extract"] = {name: _safe_value(value) for name, value in self.extract}
        if self.timing is not None:
            record["timing"] = self.timing.to_record()
        if self.tls is not None:
            record["tls"] = self.tls.to_record()
        if self.resumed_from is not None:
            record["resumed_from"] = self.resumed_from
        return record


def _safe(text: str | None) -> str | None:
    return None if text is None else shown(text)


def _safe_value(value: Any) -> Any:
    """An extracted value (a JSON value from a server) with every string in it made safe."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, list):
        return [_safe_value(item) for item in value]
    if isinstance(value, dict):
        return {shown(str(key)): _safe_value(item) for key, item in value.items()}
    return value


def merged_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers by lower-cased name, repeats joined by ", " (as RFC 9110 allows), sanitized."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = sanitize(name.lower())
        clean = sanitize(value)
        merged[key] = f"{merged[key]}, {clean}" if key in merged else clean
    return merged


RECORD_FIELDS = tuple(Result(Target("", "", None)).to_record())
_FIELD_NAMES = tuple(field.name for field in dataclasses.fields(Result))
_ALL_FIELDS = operator.attrgetter(*_FIELD_NAMES)  # every field's value, in one C call
_SLOT_SETTERS = tuple(getattr(Result, name).__set__ for name in _FIELD_NAMES)
_ERROR_AT, _CHECKS_AT, _EXTRACT_AT = map(_FIELD_NAMES.index, ("error", "checks", "extract"))


@mutable
class Summary:
    """Running totals over a run, kept by the runner as each record is written."""

    ok: int = 0
    failed: int = 0
    bytes: int = 0
    errors: int = 0
    truncated: int = 0
    failures_by_kind: Counter[str] = field(default_factory=Counter)
    elapsed: float | None = 0.0  # None: not one run's time (--merge)
    skipped: Counter[str] = field(default_factory=Counter)  # by --dedupe, --shard, --skip-done
    responses: Counter[int] = field(default_factory=Counter)  # by final status
    checks_failed: Counter[str] = field(default_factory=Counter)  # by check, as named
    phases: dict[str, Latencies] = field(default_factory=dict)  # by phase, when kept
    keep_phases: bool = False  # --timings with --metrics: a histogram per phase
    earliest_expiry: float | None = None  # with --tls-info: the soonest not_after seen
    hidden: int = 0  # records --where kept from stdout
    latencies: Latencies = field(default_factory=Latencies)  # of the URLs that were fetched
    signal: int | None = None  # the signal that stopped the run, if one did
    stdout_closed: bool = False  # the reader of stdout went away

    @property
    def total(self) -> int:
        return self.ok + self.failed

    def add(self, result: Result) -> None:
        self.bytes += result.bytes
        self.truncated += result.truncated
        if result.status is not None:
            self.responses[result.status] += 1
        for name in result.checks or ():
            self.checks_failed[name] += 1
        if self.keep_phases and result.timing is not None and result.status is not None:
            self._add_phases(result.timing)
        expires = result.tls.expires if result.tls is not None else None
        if expires is not None and (self.earliest_expiry is None or expires < self.earliest_expiry):
            self.earliest_expiry = expires
        if result.attempts:  # an invalid line took no time worth counting
            self.latencies.add(result.elapsed)
        if result.ok:
            self.ok += 1
            return
        self.failed += 1
        if result.error is not None:
            self.errors += 1
            self.failures_by_kind[str(result.error.kind)] += 1
        else:
            self.failures_by_kind[f"http {result.status}"] += 1

    def _add_phases(self, timing: Timing) -> None:
        for name, seconds in zip(PHASES, timing.values(), strict=True):
            if seconds is not None:
                self.phases.setdefault(name, Latencies()).add(seconds)

    @property
    def rate(self) -> float:
        """Requests per second over the whole run."""
        return self.total / self.elapsed if self.elapsed else 0.0
