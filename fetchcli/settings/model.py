"""The frozen settings of one run and their defaults: what the command line and the Python API
build from the options (settings/build.py), and what everything below reads. No I/O here.
"""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum
from pathlib import Path

from fetchcli.judging.spec import JudgeSpec
from fetchcli.sanitize import mask_url
from fetchcli.settings.checksums import Checksum
from fetchcli.slots import frozen

DEFAULT_CONCURRENCY = 20
DEFAULT_TIMEOUT = 10.0
DEFAULT_KEEPALIVE_EXPIRY = 5.0
DEFAULT_MAX_REDIRECTS = 10
DEFAULT_SNIPPET = 60
DEFAULT_MAX_SIZE = 100_000_000
DEFAULT_RETRY_BACKOFF = 0.5
DEFAULT_RETRY_MAX_WAIT = 60.0


class Format(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    CSV = "csv"
    BODY = "body"


class InputFormat(StrEnum):
    AUTO = "auto"  # a line that starts with `{` is a JSON request, any other a URL
    LINES = "lines"
    JSONL = "jsonl"
    CSV = "csv"


class Order(StrEnum):
    INPUT = "input"
    COMPLETION = "completion"


class FailOn(StrEnum):
    ANY = "any"
    ERROR = "error"
    NEVER = "never"


class Transport(StrEnum):
    AUTO = "auto"
    HTTPCORE = "httpcore"
    AIOHTTP = "aiohttp"
    CURL = "curl"


class Scheme(StrEnum):
    HTTPS = "https"
    HTTP = "http"


@frozen
class Shard:
    """--shard K/N: this process takes the K-th of N parts of the input."""

    index: int  # 1-based, as the user writes it
    count: int


@frozen
class InputConfig:
    """How input lines become requests."""

    default_scheme: Scheme = Scheme.HTTPS
    input_format: InputFormat = InputFormat.AUTO
    template: str | None = None  # RFC 6570, filled by each row (checked in settings/spec.py)
    dedupe: bool = False
    shard: Shard | None = None
    skip_done: Path | None = None


@frozen
class PoolConfig:
    """Concurrency and the connection pool's limits."""

    concurrency: int = DEFAULT_CONCURRENCY
    max_connections: int | None = None
    max_keepalive: int | None = None
    keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY
    per_host: int | None = None
    rate: float | None = None
    limit_rate: int | None = None  # body bytes a second, for the whole run (every worker)
    http2: bool = False
    http3: bool = False  # libcurl tries QUIC, and falls back to HTTP/2 or 1.1 over TCP
    transport: Transport = Transport.AUTO
    workers: int = 1  # processes; concurrency and the pool limits are each worker's

    @property
    def connections(self) -> int:
        """Twice the concurrency unless set, so idle connections to one host need not be
        closed to open one to another."""
        return self.max_connections or 2 * self.concurrency

    @property
    def keepalive(self) -> int:
        return self.max_keepalive if self.max_keepalive is not None else self.connections


@frozen
class TimeoutConfig:
    """Seconds; None is no timeout."""

    connect_timeout: float | None = DEFAULT_TIMEOUT
    read_timeout: float | None = DEFAULT_TIMEOUT
    write_timeout: float | None = DEFAULT_TIMEOUT
    pool_timeout: float | None = DEFAULT_TIMEOUT
    max_time: float | None = None


@frozen
class RetryConfig:
    """When and how long to wait before fetching a URL again."""

    retries: int = 0
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT


@frozen
class RequestConfig:
    """What each request sends."""

    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    data: bytes | None = None
    user_agent: str | None = None
    user: tuple[str, str] | None = None
    follow: bool = True
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    insecure: bool = False
    cacert: Path | None = None
    proxy: str | None = None

    def __repr__(self) -> str:
        user = None if self.user is None else (self.user[0], "****")
        proxy = None if self.proxy is None else mask_url(self.proxy)
        return f"RequestConfig(method={self.method!r}, user={user!r}, proxy={proxy!r})"


@frozen
class OutputConfig:
    """What records and bodies go where, and in what form."""

    format: Format = Format.JSONL
    order: Order = Order.INPUT
    snippet: int = DEFAULT_SNIPPET
    include_headers: bool = False
    timings: bool = False  # records gain `timing`: where each URL's time went
    tls_info: bool = False  # records gain `tls`: the handshake and the leaf certificate
    separator: bytes = b""
    save: Path | None = None
    overwrite: bool = False  # --save replaces a file of the same name instead of a new name
    content_disposition: bool = False  # --save names a file as the server's header says
    checksum: Checksum | None = None  # the one URL's body must hash to it (--save)
    checksums: Path | None = None  # a sha256sum-style list, by file name (--save)
    resume: bool = False  # --continue: a cut download stays as NAME.part and is resumed
    records: Path | None = None
    max_size: int = DEFAULT_MAX_SIZE
    progress: bool = False
    quiet: bool = False
    verbose: bool = False
    fail_on: FailOn = FailOn.ANY


@frozen
class MaxFailures:
    """How many failed URLs a run tolerates before it exits 1: a count, or a percentage."""

    count: int = 0
    percent: float | None = None

    def exceeded(self, failed: int, total: int) -> bool:
        """
        >>> MaxFailures(2).exceeded(3, 100), MaxFailures(percent=5).exceeded(5, 100)
        (True, False)
        """
        if self.percent is not None:
            return failed > total * self.percent / 100
        return failed > self.count


@frozen
class RunConfig:
    """What an unattended run keeps and reports: the state between runs, the failures to
    retry, the metrics, and how many failures make it fail."""

    state: Path | None = None
    changed_only: bool = False
    failed_out: Path | None = None
    max_failures: MaxFailures = field(default_factory=MaxFailures)
    dry_run: bool = False
    metrics: Path | None = None
    # On every series of --metrics: after settings/build.py, `run` and `shard` first (the defaults),
    # then --metrics-label's; before it, only what --metrics-label gave.
    metrics_labels: tuple[tuple[str, str], ...] = ()
    merge: bool = False  # SOURCES are the records files of a list's shards


@frozen
class Config:
    """Everything one run needs, decided once at the edge."""

    sources: tuple[str, ...] = ("-",)
    input: InputConfig = field(default_factory=InputConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    timeouts: TimeoutConfig = field(default_factory=TimeoutConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    request: RequestConfig = field(default_factory=RequestConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    run: RunConfig = field(default_factory=RunConfig)
    judge: JudgeSpec = field(default_factory=JudgeSpec)
    warnings: tuple[str, ...] = ()  # options given that have nothing to act on, said once


def choose_transport(chosen: Transport) -> Transport:
    """What `--transport auto` means: curl, for every list and every fetch. It spends the
    least CPU per request of the three (benchmarks/cores.py: about 0.7x aiohttp's and 0.3x
    httpcore's), imports fastest (no aiohttp, no httpcore) and makes no TLS context until a
    URL is https; it speaks HTTP/1.1, HTTP/2 and HTTP/3.

    >>> choose_transport(Transport.AUTO), choose_transport(Transport.AIOHTTP)
    (<Transport.CURL: 'curl'>, <Transport.AIOHTTP: 'aiohttp'>)
    """
    return Transport.CURL if chosen is Transport.AUTO else chosen
