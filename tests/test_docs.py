"""The README documents every option --help shows, and the sample list is realistic."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from fetchcli.cli.app import app
from fetchcli.models import RECORD_FIELDS, ErrorKind

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
OPTIONS = [p for p in typer.main.get_command(app).params if p.param_type_name == "option"]


@pytest.mark.parametrize("option", OPTIONS, ids=lambda p: p.name or "")
def test_every_option_has_help_and_is_in_the_readme(option) -> None:
    """Each flag of --help has a help text and is documented in README.md."""
    assert option.help, f"{option.opts} has no help text"
    for name in option.opts + option.secondary_opts:
        assert f"`{name}" in README or f" {name}" in README, f"{name} missing from README.md"


def test_readme_lists_every_record_field_and_error_kind() -> None:
    """The records and error kinds tables cover the contract."""
    for field in RECORD_FIELDS:
        assert f"`{field}`" in README
    for kind in ErrorKind:
        assert f"`{kind}`" in README


def test_readme_opens_with_the_two_commands() -> None:
    """The install-and-run command and the test command come first, and CI runs the latter."""
    assert "pip install . && fetchcli urls.sample.txt" in README
    test_command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert test_command in README
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_sample_list_has_every_kind_of_line() -> None:
    """urls.sample.txt shows comments, a blank line, a scheme-less line and an invalid one."""
    lines = (ROOT / "urls.sample.txt").read_text().splitlines()
    assert any(line.startswith("#") for line in lines)
    assert "" in lines
    assert any(line and not line.startswith("#") and "://" not in line for line in lines)
    assert any(line.startswith("ftp://") for line in lines)
