"""The command: flags -> one frozen Config (settings/build.py parses and checks them), then
`runner.run`, then an exit code.

Every user mistake becomes one line, `fetchcli: error: ...`, and exit status 2; nothing below
this layer sees a raw flag. The options themselves are data, in settings/spec.py; cli/options.py
turns them into the command's parameters.
"""

from __future__ import annotations

import difflib
import gc
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import typer

from fetchcli.cli.options import COMPLETE_VAR, enable_completion, with_parameters
from fetchcli.errors import ExitCode, UsageError, cannot_read
from fetchcli.settings.build import OptionError, config_from
from fetchcli.settings.layers import (
    LAYER_FLAGS,
    ConfigError,
    Layered,
    config_toml,
    layered,
    unset,
)
from fetchcli.settings.model import Config, FailOn, Format, MaxFailures
from fetchcli.streams import Streams

if TYPE_CHECKING:
    from fetchcli.models import Summary

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": []},  # -h/--help is ours: cli/help.py
    pretty_exceptions_enable=False,
)
_NOT_OPTIONS = (
    "sources", "version", "help", "list_fields", "show_completion", "install_completion",
    *LAYER_FLAGS,
)  # fmt: skip


@app.command()
@with_parameters
def fetch(ctx: typer.Context, **params: Any) -> int:
    """Fetch many URLs concurrently and report each one as a table row, JSON line or CSV row."""
    invocation: _Invocation = ctx.obj
    if ctx.params["print_config"]:
        invocation.streams.stdout.write(print_config(ctx.params, invocation.streams).encode())
        return ExitCode.OK
    settings = build_config(ctx.params, invocation.streams)
    from fetchcli import runner  # here, so that --help and --version stay fast

    if invocation.collect:  # off while the command started (cli/__init__.py): on for the run
        gc.freeze()  # what starting made lives as long as the process (as engine.run says)
        gc.enable()
    summary = runner.run(settings, invocation.streams, transport=invocation.transport)
    return exit_code(summary, settings.output.fail_on, settings.run.max_failures)


def build_config(params: dict[str, Any], streams: Streams) -> Config:
    """The Config from the command's parameters (named as settings/spec.py names options), with the
    defaults that depend on the terminal decided from `streams`."""
    sources = params["sources"] or []
    if not sources and not params["merge"]:  # --merge: build.py says what it needs instead
        if streams.stdin_isatty:
            raise UsageError("no SOURCE given and stdin is a terminal (try: fetchcli URL or FILE)")
        sources = ["-"]
    found = _layered(params, streams)
    options = found.options
    if options["format"] is None:
        options["format"] = Format.TABLE if streams.stdout_isatty else Format.JSONL
    if options["progress"] is None:
        options["progress"] = progress_by_default(streams)
    options["data"] = _read_data(options["data"])
    try:
        return config_from(sources, options)
    except OptionError as exc:  # a value from the file or a variable: say which
        where = found.sources.get(exc.option)
        raise UsageError(f"{where}: {exc}" if where else str(exc)) from None


def _layered(params: dict[str, Any], streams: Streams) -> Layered:
    """The flags, then FETCHCLI_* variables, then the config file's profile and [default]."""
    given = {name: value for name, value in params.items() if name not in _NOT_OPTIONS}
    config = params["config"]
    try:
        found = layered(
            given,
            os.environ,
            config=None if config is None else Path(config),
            use_file=not params["no_config"],
            profile=params["profile"],
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    for warning in found.warnings:
        streams.stderr.write(f"fetchcli: warning: {warning}\n")
    return found


def print_config(params: dict[str, Any], streams: Streams) -> str:
    """--print-config: every option set by a flag, a variable or the file, as TOML, with
    where it came from; secrets masked."""
    found = _layered(params, streams)
    return config_toml(found, {name for name in found.options if not unset(params.get(name))})


def progress_by_default(streams: Streams) -> bool:
    """Progress only where no other program's output can interleave with it: stderr is a
    terminal, and stdout is that same terminal (records pause the line) or reaches no screen.
    Stdout to a pipe (`| jq`) or another terminal: the reader's lines would cross it."""
    return streams.stderr_isatty and (streams.same_terminal or streams.stdout_to_file)


def _read_data(data: str | None) -> bytes | None:
    """-d TEXT, or the bytes of FILE for -d @FILE."""
    if data is None or not data.startswith("@"):
        return None if data is None else data.encode()
    try:
        with open(data[1:], "rb") as body:
            return body.read()
    except OSError as exc:
        raise cannot_read(data[1:], exc, "--data") from None


def exit_code(
    summary: Summary, fail_on: FailOn, max_failures: MaxFailures | None = None
) -> ExitCode:
    """The exit status of a finished run, from how it ended, --fail-on and --max-failures."""
    if summary.signal is not None:
        return ExitCode.SIGTERM if summary.signal == signal.SIGTERM else ExitCode.SIGINT
    if summary.stdout_closed or fail_on is FailOn.NEVER:
        return ExitCode.OK
    failed = summary.failed if fail_on is FailOn.ANY else summary.errors
    if (max_failures or MaxFailures()).exceeded(failed, summary.total):
        return ExitCode.FAILED
    return ExitCode.OK


class _Invocation(NamedTuple):
    """What the command hands its callback beside the parameters."""

    streams: Streams
    transport: Any  # an httpx transport from a test; this layer does not know httpx
    collect: bool  # the cyclic GC is to run during the run (the caller had it on)


def main(
    argv: list[str] | None = None,
    streams: Streams | None = None,
    *,
    transport: Any = None,
    collect: bool = True,
) -> int:
    """Run fetchcli; return the exit status. Tests pass argv, fake streams and a transport."""
    real = streams is None
    streams = streams or Streams.from_sys()
    if COMPLETE_VAR in os.environ:  # the shell asks for completions: no run
        enable_completion()
    command = typer.main.get_command(app)
    try:
        status = command.main(
            args=argv,
            prog_name="fetchcli",
            standalone_mode=False,
            obj=_Invocation(streams, transport, collect),
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return ExitCode.SIGINT
    except typer.exceptions.TyperException as exc:  # click's usage errors, as typer vendors them
        return _usage_error(streams, _click_message(exc, command))
    except UsageError as exc:
        return _usage_error(streams, str(exc))
    if real and status == ExitCode.OK:
        _quiet_closed_stdout()
    return int(status) if isinstance(status, int) else ExitCode.OK


def _click_message(exc: Exception, command: Any) -> str:
    """A click usage error in fetchcli's one style: `<option>: <what is wrong>`."""
    option_name = getattr(exc, "option_name", None)
    if type(exc).__name__ == "NoSuchOption" and option_name:
        names = [name for p in command.params for name in (*p.opts, *p.secondary_opts)]
        close = difflib.get_close_matches(option_name, names, n=1, cutoff=0.8)
        return f"{option_name}: no such option" + (f" (did you mean {close[0]}?)" if close else "")
    if option_name:  # an option given without its value
        return f"{option_name}: needs a value"
    param = getattr(exc, "param", None)
    message = str(getattr(exc, "message", exc))
    if param is None:
        return message
    name = max(param.opts, key=len) if param.opts else param.name
    if getattr(exc, "param_type", None) == "option" or "requires an argument" in message:
        return f"{name}: needs a value"
    message = message.rstrip(".")
    for plain, words in _PLAIN.items():
        if message.endswith(plain):
            return f"{name}: {words}"
    return f"{name}: {message}"


# click's wording for a value of the wrong type (`'many' is not a valid int`), and ours.
_PLAIN = {
    "is not a valid int": "must be a whole number",
    "is not a valid integer": "must be a whole number",
    "is not a valid float": "must be a number",
    "is not a valid boolean": "must be true or false",
}


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
