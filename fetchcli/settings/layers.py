"""Where an option's value comes from when no flag gives it: a `FETCHCLI_<OPTION>` variable,
then the config file's `[profile.NAME]`, then its `[default]` (then the built-in default, which
settings/build.py knows). Every value is checked by the same Option entry (settings/spec.py)
that parses the flag; a file or a variable that is wrong stops the run with one line naming
the file, its line and the key, or the variable.

The file is `$XDG_CONFIG_HOME/fetchcli/config.toml` (`~/.config/...` without it), TOML read by
the standard library's tomllib, imported only when there is a file.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from fetchcli.settings.spec import BY_NAME, Option
from fetchcli.slots import frozen

ENV_PREFIX = "FETCHCLI_"
LAYER_FLAGS = ("config", "no_config", "profile", "print_config")  # the command line's own
# Options about one run's inputs and mode, which a file or the environment must not set.
NOT_IN_FILE = {
    "merge": "says what the SOURCEs are: give it on the command line",
    "dry_run": "a dry run is asked for on the command line",
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A config file or variable that is wrong; the message says where."""


@frozen
class Layered:
    """The options after the layers, and where each value that is no flag's came from."""

    options: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)  # name -> `FETCHCLI_X`, `file:line`
    warnings: tuple[str, ...] = ()


def unset(value: Any) -> bool:
    """No flag gave it: None, or an empty list for a repeatable option."""
    return value is None or (isinstance(value, list | tuple) and not value)


def default_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fetchcli" / "config.toml"


def layered(
    given: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    config: Path | None = None,
    use_file: bool = True,
    profile: str | None = None,
) -> Layered:
    """`given` (the flags: None where not given) with the environment's, the profile's and
    the file's defaults filled in, in that order."""
    options = dict(given)
    sources: dict[str, str] = {}
    for name, (value, variable) in _from_environ(environ).items():
        if unset(options.get(name)):
            options[name], sources[name] = value, variable
    path = config or default_path(environ)
    if not use_file or (config is None and not path.exists()):
        if profile is not None:
            raise ConfigError(f"--profile {profile}: no config file ({path})")
        return Layered(options, sources)
    text, tables = _read(path)
    chosen = [("default", tables.get("default", {}))]
    if profile is not None:
        profiles = tables.get("profile", {})
        if profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"--profile {profile}: not in {path} (its profiles: {known})")
        chosen.insert(0, (f"profile.{profile}", profiles[profile]))
    for table_name, table in chosen:
        for key, value in table.items():
            where = f"{path}:{_line_of(text, table_name, key)}"
            name = _checked_key(key, where)
            if unset(options.get(name)):
                options[name], sources[name] = _typed(BY_NAME[name], value, where), where
    return Layered(options, sources, _warnings(path, tables))


def env_names() -> dict[str, str]:
    """`FETCHCLI_<NAME>` -> option: NAME is the option's name or its long flag's, upper case
    (`FETCHCLI_HEADERS` and `FETCHCLI_HEADER`, `FETCHCLI_RESUME` and `FETCHCLI_CONTINUE`)."""
    names = {}
    for option in BY_NAME.values():
        longs = [flag.split("/")[0] for flag in option.flags if flag.startswith("--")]
        for name in (option.name, *(flag[2:].replace("-", "_") for flag in longs)):
            names[ENV_PREFIX + name.upper()] = option.name
    return names


def _from_environ(environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """Option -> (value, the variable that gave it)."""
    found = {}
    known = env_names()
    for variable, text in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        name = known.get(variable)
        if name is None:
            raise ConfigError(f"{variable}: no such option (FETCHCLI_ and a long flag's name)")
        if name in NOT_IN_FILE:
            raise ConfigError(f"{variable}: not from the environment: {NOT_IN_FILE[name]}")
        found[name] = _from_text(BY_NAME[name], text, variable), variable
    return found


def _from_text(option: Option, text: str, where: str) -> Any:
    """A variable's text as the flag's value would be (a repeatable option takes one)."""
    try:
        if option.kind is bool:
            word = text.strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(f"must be true or false, got {text!r}")
            return word in _TRUE
        if option.kind is int:
            return int(text)
        if option.kind is float:
            return float(text)
    except ValueError as exc:
        problem = str(exc) if "must be" in str(exc) else f"not a {option.kind.__name__}: {text!r}"
        raise ConfigError(f"{where}: {problem}") from None
    return [text] if option.repeatable else text


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    import tomllib  # only when there is a file

    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"cannot read config '{path}': {reason or exc}") from None
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML: {exc}") from None
    for name, table in tables.items():
        if name not in ("default", "profile") or not isinstance(table, dict):
            line = _line_of(text, "", name)
            raise ConfigError(
                f"{path}:{line}: [{name}]: a config file has [default] and [profile.NAME] tables"
            )
    for name, table in tables.get("profile", {}).items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: profile.{name}: a table of options, as [profile.{name}]")
    return text, tables


def _checked_key(key: str, where: str) -> str:
    if key not in BY_NAME:
        raise ConfigError(f"{where}: {key}: no such option (the long flags, in snake_case)")
    if key in NOT_IN_FILE:
        raise ConfigError(f"{where}: {key}: not in a config file: {NOT_IN_FILE[key]}")
    return key


def _typed(option: Option, value: Any, where: str) -> Any:
    """A TOML value of the kind the flag takes (a list for a repeatable option)."""
    expected = {bool: bool, int: int, float: (int, float)}.get(option.kind, str)
    values = value if option.repeatable and isinstance(value, list) else [value]
    for item in values:
        wrong_bool = isinstance(item, bool) and option.kind is not bool
        if wrong_bool or not isinstance(item, expected):  # type: ignore[arg-type]
            kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(
                option.kind, "a string"
            )
            raise ConfigError(f"{where}: {option.name}: must be {kind}, got {item!r}")
    return list(values) if option.repeatable else value


def _line_of(text: str, table: str, key: str) -> int:
    """The line of `key` in `[table]` (or of the table itself), for messages."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header[1].replace('"', "").replace(" ", "")
            if not table and current.split(".")[0] == key:
                return number
            continue
        if current == table and re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return 0


def _warnings(path: Path, tables: Mapping[str, Any]) -> tuple[str, ...]:
    """As ssh does for keys: credentials in a file others may read."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return ()
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return ()
    every = [tables.get("default", {}), *tables.get("profile", {}).values()]
    secret = any(
        "user" in table
        or any(str(item).lower().startswith("authorization:") for item in table.get("headers", []))
        for table in every
    )
    if not secret:
        return ()
    return (f"{path} holds credentials and others may read it (chmod 600 '{path}')",)


def config_toml(found: Layered, from_flags: set[str]) -> str:
    """The options some layer set, as a [default] table that a config file could hold, each
    with where it came from; passwords and Authorization values masked."""
    lines = [
        "# fetchcli --print-config: the options as set (every other one: its built-in",
        "# default, as --help shows it)",
        "[default]",
    ]
    for name in BY_NAME:
        value = found.options.get(name)
        where = "a flag" if name in from_flags else found.sources.get(name, "")
        if not where:
            continue
        lines.append(f"{name} = {_toml_value(_masked(name, value))}  # {where}")
    return "\n".join(lines) + "\n"


def _masked(name: str, value: Any) -> Any:
    if name == "user" and isinstance(value, str):
        return value.split(":", 1)[0] + ":****"
    if name == "headers":
        items = [value] if isinstance(value, str) else list(value)
        return [
            f"{item.split(':', 1)[0]}: ****"
            if str(item).lower().startswith(("authorization:", "proxy-authorization:"))
            else item
            for item in map(str, items)
        ]
    if name == "proxy" and isinstance(value, str):
        return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1****@", value)
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    import json  # --print-config's: --help, which shows values too, needs none

    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string is a JSON string


def shown_value(value: Any) -> str:
    """A layered value as --help shows a default: `50`, `ops-bot/1.0`, `X-A: 1; X-B: 2`."""
    if isinstance(value, list | tuple):
        return "; ".join(map(str, value))
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
