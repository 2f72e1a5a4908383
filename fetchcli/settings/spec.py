"""Every option of fetchcli, as data: one `Option` each, in the order and groups `--help` shows.

An option's name is its long flag in snake_case, its Config field and its Python API keyword;
the entry says how text becomes its value, what is checked, how --help shows it, and whether
the API takes it. The command line's parameters (cli/parameters.py) and the option checks
(settings/build.py) are both built from this table, as HTTPie builds its parser from
httpie/cli/definition.py: adding an option is one entry here plus the code that uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

from fetchcli._version import __version__
from fetchcli.judging import spec as j
from fetchcli.settings import parse as p
from fetchcli.settings.checksums import parse_checksum
from fetchcli.settings.model import FailOn, Format, InputFormat, Order, Scheme, Transport
from fetchcli.slots import frozen

INPUT, POOL, TIMEOUTS = "Input", "Pool and concurrency", "Timeouts"
RETRIES, REQUEST, OUTPUT = "Retries", "Request", "Output"
UNATTENDED = "Unattended runs"
JUDGING = "Judging what was fetched"
GROUPS = (INPUT, POOL, TIMEOUTS, RETRIES, REQUEST, OUTPUT, UNATTENDED, JUDGING)


@frozen
class Option:
    """One option: its name, help panel and text, and how its value is read and checked."""

    name: str
    group: str
    help: str
    kind: type = str  # what the command line hands over: str, int, float, bool, Path, an enum
    flags: tuple[str, ...] = ()  # when not just --name-with-dashes; "--a/--no-a" negates
    metavar: str | None = None  # when the kind's (N, SECONDS, PATH, a|b|c, TEXT) says too little
    repeatable: bool = False  # a list of `kind`, one per flag given
    convert: Callable[[Any], Any] | None = None  # a given value (text or not) -> the Config's
    check: Callable[[Any], None] | None = None  # raises ValueError for a value out of range
    shown: bool | str = False  # --help's default: True shows the Config's, a str itself
    api: str | None = None  # why the Python API refuses it (None: the API takes it)

    @property
    def flag(self) -> str:
        """The flag messages name it by: `--max-size`, `--follow`; a repeatable option's first,
        as it is written (`-H`, `--metrics-label`)."""
        if self.repeatable and self.flags:
            return self.flags[0]
        longs = [name for name in self.flags if name.startswith("--")]
        return longs[-1].split("/")[0] if longs else "--" + self.name.replace("_", "-")

    @property
    def shown_metavar(self) -> str:
        if self.metavar:
            return self.metavar
        if issubclass(self.kind, StrEnum):
            return "|".join(member.value for member in self.kind)
        return {int: "N", float: "SECONDS", Path: "PATH"}.get(self.kind, "TEXT")


def at_least_one(value: Any) -> None:
    if _number(value) and value < 1:
        raise ValueError(f"must be at least 1, got {value}")


def not_negative(value: Any) -> None:
    if _number(value) and value < 0:
        raise ValueError(f"must not be negative, got {value}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def text(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A parser for text that lets an already parsed value (from the API) through."""

    def convert(value: Any) -> Any:
        return parse(value) if isinstance(value, str) else value

    return convert


Pair = tuple[str, str]


def headers(values: Iterable[str | Pair] | str) -> tuple[Pair, ...]:
    """-H texts (or name, value pairs from the API) -> pairs."""
    items = [values] if isinstance(values, str) else values
    return tuple(p.parse_header(item) if isinstance(item, str) else item for item in items)


def unique_labels(values: Iterable[str | Pair] | str) -> tuple[Pair, ...]:
    """--metrics-label KEY=VALUE (or pairs), each key once.

    >>> unique_labels(["site=eu", ("team", "web")])
    (('site', 'eu'), ('team', 'web'))
    """
    items = [values] if isinstance(values, str) else values
    labels = tuple(p.parse_metrics_label(i if isinstance(i, str) else "=".join(i)) for i in items)
    names = [name for name, _ in labels]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"{name!r} given twice")
    return labels


def each(parse: Callable[[str], Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A repeatable option's values (one text, or many from the API), each parsed."""

    def convert(values: Any) -> tuple[Any, ...]:
        items = [values] if isinstance(values, str) else values
        return tuple(parse(item) if isinstance(item, str) else item for item in items)

    return convert


def extracts(values: Any) -> tuple[Pair, ...]:
    """--extract NAME=SPEC texts, or the API's {name: spec}."""
    if isinstance(values, dict):
        values = [f"{name}={spec}" for name, spec in values.items()]
    return j.names(each(j.parse_extract)(values))


def template(value: str) -> str:
    """--template, parsed here so that one that does not parse stops the run."""
    from fetchcli.settings.template import Template  # uritemplate: only for --template

    Template.parse(value)
    return value


def encoded(value: Any) -> Any:
    return value.encode() if isinstance(value, str) else value


_WHY_NOT_API = "nothing is printed"

OPTIONS: tuple[Option, ...] = (
    # Input
    Option("default_scheme", INPUT, "Scheme for lines without one.", Scheme, convert=Scheme,
           shown=True),
    Option("input_format", INPUT, "How lines are read: auto (a line that starts with { is a "
           "JSON request, any other a URL), lines, jsonl, or csv (a header row with a url "
           "column, or the names --template fills).", InputFormat, convert=InputFormat,
           shown=True),
    Option("template", INPUT, "Each input row fills this RFC 6570 URL template: {} is a plain "
           "line, {name} a CSV column or JSON key (percent-encoded; {+name} keeps reserved "
           "characters); {name} also fills -H values and -d text.", metavar="URL",
           convert=text(template)),
    Option("dedupe", INPUT, "Skip exact repeats of a request (method, URL and body).", bool),
    Option("shard", INPUT, "Keep only URLs in shard I of N (stable hash, same on every machine).",
           metavar="I/N", convert=text(p.parse_shard)),
    Option("shard_base", INPUT, "How --shard counts: from 1 (1/N to N/N) or from 0 (0/N to N-1/N, "
           "as Kubernetes' JOB_COMPLETION_INDEX and Slurm arrays from 0 do).", int,
           metavar="0|1", shown="1"),
    Option("skip_done", INPUT, "Skip URLs with a successful record in this earlier JSONL output.",
           Path, metavar="FILE", convert=Path),
    # Pool and concurrency
    Option("concurrency", POOL, "Requests in flight.", int, ("-c", "--concurrency"),
           check=at_least_one, shown=True),
    Option("workers", POOL, "Processes, one per core: each has its own --concurrency and "
           "connection pool. At most the CPUs this process may use (its affinity), and one "
           "per URL given as an argument.", int, check=at_least_one, shown=True,
           api="one process per core is the command line's (--workers)"),
    Option("max_connections", POOL, "Open connections, in use plus idle.", int,
           check=at_least_one, shown="2 x concurrency"),
    Option("max_keepalive", POOL, "Idle connections kept for reuse; 0 = no reuse.", int,
           check=not_negative, shown="max-connections"),
    Option("keepalive_expiry", POOL, "Close idle connections after.", float, check=not_negative,
           shown=True),
    Option("per_host", POOL, "At most this many in flight to one origin.", int,
           check=at_least_one),
    Option("rate", POOL, "At most RATE request starts per second, evenly spaced: 10, 10/s, 600/m.",
           metavar="RATE", convert=text(p.parse_rate)),
    Option("limit_rate", POOL, "At most RATE body bytes a second for the whole run, every "
           "connection and every --workers process together, smoothly: 500k, 2M, 1MiB.",
           metavar="RATE", convert=text(lambda value: p.parse_size(value.removesuffix("/s")))),
    Option("http2", POOL, "Enable HTTP/2 (curl and httpcore).", bool),
    Option("http3", POOL, "Try HTTP/3 (QUIC) first, then HTTP/2 or 1.1 over TCP where the "
           "server has no QUIC, as curl --http3 does (curl only).", bool),
    Option("transport", POOL, "What sends requests under the httpx client: curl (libcurl: "
           "the least CPU per request; HTTP/1.1, HTTP/2, HTTP/3), aiohttp (HTTP/1.1) or "
           "httpcore (HTTP/2); auto is curl.", Transport, convert=Transport, shown=True),
    # Timeouts
    Option("timeout", TIMEOUTS, "Default for the four timeouts below; 0 = none.", float,
           ("-t", "--timeout"), check=not_negative, shown=True),
    Option("connect_timeout", TIMEOUTS, "Connect timeout.", float, check=not_negative),
    Option("read_timeout", TIMEOUTS, "Timeout between bytes read.", float, check=not_negative),
    Option("write_timeout", TIMEOUTS, "Write timeout.", float, check=not_negative),
    Option("pool_timeout", TIMEOUTS, "Wait for a free connection.", float, check=not_negative),
    Option("max_time", TIMEOUTS, "Deadline for one URL: every attempt, redirect, wait and the "
           "whole body.", float, check=not_negative),
    # Retries
    Option("retries", RETRIES, "Retries on connect errors, timeouts, 429/502/503/504.", int,
           check=not_negative, shown=True),
    Option("retry_backoff", RETRIES, "Base of exponential backoff with full jitter.", float,
           check=not_negative, shown=True),
    Option("retry_max_wait", RETRIES, "Longest wait before a retry (Retry-After included).",
           float, check=not_negative, shown=True),
    # Request
    Option("method", REQUEST, "HTTP method (default: GET, POST with -d).", str,
           ("-X", "--method"), convert=p.parse_method),
    Option("headers", REQUEST, "Extra header (repeatable).", str, ("-H", "--header"),
           "'NAME: VALUE'", repeatable=True, convert=headers),
    Option("data", REQUEST, "Request body.", str, ("-d", "--data"), "TEXT|@FILE",
           convert=encoded),
    Option("user_agent", REQUEST, f"(default: fetchcli/{__version__})", str,
           ("-A", "--user-agent")),
    Option("user", REQUEST, "Basic auth.", str, ("-u", "--user"), "USER:PASS",
           convert=text(p.parse_user)),
    Option("follow", REQUEST, "Follow redirects.", bool, ("--follow/--no-follow",)),
    Option("max_redirects", REQUEST, "Redirects to follow at most.", int, check=not_negative,
           shown=True),
    Option("insecure", REQUEST, "Skip TLS certificate checks (warns).", bool,
           ("-k", "--insecure")),
    Option("cacert", REQUEST, "Trust these CA certificates.", Path, convert=Path),
    Option("proxy", REQUEST, "HTTP(S) proxy.", metavar="URL", convert=text(p.parse_proxy)),
    # Output
    Option("format", OUTPUT, "(default: table on a terminal, else jsonl)", Format,
           ("-f", "--format"), convert=Format, api="records are yielded as dicts"),
    Option("order", OUTPUT, "Order of records.", Order, convert=Order, shown=True),
    Option("snippet", OUTPUT, "Characters of body text; 0 = none.", int, check=not_negative,
           shown=True),
    Option("include_headers", OUTPUT, "Add response headers to jsonl records.", bool),
    Option("timings", OUTPUT, "Add `timing` to the records: seconds spent in queue, dns, "
           "connect, tls, ttfb (to the first response byte) and in total.", bool),
    Option("tls_info", OUTPUT, "Add `tls` to the records: version, cipher, and the leaf "
           "certificate's subject, issuer, names, validity and days left.", bool),
    Option("separator", OUTPUT, "Written between bodies in body format (\\n, \\t, \\0 "
           "understood).", metavar="TEXT", convert=text(p.parse_separator),
           api="bodies are not written to stdout"),
    Option("save", OUTPUT, "Also save every 2xx body to a file in DIR.", Path, metavar="DIR",
           convert=Path),
    Option("content_disposition", OUTPUT, "With --save: name a file as the server's "
           "Content-Disposition does (filename* before filename), made safe as URL names are.",
           bool),
    Option("checksum", OUTPUT, "With --save and one URL: its body must hash to this, else "
           "it is not saved (error kind checksum).", metavar="ALGO=HEX",
           convert=text(parse_checksum)),
    Option("checksums", OUTPUT, "With --save: a sha256sum/sha512sum file; a saved file whose "
           "name it lists must match.", Path, metavar="FILE", convert=Path),
    Option("resume", OUTPUT, "With --save: keep a download that did not finish as NAME.part "
           "and ask for the rest next time (Range, If-Range); it gets its name when whole.",
           bool, ("--continue",)),
    Option("overwrite", OUTPUT, "With --save: replace a file of the same name (atomically) "
           "instead of saving page-1.html beside it; for mirrors.", bool),
    Option("records", OUTPUT, "Also append JSONL records to FILE.", Path, metavar="FILE",
           convert=Path, api="write the records you are given"),
    Option("max_size", OUTPUT, "Cap on decoded body bytes per URL (kB, MB, KiB, MiB...).",
           metavar="SIZE", convert=text(p.parse_size), shown=True),
    Option("progress", OUTPUT, "A progress line on stderr. (default: on when stderr is a "
           "terminal and stdout is that terminal, a file or /dev/null; off when stdout is a "
           "pipe, whose reader may write to the same screen)", bool,
           ("--progress/--no-progress",), api="nothing is drawn"),
    Option("quiet", OUTPUT, "No summary.", bool, ("-q", "--quiet"), api=_WHY_NOT_API),
    Option("verbose", OUTPUT, "One line per attempt on stderr.", bool, ("-v", "--verbose"),
           api=_WHY_NOT_API),
    Option("fail_on", OUTPUT, "Exit 1 on any failure, only errors, or never.", FailOn,
           convert=FailOn, shown=True, api="there is no exit status"),
    # Unattended runs
    Option("state", UNATTENDED, "Remember each URL's validators, body hash and status in FILE "
           "(SQLite); send If-None-Match/If-Modified-Since next time; records gain `changed`.",
           Path, metavar="FILE", convert=Path),
    Option("changed_only", UNATTENDED, "Write only changed URLs and failures to stdout (needs "
           "--state).", bool, api="filter on the records' 'changed'"),
    Option("failed_out", UNATTENDED, "Write the failed URLs to FILE, each after a comment saying "
           "why: a list to retry.", Path, metavar="FILE", convert=Path,
           api="filter the records you are given"),
    Option("max_failures", UNATTENDED, "Exit 1 only when more than N URLs, or P % of them, "
           "failed.", metavar="N|P%", convert=text(p.parse_max_failures), shown="0",
           api="there is no exit status"),
    Option("dry_run", UNATTENDED, "Print the URLs a run would fetch, and per-host counts; fetch "
           "nothing.", bool, api="nothing is fetched by a dry run"),
    Option("metrics", UNATTENDED, "Write Prometheus metrics of the run to FILE (node_exporter's "
           "textfile format).", Path, metavar="FILE", convert=Path,
           api="count the records you are given"),
    Option("metrics_labels", UNATTENDED, "Add this label to every series of --metrics "
           "(repeatable; an empty VALUE drops it). By default run=<FILE's name without .prom>, "
           "and shard=<I> with --shard, so that runs' files never collide in one node_exporter.",
           str, ("--metrics-label",), "KEY=VALUE", repeatable=True, convert=unique_labels,
           api="there is no metrics file (--metrics)"),
    Option("merge", UNATTENDED, "SOURCES are the records files of a list's shards: write what "
           "one run over the whole list would have (records in input order, the summary, "
           "--metrics, --failed-out, the exit status).", bool),
    # Judging what was fetched
    Option("expect_status", JUDGING, "The final status must be one of these: 2xx,304,400-404. "
           "Then a 4xx or 5xx it names is a success.", metavar="LIST",
           convert=text(j.statuses)),
    Option("expect_body", JUDGING, "The body must match this regular expression (Python's; "
           "repeatable).", str, metavar="REGEX", repeatable=True, convert=each(j.parse_regex)),
    Option("reject_body", JUDGING, "The body must not match it (repeatable).", str,
           metavar="REGEX", repeatable=True, convert=each(j.parse_regex)),
    Option("expect_header", JUDGING, "A response header must match (repeatable).", str,
           metavar="'NAME: REGEX'", repeatable=True, convert=each(j.parse_header_check)),
    Option("slow", JUDGING, "A URL that took longer than this fails.", float,
           check=not_negative),
    Option("cert_days", JUDGING, "An https URL whose certificate has fewer days left fails "
           "(implies --tls-info).", float, metavar="DAYS", check=not_negative),
    Option("check", JUDGING, "A CEL expression that must hold, over status, headers, body, "
           "json, extract... (repeatable; --list-fields).", str, metavar="EXPR",
           repeatable=True, convert=each(j.parse_check)),
    Option("extract", JUDGING, "Add extract.NAME to the records: json:$.path (JSONPath), "
           "re:REGEX (first group), header:NAME or title (repeatable).", str,
           metavar="NAME=SPEC", repeatable=True, convert=extracts),
    Option("where", JUDGING, "Write to stdout only the records for which this CEL expression "
           "holds (--records, --failed-out and the exit status see every one; not with -f body).",
           metavar="EXPR", convert=text(j.parse_where),
           api="filter the records you are given"),
)  # fmt: skip

BY_NAME = {option.name: option for option in OPTIONS}
