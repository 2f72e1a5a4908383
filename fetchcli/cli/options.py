"""Every option of the command, as data: one Annotated alias per option, grouped by help panel
in the order `--help` shows them. Parameter names are the option names of options.py (and the
Config fields), so app.py hands them over by name. Values are parsed and checked there, not
here, so the command line and the Python API share one set of rules."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from fetchcli._version import __version__
from fetchcli.cli.help import render_help
from fetchcli.settings.build import shown_default
from fetchcli.settings.model import FailOn, Format, Order, Scheme, Transport

INPUT, POOL, TIMEOUTS = "Input", "Pool and concurrency", "Timeouts"
RETRIES, REQUEST, OUTPUT = "Retries", "Request", "Output"
UNATTENDED = "Unattended runs"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fetchcli {__version__}")
        raise typer.Exit()


def _help(ctx: typer.Context, value: bool) -> None:
    if value:
        width = shutil.get_terminal_size(fallback=(80, 24)).columns  # COLUMNS first
        typer.echo(render_help(ctx.command, width), nl=False)
        raise typer.Exit()


Sources = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="SOURCE",
        help="URLs, files with one URL per line, or - for stdin (read when piped).",
        show_default=False,
    ),
]

# Input
DefaultScheme = Annotated[
    Scheme | None,
    typer.Option(
        help="Scheme for lines without one.",
        show_default=shown_default("default_scheme"),
        rich_help_panel=INPUT,
    ),
]
Dedupe = Annotated[
    bool, typer.Option("--dedupe", help="Skip exact repeats of a URL.", rich_help_panel=INPUT)
]
Shard = Annotated[
    str | None,
    typer.Option(
        metavar="I/N",
        help="Keep only URLs in shard I of N (stable hash, same on every machine).",
        rich_help_panel=INPUT,
    ),
]
ShardBase = Annotated[
    int | None,
    typer.Option(
        metavar="0|1",
        help="How --shard counts: from 1 (1/N to N/N) or from 0 (0/N to N-1/N, as Kubernetes' "
        "JOB_COMPLETION_INDEX and Slurm arrays from 0 do).",
        show_default="1",
        rich_help_panel=INPUT,
    ),
]
SkipDone = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Skip URLs with a successful record in this earlier JSONL output.",
        rich_help_panel=INPUT,
    ),
]

# Pool and concurrency
Concurrency = Annotated[
    int | None,
    typer.Option(
        "-c",
        "--concurrency",
        help="Requests in flight.",
        show_default=shown_default("concurrency"),
        rich_help_panel=POOL,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Processes, one per core: each has its own --concurrency and connection pool.",
        show_default=shown_default("workers"),
        rich_help_panel=POOL,
    ),
]
MaxConnections = Annotated[
    int | None,
    typer.Option(
        help="Open connections, in use plus idle.",
        show_default="2 x concurrency",
        rich_help_panel=POOL,
    ),
]
MaxKeepalive = Annotated[
    int | None,
    typer.Option(
        help="Idle connections kept for reuse; 0 = no reuse.",
        show_default="max-connections",
        rich_help_panel=POOL,
    ),
]
KeepaliveExpiry = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        help="Close idle connections after.",
        show_default=shown_default("keepalive_expiry"),
        rich_help_panel=POOL,
    ),
]
PerHost = Annotated[
    int | None,
    typer.Option(help="At most this many in flight to one origin.", rich_help_panel=POOL),
]
Rate = Annotated[
    str | None,
    typer.Option(
        metavar="RATE",
        help="At most RATE request starts per second, evenly spaced: 10, 10/s, 600/m.",
        rich_help_panel=POOL,
    ),
]
Http2 = Annotated[
    bool, typer.Option("--http2", help="Enable HTTP/2 (uses httpcore).", rich_help_panel=POOL)
]
TransportChoice = Annotated[
    Transport | None,
    typer.Option(
        help="What sends requests under the httpx client: aiohttp (fast, HTTP/1.1), "
        "httpcore (HTTP/2, write timeouts) or curl (libcurl: HTTP/1.1 and HTTP/2); auto "
        "picks httpcore for --http2 or a few URL arguments, aiohttp otherwise.",
        show_default=shown_default("transport"),
        rich_help_panel=POOL,
    ),
]

# Timeouts
Timeout = Annotated[
    float | None,
    typer.Option(
        "-t",
        "--timeout",
        metavar="SECONDS",
        help="Default for the four timeouts below; 0 = none.",
        show_default=shown_default("timeout"),
        rich_help_panel=TIMEOUTS,
    ),
]
ConnectTimeout = Annotated[
    float | None,
    typer.Option(metavar="SECONDS", help="Connect timeout.", rich_help_panel=TIMEOUTS),
]
ReadTimeout = Annotated[
    float | None,
    typer.Option(metavar="SECONDS", help="Timeout between bytes read.", rich_help_panel=TIMEOUTS),
]
WriteTimeout = Annotated[
    float | None,
    typer.Option(metavar="SECONDS", help="Write timeout.", rich_help_panel=TIMEOUTS),
]
PoolTimeout = Annotated[
    float | None,
    typer.Option(metavar="SECONDS", help="Wait for a free connection.", rich_help_panel=TIMEOUTS),
]
MaxTime = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        help="Deadline for one URL: every attempt, redirect, wait and the whole body.",
        rich_help_panel=TIMEOUTS,
    ),
]

# Retries
Retries = Annotated[
    int | None,
    typer.Option(
        help="Retries on connect errors, timeouts, 429/502/503/504.",
        show_default=shown_default("retries"),
        rich_help_panel=RETRIES,
    ),
]
RetryBackoff = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        help="Base of exponential backoff with full jitter.",
        show_default=shown_default("retry_backoff"),
        rich_help_panel=RETRIES,
    ),
]
RetryMaxWait = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        help="Longest wait before a retry (Retry-After included).",
        show_default=shown_default("retry_max_wait"),
        rich_help_panel=RETRIES,
    ),
]

# Request
Method = Annotated[
    str | None,
    typer.Option(
        "-X", "--method", help="HTTP method (default: GET, POST with -d).", rich_help_panel=REQUEST
    ),
]
Headers = Annotated[
    list[str] | None,
    typer.Option(
        "-H",
        "--header",
        metavar="'NAME: VALUE'",
        help="Extra header (repeatable).",
        rich_help_panel=REQUEST,
    ),
]
Data = Annotated[
    str | None,
    typer.Option(
        "-d", "--data", metavar="TEXT|@FILE", help="Request body.", rich_help_panel=REQUEST
    ),
]
UserAgent = Annotated[
    str | None,
    typer.Option(
        "-A", "--user-agent", help=f"(default: fetchcli/{__version__})", rich_help_panel=REQUEST
    ),
]
User = Annotated[
    str | None,
    typer.Option("-u", "--user", metavar="USER:PASS", help="Basic auth.", rich_help_panel=REQUEST),
]
Follow = Annotated[
    bool,
    typer.Option("--follow/--no-follow", help="Follow redirects.", rich_help_panel=REQUEST),
]
MaxRedirects = Annotated[
    int | None,
    typer.Option(
        help="Redirects to follow at most.",
        show_default=shown_default("max_redirects"),
        rich_help_panel=REQUEST,
    ),
]
Insecure = Annotated[
    bool,
    typer.Option(
        "-k", "--insecure", help="Skip TLS certificate checks (warns).", rich_help_panel=REQUEST
    ),
]
Cacert = Annotated[
    Path | None,
    typer.Option(metavar="PATH", help="Trust these CA certificates.", rich_help_panel=REQUEST),
]
Proxy = Annotated[
    str | None, typer.Option(metavar="URL", help="HTTP(S) proxy.", rich_help_panel=REQUEST)
]

# Output
FormatChoice = Annotated[
    Format | None,
    typer.Option(
        "-f", "--format", help="(default: table on a terminal, else jsonl)", rich_help_panel=OUTPUT
    ),
]
OrderChoice = Annotated[
    Order | None,
    typer.Option(
        help="Order of records.", show_default=shown_default("order"), rich_help_panel=OUTPUT
    ),
]
Snippet = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        help="Characters of body text; 0 = none.",
        show_default=shown_default("snippet"),
        rich_help_panel=OUTPUT,
    ),
]
IncludeHeaders = Annotated[
    bool,
    typer.Option(
        "--include-headers", help="Add response headers to jsonl records.", rich_help_panel=OUTPUT
    ),
]
Separator = Annotated[
    str | None,
    typer.Option(
        metavar="TEXT",
        help="Written between bodies in body format (\\n, \\t, \\0 understood).",
        rich_help_panel=OUTPUT,
    ),
]
Save = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR", help="Also save every 2xx body to a file in DIR.", rich_help_panel=OUTPUT
    ),
]
Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="With --save: replace a file of the same name (atomically) instead of saving "
        "page-1.html beside it; for mirrors.",
        rich_help_panel=OUTPUT,
    ),
]
Records = Annotated[
    Path | None,
    typer.Option(metavar="FILE", help="Also append JSONL records to FILE.", rich_help_panel=OUTPUT),
]
MaxSize = Annotated[
    str | None,
    typer.Option(
        metavar="SIZE",
        help="Cap on decoded body bytes per URL (kB, MB, KiB, MiB...).",
        show_default=shown_default("max_size"),
        rich_help_panel=OUTPUT,
    ),
]
Progress = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="A progress line on stderr. (default: on when stderr is a terminal and stdout is "
        "that terminal, a file or /dev/null; off when stdout is a pipe, whose reader may write "
        "to the same screen)",
        show_default=False,
        rich_help_panel=OUTPUT,
    ),
]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="No summary.", rich_help_panel=OUTPUT)]
Verbose = Annotated[
    bool,
    typer.Option("-v", "--verbose", help="One line per attempt on stderr.", rich_help_panel=OUTPUT),
]
FailOnChoice = Annotated[
    FailOn | None,
    typer.Option(
        help="Exit 1 on any failure, only errors, or never.",
        show_default=shown_default("fail_on"),
        rich_help_panel=OUTPUT,
    ),
]
# Unattended runs
State = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Remember each URL's validators, body hash and status in FILE (SQLite); send "
        "If-None-Match/If-Modified-Since next time; records gain `changed`.",
        rich_help_panel=UNATTENDED,
    ),
]
ChangedOnly = Annotated[
    bool,
    typer.Option(
        "--changed-only",
        help="Write only changed URLs and failures to stdout (needs --state).",
        rich_help_panel=UNATTENDED,
    ),
]
FailedOut = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Write the failed URLs to FILE, each after a comment saying why: a list to retry.",
        rich_help_panel=UNATTENDED,
    ),
]
MaxFailures = Annotated[
    str | None,
    typer.Option(
        metavar="N|P%",
        help="Exit 1 only when more than N URLs, or P % of them, failed.",
        show_default="0",
        rich_help_panel=UNATTENDED,
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Print the URLs a run would fetch, and per-host counts; fetch nothing.",
        rich_help_panel=UNATTENDED,
    ),
]
Metrics = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Write Prometheus metrics of the run to FILE (node_exporter's textfile format).",
        rich_help_panel=UNATTENDED,
    ),
]
MetricsLabels = Annotated[
    list[str] | None,
    typer.Option(
        "--metrics-label",
        metavar="KEY=VALUE",
        help="Add this label to every series of --metrics (repeatable; an empty VALUE drops "
        "it). By default run=<FILE's name without .prom>, and shard=<I> with --shard, so that "
        "runs' files never collide in one node_exporter.",
        rich_help_panel=UNATTENDED,
    ),
]
Merge = Annotated[
    bool,
    typer.Option(
        "--merge",
        help="SOURCES are the records files of a list's shards: write what one run over the "
        "whole list would have (records in input order, the summary, --metrics, --failed-out, "
        "the exit status).",
        rich_help_panel=UNATTENDED,
    ),
]

Help = Annotated[
    bool,
    typer.Option("-h", "--help", callback=_help, is_eager=True, help="Show this help and exit."),
]
Version = Annotated[
    bool,
    typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
]
