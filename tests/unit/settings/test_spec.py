"""The option table is the one definition: Config, the command line, --help and the API agree."""

from __future__ import annotations

import dataclasses

import pytest
import typer

import fetchcli
from fetchcli.cli.app import app
from fetchcli.settings.build import SECTIONS, OptionError, config_from, flag
from fetchcli.settings.spec import BY_NAME, GROUPS, OPTIONS

# Options that set another's value rather than a Config field of their own.
_SHORTHANDS = {"timeout", "shard_base"}


def test_every_config_field_is_one_option_and_nothing_else() -> None:
    fields = [field.name for section in SECTIONS for field in dataclasses.fields(section)]
    names = [option.name for option in OPTIONS]
    assert len(names) == len(set(names))
    assert set(names) == set(fields) | _SHORTHANDS


def test_the_command_takes_each_option_under_its_flags_and_group() -> None:
    command = typer.main.get_command(app)
    params = {param.name: param for param in command.params}
    for option in OPTIONS:
        param = params[option.name]
        assert flag(option.name) in (*param.opts, *param.secondary_opts)
        assert getattr(param, "rich_help_panel", None) == option.group in GROUPS
        assert param.default is None  # "not given": settings/build.py alone decides defaults


def test_a_value_is_checked_the_same_from_the_api_and_the_command_line() -> None:
    with pytest.raises(OptionError, match="--per-host: must be at least 1, got 0"):
        config_from(["u.txt"], {"per_host": 0})
    with pytest.raises(OptionError, match="--max-size: not a size"):
        config_from(["u.txt"], {"max_size": "lots"})
    with pytest.raises(ValueError, match="per_host: must be at least 1, got 0"):
        list(fetchcli.fetch(["http://127.0.0.1:9/"], per_host=0))


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.api is not None], ids=lambda o: o.name)
def test_the_api_refuses_command_line_only_options_saying_why(option) -> None:
    with pytest.raises(ValueError, match=f"{option.name}: not an option of fetchcli.fetch"):
        list(fetchcli.fetch([], **{option.name: None}))


def test_messages_name_repeatable_options_by_the_flag_people_write() -> None:
    assert BY_NAME["headers"].flag == "-H"
    assert BY_NAME["metrics_labels"].flag == "--metrics-label"
    assert BY_NAME["follow"].flag == "--follow"
    assert BY_NAME["concurrency"].flag == "--concurrency"
