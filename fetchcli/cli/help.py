"""`fetchcli --help`: the options grouped as the contract groups them, wrapped at word breaks to
the terminal's width (80 columns included), with no type annotations, and a few examples.

Drawn from the command's own parameters, so it cannot drift from what the command accepts.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

SUMMARY = "Fetch many URLs at once and report each: a table, JSON lines, CSV, or the bodies."
EXAMPLES = (
    ("At a terminal, a table:", "fetchcli https://example.com/ https://www.python.org/"),
    ("A list, as JSON lines:", "fetchcli urls.txt -c 50 -t 5 > results.jsonl"),
    ("In a pipeline, with jq:", "fetchcli - < urls.txt | jq -r 'select(.status != 200) | .url'"),
    (
        "From cron, with a log the next run resumes from:",
        "fetchcli urls.txt -q --records log.jsonl --skip-done log.jsonl >/dev/null",
    ),
)
_INDENT = 2
_MAX_WIDTH = 100  # wider help is harder to read, whatever the terminal
_LEFT_MAX = 34  # options with longer names put their help on the next line


# Typer vendors its own click (typer._click): its parameters are read by their attributes.
Param = Any


def render_help(command: Any, width: int, defaults: Mapping[str, str] | None = None) -> str:
    """The whole help text, every line at most `width` columns; `defaults` are the options'
    defaults as the config file and the environment make them, with where from."""
    width = max(40, min(width, _MAX_WIDTH))
    lines = ["Usage: fetchcli [OPTIONS] [SOURCE]...", "", *_wrap(SUMMARY, width, 0)]
    lines += ["", *_wrap(_sources_help(command), width, 0)]
    options = [p for p in command.params if p.param_type_name == "option" and p.help]
    left = min(max(len(_names(o)) for o in options) + _INDENT + 2, _LEFT_MAX, width // 2)
    for panel in _panels(options):
        lines += ["", panel]
        lines += _options(panel, options, width, left, defaults or {})
    lines += ["", "Examples"]
    for title, example in EXAMPLES:
        lines += [*_wrap(title, width, _INDENT), *_wrap_command(example, width)]
    return "\n".join(lines) + "\n"


def _sources_help(command: Any) -> str:
    argument = next(p for p in command.params if p.param_type_name == "argument")
    return f"SOURCE: {getattr(argument, 'help', '')}"


def _panels(options: list[Param]) -> list[str]:
    panels: dict[str, None] = {}
    for option in options:
        panels[_panel(option)] = None
    return list(panels)


def _panel(option: Param) -> str:
    return getattr(option, "rich_help_panel", None) or "Other"


def _options(
    panel: str, options: list[Param], width: int, left: int, defaults: Mapping[str, str]
) -> Iterator[str]:
    """Each option of the panel: its names in a left column, its help wrapped beside them."""
    entries = [(_names(o), _description(o, defaults)) for o in options if _panel(o) == panel]
    for names, description in entries:
        head = " " * _INDENT + names
        if len(head) + 2 > left or width - left < 24:  # the names alone fill the line
            yield head
            yield from _wrap(description, width, left)
            continue
        body = _wrap(description, width, left)
        yield head.ljust(left) + body[0][left:]
        yield from body[1:]


def _names(option: Param) -> str:
    """`-c, --concurrency N`, `--follow / --no-follow`, `--dedupe`."""
    shorts = [o for o in option.opts if not o.startswith("--")]
    longs = [o for o in option.opts if o.startswith("--")]
    names = ", ".join(shorts + longs) if shorts else "    " + ", ".join(longs)
    if option.secondary_opts:
        names += " / " + ", ".join(option.secondary_opts)
    if not option.is_flag:
        names += f" {option.metavar}"  # each option's, from settings/spec.py
    return names


def _description(option: Param, defaults: Mapping[str, str]) -> str:
    text = option.help or ""
    default = option.show_default
    if option.name in defaults:  # the file's or a variable's, in place of the built-in one
        text = re.sub(r"\s*\(default: [^)]*\)", "", text)
        text = f"{text} (default: {defaults[option.name]})".strip()
    elif isinstance(default, str) and default:
        text += f" (default: {default})"
    return text


def _wrap(text: str, width: int, indent: int) -> list[str]:
    """Words never broken: a word longer than the line goes on a line of its own."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=" " * indent,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [" " * indent]


def _wrap_command(command: str, width: int) -> list[str]:
    """An example command, continued with a backslash where it must wrap."""
    indent = " " * (2 * _INDENT)
    lines = textwrap.wrap(
        command,
        width - 2,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line + " \\" for line in lines[:-1]] + lines[-1:]
