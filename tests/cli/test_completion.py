"""Shell completion through Typer's own: the scripts for bash, zsh and fish, and what the
completion protocol answers for flags, enum values and file names."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import FETCHCLI, TIMEOUT, subprocess_env


def _script(shell: str) -> str:
    done = subprocess.run(
        [*FETCHCLI, "--show-completion", shell], capture_output=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def _bash_complete(words: str) -> list[str]:
    env = {**subprocess_env(), "_FETCHCLI_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1)}  # fmt: skip
    done = subprocess.run([*FETCHCLI], capture_output=True, env=env, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().split()


def test_the_bash_script_registers_a_completion_for_fetchcli(tmp_path: Path) -> None:
    script = tmp_path / "fetchcli.bash"
    script.write_text(_script("bash").replace("$1", "fetchcli"))
    done = subprocess.run(
        ["bash", "-c", f"source {script} && complete -p fetchcli"],
        capture_output=True,
        timeout=TIMEOUT,
    )
    # -o default: where fetchcli offers nothing (a SOURCE), bash completes file names.
    assert done.stdout.decode().strip() == "complete -o default -F _fetchcli_completion fetchcli"


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("fetchcli --form", ["--format"]),
        ("fetchcli --format ", ["table", "jsonl", "csv", "body"]),
        ("fetchcli --order ", ["input", "completion"]),
        ("fetchcli --fail-on ", ["any", "error", "never"]),
        ("fetchcli --transport c", ["curl"]),
        ("fetchcli --input-format ", ["auto", "lines", "jsonl", "csv"]),
    ],
)
def test_flags_and_their_values_complete(words: str, offered: list[str]) -> None:
    assert _bash_complete(words) == offered


@pytest.mark.parametrize(("shell", "mark"), [("zsh", "#compdef fetchcli"), ("fish", "complete")])
def test_zsh_and_fish_scripts(shell: str, mark: str) -> None:
    script = _script(shell)
    assert mark in script and "_FETCHCLI_COMPLETE" in script
    if shutil.which(shell):  # and where the shell is installed, it must read it
        done = subprocess.run([shell, "-c", script], capture_output=True, timeout=TIMEOUT)
        assert done.returncode == 0, done.stderr


def test_an_unknown_shell_is_a_usage_error() -> None:
    done = subprocess.run(
        [*FETCHCLI, "--show-completion", "tcsh"], capture_output=True, timeout=TIMEOUT
    )
    assert done.returncode == 2
    assert (
        done.stderr.decode()
        == "fetchcli: error: --show-completion: one of bash, zsh, fish, got 'tcsh'\n"
    )
    assert os.environ.get("_FETCHCLI_COMPLETE") is None
