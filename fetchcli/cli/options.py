"""The command's parameters, built from the option table (settings/spec.py): one typer option
per entry, in its order and help panel, plus the SOURCE argument, -h/--help and --version.

Every option defaults to None, "not given", so that settings/build.py alone decides defaults,
and the values reach it by name exactly as a Python caller's keywords do.
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Callable
from typing import Annotated, Any

import typer

from fetchcli._version import __version__
from fetchcli.cli.help import render_help
from fetchcli.settings.build import shown_default
from fetchcli.settings.layers import ConfigError, layered, shown_value
from fetchcli.settings.spec import OPTIONS, Option


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fetchcli {__version__}")
        raise typer.Exit()


COMPLETE_VAR = "_FETCHCLI_COMPLETE"  # what the shell's completion function sets
SHELLS = ("bash", "zsh", "fish")


def enable_completion() -> None:
    """Typer's completion classes for bash, zsh and fish, registered only when a shell asks
    (typer's own `add_completion` would also add its options to every run's parser)."""
    from typer._completion_classes import completion_init

    completion_init()


def _shell(value: str) -> str:
    if value not in SHELLS:
        raise typer.BadParameter(f"one of {', '.join(SHELLS)}, got {value!r}")
    return value


def _show_completion(value: str | None) -> None:
    if value:
        value = _shell(value)
        from typer._completion_shared import get_completion_script

        enable_completion()
        typer.echo(
            get_completion_script(prog_name="fetchcli", complete_var=COMPLETE_VAR, shell=value)
        )
        raise typer.Exit()


def _install_completion(value: str | None) -> None:
    if value:
        value = _shell(value)
        from typer._completion_shared import install

        enable_completion()
        shell, path = install(shell=value, prog_name="fetchcli", complete_var=COMPLETE_VAR)
        typer.echo(f"{shell} completion installed in {path}; it works in new shells")
        raise typer.Exit()


def _list_fields(value: bool) -> None:
    if value:
        from fetchcli.judging.fields import field_list

        typer.echo(field_list(), nl=False)
        raise typer.Exit()


def layered_defaults() -> dict[str, str]:
    """The defaults the usual config file and FETCHCLI_* variables set, as --help shows them
    (`50, from ~/.config/fetchcli/config.toml:2`); none when they are wrong (the run says why)."""
    try:
        found = layered({}, os.environ)
    except ConfigError:
        return {}
    return {
        name: f"{shown_value(value)}, from {found.sources[name]}"
        for name, value in found.options.items()
        if name in found.sources
    }


def _help(ctx: typer.Context, value: bool) -> None:
    if value:
        width = shutil.get_terminal_size(fallback=(80, 24)).columns  # COLUMNS first
        typer.echo(render_help(ctx.command, width, layered_defaults()), nl=False)
        raise typer.Exit()


_SOURCES = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="SOURCE",
        help="URLs, files with one URL per line, or - for stdin (read when piped).",
        show_default=False,
    ),
]
_LAYERS = {  # where options come from besides the flags (settings/layers.py)
    "config": typer.Option(
        "--config", metavar="FILE", help="Read defaults from FILE, not the usual config.toml.",
        rich_help_panel="Configuration",
    ),
    "no_config": typer.Option(
        "--no-config", help="Read no config file (FETCHCLI_* variables still count).",
        rich_help_panel="Configuration",
    ),
    "profile": typer.Option(
        "--profile", metavar="NAME", help="Use [profile.NAME] of the config file over its "
        "[default].", rich_help_panel="Configuration",
    ),
    "print_config": typer.Option(
        "--print-config", help="Print the options as they are after the config file and the "
        "environment, as TOML with where each came from, and exit.",
        rich_help_panel="Configuration",
    ),
}  # fmt: skip
_EAGER = {
    "version": typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    "list_fields": typer.Option(
        "--list-fields",
        callback=_list_fields,
        is_eager=True,
        help="Show what --check and --where expressions can use, and exit.",
    ),
    "show_completion": typer.Option(
        "--show-completion",
        callback=_show_completion,
        is_eager=True,
        metavar="SHELL",
        help="Print the completion script for SHELL (bash, zsh, fish), and exit.",
    ),
    "install_completion": typer.Option(
        "--install-completion",
        callback=_install_completion,
        is_eager=True,
        metavar="SHELL",
        help="Install completion for SHELL (bash, zsh, fish) in its startup file, and exit.",
    ),
    "help": typer.Option(
        "-h", "--help", callback=_help, is_eager=True, help="Show this help and exit."
    ),
}


def _parameter(option: Option) -> inspect.Parameter:
    """`name: kind | None = typer.Option(None, ...)`: a flag on its own names it (a bool option
    is not negatable unless its entry says `--a/--no-a`). The OptionInfo is the default rather
    than in `Annotated[...]`, which typing builds at some 60 µs each: 4 ms of every start."""
    kind: Any = list[option.kind] if option.repeatable else option.kind  # type: ignore[name-defined]
    info = typer.Option(
        None,
        *(option.flags or ("--" + option.name.replace("_", "-"),)),
        help=option.help,
        metavar=None if option.kind is bool else option.shown_metavar,
        show_default=shown_default(option.name) or False,
        rich_help_panel=option.group,
    )
    return _keyword(option.name, kind | None, info)


def _keyword(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _eager(name: str, info: Any) -> inspect.Parameter:
    """A flag (`--version`), or a SHELL for the completion options."""
    if "completion" in name:
        return _keyword(name, Annotated[str | None, info], None)
    return _keyword(name, Annotated[bool, info], False)


def with_parameters(command: Callable[..., int]) -> Callable[..., int]:
    """`command(ctx, **params)` given the signature typer reads its parameters from."""
    parameters = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        _keyword("sources", _SOURCES),
        *(_parameter(option) for option in OPTIONS),
        _keyword("config", Annotated[str | None, _LAYERS["config"]]),
        _keyword("no_config", Annotated[bool, _LAYERS["no_config"]], False),
        _keyword("profile", Annotated[str | None, _LAYERS["profile"]]),
        _keyword("print_config", Annotated[bool, _LAYERS["print_config"]], False),
        *(_eager(name, info) for name, info in _EAGER.items()),
    ]
    # The signature's annotations are objects, not strings: typer reads them there, and its
    # get_type_hints() pass over the function's own three (twice a start) costs nothing.
    command.__signature__ = inspect.Signature(parameters, return_annotation=int)  # type: ignore[attr-defined]
    return command
