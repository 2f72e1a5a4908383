"""The command line: flags -> one frozen Config, then `runner.run`, then an exit code.

The only module that imports typer or click. Every user mistake becomes one line,
`fetchcli: error: ...`, and exit status 2; nothing below this layer sees a raw flag.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from fetchcli import __version__, config
from fetchcli.config import (
    Config,
    FailOn,
    Format,
    InputConfig,
    Order,
    OutputConfig,
    PoolConfig,
    RequestConfig,
    RetryConfig,
    Scheme,
    TimeoutConfig,
    Transport,
)
from fetchcli.errors import ExitCode, UsageError
from fetchcli.models import Summary
from fetchcli.sources import check_readable, url_problem
from fetchcli.streams import Streams

INPUT, POOL, TIMEOUTS = "Input", "Pool and concurrency", "Timeouts"
RETRIES, REQUEST, OUTPUT = "Retries", "Request", "Output"
T = TypeVar("T")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fetchcli {__version__}")
        raise typer.Exit()


@app.command()
def fetch(  # noqa: PLR0913 - one parameter per documented flag is the point of this function
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SOURCE",
            help="URLs, files with one URL per line, or - for stdin (read when piped).",
            show_default=False,
        ),
    ] = None,
    # Input
    default_scheme: Annotated[
        Scheme, typer.Option(help="Scheme for lines without one.", rich_help_panel=INPUT)
    ] = Scheme.HTTPS,
    dedupe: Annotated[
        bool, typer.Option("--dedupe", help="Skip exact repeats of a URL.", rich_help_panel=INPUT)
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            metavar="I/N",
            help="Keep only URLs in shard I of N (stable hash, same on every machine).",
            rich_help_panel=INPUT,
        ),
    ] = None,
    skip_done: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Skip URLs with a successful record in this earlier JSONL output.",
            rich_help_panel=INPUT,
        ),
    ] = None,
    # Pool and concurrency
    concurrency: Annotated[
        int,
        typer.Option(
            "-c", "--concurrency", min=1, help="Requests in flight.", rich_help_panel=POOL
        ),
    ] = config.DEFAULT_CONCURRENCY,
    max_connections: Annotated[
        int | None,
        typer.Option(min=1, help="Pool size (default: 2 x concurrency).", rich_help_panel=POOL),
    ] = None,
    max_keepalive: Annotated[
        int | None,
        typer.Option(
            min=0, help="Idle connections kept (default: max-connections).", rich_help_panel=POOL
        ),
    ] = None,
    keepalive_expiry: Annotated[
        float,
        typer.Option(
            min=0.0, metavar="SECONDS", help="Close idle connections after.", rich_help_panel=POOL
        ),
    ] = config.DEFAULT_KEEPALIVE_EXPIRY,
    per_host: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="At most this many in flight to one origin (default: unlimited).",
            rich_help_panel=POOL,
        ),
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(
            metavar="RATE",
            help="At most RATE request starts per second, evenly spaced: 10, 10/s, 600/m.",
            rich_help_panel=POOL,
        ),
    ] = None,
    http2: Annotated[
        bool, typer.Option("--http2", help="Enable HTTP/2 (uses httpcore).", rich_help_panel=POOL)
    ] = False,
    transport: Annotated[
        Transport,
        typer.Option(
            help="What sends requests under the httpx client: aiohttp (fast, HTTP/1.1) or "
            "httpcore (HTTP/2, write timeouts); auto picks httpcore for --http2 or a few URL "
            "arguments, aiohttp otherwise.",
            rich_help_panel=POOL,
        ),
    ] = Transport.AUTO,
    # Timeouts
    timeout: Annotated[
        float,
        typer.Option(
            "-t",
            "--timeout",
            min=0.0,
            metavar="SECONDS",
            help="Default for the four timeouts below; 0 = none.",
            rich_help_panel=TIMEOUTS,
        ),
    ] = config.DEFAULT_TIMEOUT,
    connect_timeout: Annotated[
        float | None,
        typer.Option(min=0.0, metavar="SECONDS", help="Connect timeout.", rich_help_panel=TIMEOUTS),
    ] = None,
    read_timeout: Annotated[
        float | None,
        typer.Option(
            min=0.0, metavar="SECONDS", help="Timeout between bytes read.", rich_help_panel=TIMEOUTS
        ),
    ] = None,
    write_timeout: Annotated[
        float | None,
        typer.Option(min=0.0, metavar="SECONDS", help="Write timeout.", rich_help_panel=TIMEOUTS),
    ] = None,
    pool_timeout: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            metavar="SECONDS",
            help="Wait for a free connection.",
            rich_help_panel=TIMEOUTS,
        ),
    ] = None,
    max_time: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            metavar="SECONDS",
            help="Deadline for one URL: every attempt, redirect, wait and the whole body.",
            rich_help_panel=TIMEOUTS,
        ),
    ] = None,
    # Retries
    retries: Annotated[
        int,
        typer.Option(
            min=0,
            help="Retries on connect errors, timeouts, 429/502/503/504.",
            rich_help_panel=RETRIES,
        ),
    ] = 0,
    retry_backoff: Annotated[
        float,
        typer.Option(
            min=0.0,
            metavar="SECONDS",
            help="Base of exponential backoff with full jitter.",
            rich_help_panel=RETRIES,
        ),
    ] = config.DEFAULT_RETRY_BACKOFF,
    retry_max_wait: Annotated[
        float,
        typer.Option(
            min=0.0,
            metavar="SECONDS",
            help="Longest wait before a retry (Retry-After included).",
            rich_help_panel=RETRIES,
        ),
    ] = config.DEFAULT_RETRY_MAX_WAIT,
    # Request
    method: Annotated[
        str | None,
        typer.Option(
            "-X",
            "--method",
            help="HTTP method (default: GET, POST with -d).",
            rich_help_panel=REQUEST,
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "-H",
            "--header",
            metavar="'NAME: VALUE'",
            help="Extra header (repeatable).",
            rich_help_panel=REQUEST,
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "-d", "--data", metavar="TEXT|@FILE", help="Request body.", rich_help_panel=REQUEST
        ),
    ] = None,
    user_agent: Annotated[
        str | None,
        typer.Option(
            "-A",
            "--user-agent",
            help=f"(default: fetchcli/{__version__})",
            rich_help_panel=REQUEST,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "-u", "--user", metavar="USER:PASS", help="Basic auth.", rich_help_panel=REQUEST
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow/--no-follow", help="Follow redirects.", rich_help_panel=REQUEST),
    ] = True,
    max_redirects: Annotated[
        int, typer.Option(min=0, help="Redirects to follow at most.", rich_help_panel=REQUEST)
    ] = config.DEFAULT_MAX_REDIRECTS,
    insecure: Annotated[
        bool,
        typer.Option(
            "-k", "--insecure", help="Skip TLS certificate checks (warns).", rich_help_panel=REQUEST
        ),
    ] = False,
    cacert: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="Trust these CA certificates.", rich_help_panel=REQUEST),
    ] = None,
    proxy: Annotated[
        str | None, typer.Option(metavar="URL", help="HTTP(S) proxy.", rich_help_panel=REQUEST)
    ] = None,
    # Output
    format: Annotated[
        Format | None,
        typer.Option(
            "-f",
            "--format",
            help="(default: table on a terminal, else jsonl)",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    order: Annotated[
        Order, typer.Option(help="Order of records.", rich_help_panel=OUTPUT)
    ] = Order.INPUT,
    snippet: Annotated[
        int,
        typer.Option(
            min=0, metavar="N", help="Characters of body text; 0 = none.", rich_help_panel=OUTPUT
        ),
    ] = config.DEFAULT_SNIPPET,
    include_headers: Annotated[
        bool,
        typer.Option(
            "--include-headers",
            help="Add response headers to jsonl records.",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
    separator: Annotated[
        str,
        typer.Option(
            metavar="TEXT",
            help="Written between bodies in body format (\\n, \\t, \\0 understood).",
            rich_help_panel=OUTPUT,
        ),
    ] = "",
    save: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR", help="Also save every 2xx body to a file in DIR.", rich_help_panel=OUTPUT
        ),
    ] = None,
    records: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="Also append JSONL records to FILE.", rich_help_panel=OUTPUT
        ),
    ] = None,
    max_size: Annotated[
        str,
        typer.Option(
            metavar="SIZE",
            help="Cap on decoded body bytes per URL (kB, MB, KiB, MiB...).",
            rich_help_panel=OUTPUT,
        ),
    ] = "100MB",
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="(default: on when stderr is a terminal)",
            show_default=False,
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No summary.", rich_help_panel=OUTPUT)
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "-v", "--verbose", help="One line per attempt on stderr.", rich_help_panel=OUTPUT
        ),
    ] = False,
    fail_on: Annotated[
        FailOn,
        typer.Option(help="Exit 1 on any failure, only errors, or never.", rich_help_panel=OUTPUT),
    ] = FailOn.ANY,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> int:
    """Fetch many URLs concurrently and report each one as a table row, JSON line or CSV row."""
    streams: Streams = ctx.obj.streams
    chosen_format = format or (Format.TABLE if streams.stdout_isatty else Format.JSONL)
    if http2 and transport is Transport.AIOHTTP:
        raise UsageError("--http2 needs --transport httpcore (or auto): aiohttp speaks HTTP/1.1")
    if not sources and streams.stdin_isatty:
        raise UsageError("no SOURCE given and stdin is a terminal (try: fetchcli URL or FILE)")
    source_list = tuple(sources or ["-"])
    settings = Config(
        sources=source_list,
        input=InputConfig(
            default_scheme=default_scheme,
            dedupe=dedupe,
            shard=_parsed("--shard", config.parse_shard, shard),
            skip_done=skip_done,
        ),
        pool=PoolConfig(
            concurrency=concurrency,
            max_connections=max_connections,
            max_keepalive=max_keepalive,
            keepalive_expiry=keepalive_expiry,
            per_host=per_host,
            rate=_parsed("--rate", config.parse_rate, rate),
            http2=http2,
            transport=config.choose_transport(transport, http2=http2, sources=source_list),
        ),
        timeouts=TimeoutConfig(
            connect=_timeout(connect_timeout, timeout),
            read=_timeout(read_timeout, timeout),
            write=_timeout(write_timeout, timeout),
            pool=_timeout(pool_timeout, timeout),
            max_time=max_time or None,
        ),
        retry=RetryConfig(retries=retries, backoff=retry_backoff, max_wait=retry_max_wait),
        request=_request_config(
            method,
            header or [],
            data,
            user_agent,
            user,
            follow,
            max_redirects,
            insecure,
            cacert,
            proxy,
        ),
        output=OutputConfig(
            format=chosen_format,
            # The table is drawn after the run in input order whatever --order says.
            order=Order.INPUT if chosen_format is Format.TABLE else order,
            snippet=snippet,
            include_headers=include_headers,
            separator=config.parse_separator(separator),
            save_dir=save,
            records=records,
            max_size=_required("--max-size", config.parse_size, max_size),
            progress=streams.stderr_isatty if progress is None else progress,
            quiet=quiet,
            verbose=verbose,
            fail_on=fail_on,
        ),
    )
    from fetchcli import runner  # here, so that --help and --version stay fast

    summary = runner.run(settings, streams, transport=ctx.obj.transport)
    return exit_code(summary, fail_on)


def _parsed(option: str, parse: Callable[[str], T], text: str | None) -> T | None:
    return None if text is None else _required(option, parse, text)


def _required(option: str, parse: Callable[[str], T], text: str) -> T:
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError(f"invalid value for {option}: {exc}") from None


def _timeout(specific: float | None, default: float) -> float | None:
    """0 means no timeout at all, as httpx's None."""
    seconds = default if specific is None else specific
    return seconds or None


def _request_config(  # noqa: PLR0913 - the Request panel, flag for flag
    method: str | None,
    headers: list[str],
    data: str | None,
    user_agent: str | None,
    user: str | None,
    follow: bool,
    max_redirects: int,
    insecure: bool,
    cacert: Path | None,
    proxy: str | None,
) -> RequestConfig:
    body = _read_data(data)
    if cacert is not None:
        _check_readable(cacert)
    if proxy is not None and url_problem(proxy) is not None:
        raise UsageError(f"invalid value for --proxy: {url_problem(proxy)}")
    return RequestConfig(
        method=(method or ("POST" if body is not None else "GET")).upper(),
        headers=tuple(_required("-H", config.parse_header, h) for h in headers),
        data=body,
        user_agent=user_agent,
        user=_parsed("--user", config.parse_user, user),
        follow=follow,
        max_redirects=max_redirects,
        insecure=insecure,
        cacert=cacert,
        proxy=proxy,
    )


def _read_data(data: str | None) -> bytes | None:
    if data is None or not data.startswith("@"):
        return None if data is None else data.encode()
    path = Path(data[1:])
    _check_readable(path)
    return path.read_bytes()


def _check_readable(path: Path) -> None:
    try:
        check_readable([str(path)])
    except OSError as exc:
        raise UsageError(f"cannot read '{path}': {exc.strerror or exc}") from None


def exit_code(summary: Summary, fail_on: FailOn) -> ExitCode:
    """The exit status of a finished run, from how it ended and --fail-on."""
    if summary.signal is not None:
        return ExitCode.SIGTERM if summary.signal == signal.SIGTERM else ExitCode.SIGINT
    if summary.stdout_closed:
        return ExitCode.OK
    if fail_on is FailOn.ANY and summary.failed:
        return ExitCode.FAILED
    if fail_on is FailOn.ERROR and summary.errors:
        return ExitCode.FAILED
    return ExitCode.OK


@dataclass(frozen=True, slots=True)
class _Invocation:
    streams: Streams
    transport: object | None


def main(
    argv: list[str] | None = None,
    streams: Streams | None = None,
    *,
    transport: object | None = None,
) -> int:
    """Run fetchcli; return the exit status. Tests pass argv, fake streams and a transport."""
    real = streams is None
    streams = streams or Streams.from_sys()
    command = typer.main.get_command(app)
    try:
        status = command.main(
            args=argv,
            prog_name="fetchcli",
            standalone_mode=False,
            obj=_Invocation(streams, transport),
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return ExitCode.SIGINT
    except typer.exceptions.TyperException as exc:  # click's usage errors, as typer vendors them
        return _usage_error(streams, getattr(exc, "format_message", exc.__str__)())
    except UsageError as exc:
        return _usage_error(streams, str(exc))
    if real and status == ExitCode.OK:
        _quiet_closed_stdout()
    return int(status) if isinstance(status, int) else ExitCode.OK


def _usage_error(streams: Streams, message: str) -> int:
    first_line = " ".join(message.split())
    streams.stderr.write(f"fetchcli: error: {first_line}\n")
    streams.stderr.flush()
    return ExitCode.USAGE


def _quiet_closed_stdout() -> None:
    """After the reader of stdout left, point stdout at /dev/null so that the interpreter's
    final flush does not print a BrokenPipeError."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
