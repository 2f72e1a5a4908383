"""`--help` reads at 80 columns: groups kept, no word broken, no type noise, examples last."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from fetchcli.cli.app import app
from fetchcli.settings.spec import INPUT, OUTPUT, POOL, REQUEST, RETRIES, TIMEOUTS


def _help(columns: int) -> str:
    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run(
        [sys.executable, "-m", "fetchcli", "--help"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and done.stderr == ""
    return done.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_help_fits_the_width_and_keeps_the_groups(columns: int) -> None:
    """Every line fits; the contract's option groups appear in order; examples come last."""
    text = _help(columns)
    assert max(len(line) for line in text.splitlines()) <= columns
    titles = [INPUT, POOL, TIMEOUTS, RETRIES, REQUEST, OUTPUT, "Examples"]
    positions = [text.index(f"\n{title}\n") for title in titles]
    assert positions == sorted(positions)
    assert "fetchcli - < urls.txt | jq" in text.split("\nExamples\n")[1]


def test_help_has_no_type_noise_and_no_broken_words() -> None:
    """No `<bool>`/`<int>`/range annotations; every word of every option's help is whole."""
    text = _help(80)
    for noise in ("<bool>", "<int", "<list", "[x>=", "[default: ("):
        assert noise not in text
    words = set(text.split())
    for param in typer.main.get_command(app).params:
        for word in (param.help or "").split():
            assert word in words, f"{word!r} of {param.name} is broken or missing"


def test_columns_sets_the_table_width_when_piped(tmp_path) -> None:
    """With stdout not a terminal, COLUMNS sets the table's width (here 72, not 120)."""
    url = "http://127.0.0.1:9/" + "/".join(f"segment{n}" for n in range(12)) + "?query=last"
    env = {**os.environ, "COLUMNS": "72"}
    done = subprocess.run(
        [sys.executable, "-m", "fetchcli", "-f", "table", "-t", "1", url],
        capture_output=True,
        text=True,
        env=env,
    )
    table = done.stdout.splitlines()
    assert len(table) == 5 and max(len(line) for line in table) <= 72
    assert "127.0.0.1:9/…" in table[3] and "?query=last │" in table[3]  # cut in its middle
    assert "connection refused" in table[3]
