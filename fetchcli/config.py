"""The frozen settings of one run, their defaults, and the pure parsers for flag values.

The CLI builds one `Config` from the flags; nothing below the CLI sees a raw flag string.
Parsers raise `ValueError` with a message meant for the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from fetchcli.sanitize import mask_url

DEFAULT_CONCURRENCY = 20
DEFAULT_TIMEOUT = 10.0
DEFAULT_KEEPALIVE_EXPIRY = 5.0
DEFAULT_MAX_REDIRECTS = 10
DEFAULT_SNIPPET = 60
DEFAULT_MAX_SIZE = 100_000_000
DEFAULT_RETRY_BACKOFF = 0.5
DEFAULT_RETRY_MAX_WAIT = 60.0
MAX_URL_LENGTH = 8 * 1024


class Format(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    CSV = "csv"
    BODY = "body"


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


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # 1-based, as the user writes it
    count: int


@dataclass(frozen=True, slots=True)
class InputConfig:
    default_scheme: Scheme = Scheme.HTTPS
    dedupe: bool = False
    shard: Shard | None = None
    skip_done: Path | None = None


@dataclass(frozen=True, slots=True)
class PoolConfig:
    concurrency: int = DEFAULT_CONCURRENCY
    max_connections: int | None = None
    max_keepalive: int | None = None
    keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY
    per_host: int | None = None
    rate: float | None = None
    http2: bool = False
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


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """Seconds; None is no timeout."""

    connect_timeout: float | None = DEFAULT_TIMEOUT
    read_timeout: float | None = DEFAULT_TIMEOUT
    write_timeout: float | None = DEFAULT_TIMEOUT
    pool_timeout: float | None = DEFAULT_TIMEOUT
    max_time: float | None = None


@dataclass(frozen=True, slots=True)
class RetryConfig:
    retries: int = 0
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT


@dataclass(frozen=True, slots=True)
class RequestConfig:
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


@dataclass(frozen=True, slots=True)
class OutputConfig:
    format: Format = Format.JSONL
    order: Order = Order.INPUT
    snippet: int = DEFAULT_SNIPPET
    include_headers: bool = False
    separator: bytes = b""
    save: Path | None = None
    overwrite: bool = False  # --save replaces a file of the same name instead of a new name
    records: Path | None = None
    max_size: int = DEFAULT_MAX_SIZE
    progress: bool = False
    quiet: bool = False
    verbose: bool = False
    fail_on: FailOn = FailOn.ANY


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What an unattended run keeps and reports: the state between runs, the failures to
    retry, the metrics, and how many failures make it fail."""

    state: Path | None = None
    changed_only: bool = False
    failed_out: Path | None = None
    max_failures: MaxFailures = field(default_factory=MaxFailures)
    dry_run: bool = False
    metrics: Path | None = None
    # On every series of --metrics: after options.py, `run` and `shard` first (the defaults),
    # then --metrics-label's; before it, only what --metrics-label gave.
    metrics_labels: tuple[tuple[str, str], ...] = ()
    merge: bool = False  # SOURCES are the records files of a list's shards


@dataclass(frozen=True, slots=True)
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
    warnings: tuple[str, ...] = ()  # options given that have nothing to act on, said once


FEW_URLS = 8  # below this many URL arguments, aiohttp's 0.1 s import outweighs its speed


def choose_transport(chosen: Transport, *, http2: bool, sources: tuple[str, ...]) -> Transport:
    """What `--transport auto` means: httpcore for HTTP/2, which only it speaks, and for a
    handful of URLs given as arguments (a one-off fetch at a terminal); aiohttp for lists.

    >>> choose_transport(Transport.AUTO, http2=False, sources=("urls.txt",))
    <Transport.AIOHTTP: 'aiohttp'>
    >>> choose_transport(Transport.AUTO, http2=False, sources=("https://a.test/",))
    <Transport.HTTPCORE: 'httpcore'>
    """
    if chosen is not Transport.AUTO:
        return chosen
    only_arguments = all("://" in source for source in sources)
    if http2 or (only_arguments and len(sources) < FEW_URLS):
        return Transport.HTTPCORE
    return Transport.AIOHTTP


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip


def parse_size(text: str) -> int:
    """A byte count: kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.

    >>> parse_size("100MB"), parse_size("1KiB"), parse_size("512"), parse_size("1.5kB")
    (100000000, 1024, 512, 1500)
    """
    match = _SIZE.match(text)
    unit = match[2].lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (try 500kB, 10MB, 1GiB)")
    size = int(float(match[1]) * _SIZE_UNITS[unit])
    if size <= 0:
        raise ValueError(f"must be more than 0: {text!r}")
    return size


_RATE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(text: str) -> float:
    """Requests per second from `10`, `10/s`, `600/m` or `3600/h`.

    >>> parse_rate("600/m"), parse_rate("10"), parse_rate("2.5/s")
    (10.0, 10.0, 2.5)
    """
    count, _, unit = text.strip().partition("/")
    try:
        rate = float(count) / _RATE_UNITS[unit.strip().lower() or "s"]
    except (ValueError, KeyError):
        raise ValueError(f"not a rate: {text!r} (try 10, 10/s, 600/m)") from None
    if not rate > 0 or rate == float("inf"):
        raise ValueError(f"must be more than 0: {text!r}")
    return rate


def parse_shard(text: str, base: int = 1) -> Shard:
    """`I/N`: keep shard I of N, 1 <= I <= N; with `base` 0, 0 <= I < N (the numbering of
    Kubernetes' JOB_COMPLETION_INDEX, or a Slurm array from 0), so an engine's own index goes
    in as it is.

    >>> parse_shard("2/8"), parse_shard("0/8", base=0)
    (Shard(index=2, count=8), Shard(index=1, count=8))
    """
    index, slash, count = text.partition("/")
    try:
        shard = Shard(int(index) - base + 1, int(count))
    except ValueError:
        shard = None
    if not slash or shard is None or not 1 <= shard.index <= shard.count:
        last = "N" if base == 1 else "N-1"
        raise ValueError(f"must be I/N with {base} <= I <= {last}, got {text!r}")
    return shard


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` into a pair; CR or LF anywhere is refused (header injection).

    >>> parse_header("X-Token:  abc ")
    ('X-Token', 'abc')
    """
    if "\r" in text or "\n" in text:
        raise ValueError(f"contains CR or LF: {text!r}")
    name, colon, value = text.partition(":")
    if not colon or not _HEADER_NAME.match(name.strip()):
        raise ValueError(f"must be 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def parse_max_failures(text: str) -> MaxFailures:
    """`N` URLs or `P%` of them.

    >>> parse_max_failures("10"), parse_max_failures("2.5%")
    (MaxFailures(count=10, percent=None), MaxFailures(count=0, percent=2.5))
    """
    number, percent, rest = text.strip().partition("%")
    try:
        if percent and not rest and 0 <= float(number) <= 100:
            return MaxFailures(percent=float(number))
        if not percent and int(number) >= 0:
            return MaxFailures(count=int(number))
    except ValueError:
        pass
    raise ValueError(f"must be a number of URLs (10) or a percentage (5%), got {text!r}")


def parse_user(text: str) -> tuple[str, str]:
    """`USER:PASS` (the password may be empty or contain colons).

    >>> parse_user("alice:s:e:c")
    ('alice', 's:e:c')
    """
    user, colon, password = text.partition(":")
    if not colon or not user:
        raise ValueError("must be USER:PASS")
    return user, password


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\"}


def parse_separator(text: str) -> bytes:
    """Unescape `\\n`, `\\t`, `\\r`, `\\0` and `\\\\`; anything else stays as written.

    >>> parse_separator(r"\\n--\\n"), parse_separator(r"\\0"), parse_separator(r"a\\qb")
    (b'\\n--\\n', b'\\x00', b'a\\\\qb')
    """
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text).encode()


_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# The labels of fetchcli's own series (output/metrics.py), and those Prometheus attaches to
# every series it scrapes: a --metrics-label of one of these names would clash with them.
METRICS_OWN_LABELS = ("result", "kind", "code", "reason", "le")
SCRAPE_LABELS = ("job", "instance")


def parse_metrics_label(text: str) -> tuple[str, str]:
    """`KEY=VALUE`, a label for every series of --metrics; KEY a Prometheus label name that
    is not taken, VALUE any text (empty: no such label, as Prometheus reads an empty one).

    >>> parse_metrics_label("site=eu-1"), parse_metrics_label("run=")
    (('site', 'eu-1'), ('run', ''))
    """
    name, equals, value = text.partition("=")
    if not equals:
        raise ValueError(f"must be KEY=VALUE, got {text!r}")
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a Prometheus label name (letters, digits and _, not first a digit)"
        )
    if name.startswith("__"):
        raise ValueError(f"{name!r}: names starting with __ are Prometheus' own")
    if name in METRICS_OWN_LABELS:
        raise ValueError(f"{name!r} is a label of fetchcli's own series: pick another name")
    if name in SCRAPE_LABELS:
        raise ValueError(f"{name!r} is attached by Prometheus when it scrapes: pick another name")
    return name, value


_SCHEMES = ("http", "https")
# A URL of the plainest kind: http(s), a lowercase host name or address, maybe a port, a path of
# characters httpx leaves as they are. Checked here, and parsed from its pieces by net/urls.py.
PLAIN_URL = re.compile(
    r"(https?)://([a-z0-9][a-z0-9.\-]*)(?::([1-9][0-9]{0,4}))?"
    r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@/%\[\]^|]*)"
    r"(?:\?([A-Za-z0-9\-._~!$&'()*+,;=:@/%\[\]^|?`{}]*))?"
)


def url_problem(url: str) -> str | None:
    """Why `url` is not a fetchable http(s) URL, or None.

    >>> url_problem("ftp://example.com/"), url_problem("https:///path"), url_problem("http://a.b/")
    ("unsupported scheme 'ftp'", 'no host in URL', None)
    """
    if len(url.encode()) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH} bytes"
    plain = PLAIN_URL.fullmatch(url)
    if plain is not None and (plain[3] is None or int(plain[3]) <= 65535):
        return None  # most lines: nothing for urlsplit to find
    if not url.isprintable() or " " in url:
        return "URL contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"malformed URL: {exc}"
    if parts.scheme.lower() not in _SCHEMES:
        return f"unsupported scheme {parts.scheme!r}"
    if not parts.hostname:
        return "no host in URL"
    return None


def parse_proxy(text: str) -> str:
    """An http(s) proxy URL, checked; without a scheme it is http, as with curl -x and the
    proxy variables.

    >>> parse_proxy("http://proxy.local:3128"), parse_proxy("proxy.local:3128")
    ('http://proxy.local:3128', 'http://proxy.local:3128')
    """
    if "://" not in text:
        text = f"http://{text}"
    problem = url_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text
