"""The config file and FETCHCLI_* variables in a real run: what the server receives is what the
layers say, flags first; a bad file stops the run before anything is fetched."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.helpers import FETCHCLI, TIMEOUT, records_of
from tests.server import TestServer

CONFIG = """\
[default]
user_agent = "ops-bot/1.0"
headers = ["X-Team: ops"]
snippet = 0

[profile.api]
headers = ["X-Team: api"]
extract = ["agent=json:$.headers['user-agent']", "team=json:$.headers['x-team']"]
"""


def _run(home: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), **environ}
    return subprocess.run([*FETCHCLI, *args], capture_output=True, env=env, timeout=TIMEOUT)


def _home(tmp_path: Path, text: str = CONFIG) -> Path:
    (tmp_path / "fetchcli").mkdir()
    (tmp_path / "fetchcli" / "config.toml").write_text(text)
    return tmp_path


def _sent(done: subprocess.CompletedProcess[bytes]) -> dict[str, object]:
    assert done.returncode == 0, done.stderr
    [record] = records_of(done.stdout)
    return record["extract"]


def test_the_file_the_profile_the_environment_and_the_flags_in_that_order(
    server: TestServer, tmp_path: Path
) -> None:
    home, url = _home(tmp_path), f"{server.url}/echo"
    assert _sent(_run(home, "--profile", "api", url)) == {"agent": "ops-bot/1.0", "team": "api"}
    from_env = _run(home, "--profile", "api", url, FETCHCLI_USER_AGENT="env-bot")
    assert _sent(from_env) == {"agent": "env-bot", "team": "api"}
    flagged = _run(home, "--profile", "api", "-A", "flag-bot", url, FETCHCLI_USER_AGENT="env-bot")
    assert _sent(flagged) == {"agent": "flag-bot", "team": "api"}
    plain = _run(home, "--no-config", "--extract", "t=json:$.headers['x-team']", url)
    assert _sent(plain) == {"t": None}  # no file: no X-Team


def test_a_bad_file_is_one_line_and_nothing_is_fetched(server: TestServer, tmp_path: Path) -> None:
    home = _home(tmp_path, "[default]\nconcurrency = 0\n")
    done = _run(home, f"{server.url}/ok")
    assert done.returncode == 2 and server.stats.requests == 0
    config = home / "fetchcli" / "config.toml"
    assert done.stderr.decode() == (
        f"fetchcli: error: {config}:2: --concurrency: must be at least 1, got 0\n"
    )


def test_print_config_is_toml_with_sources(server: TestServer, tmp_path: Path) -> None:
    home = _home(tmp_path)
    done = _run(home, "--print-config", "-c", "9", FETCHCLI_RETRIES="2")
    assert done.returncode == 0 and server.stats.requests == 0
    text = done.stdout.decode()
    assert "concurrency = 9  # a flag" in text and "retries = 2  # FETCHCLI_RETRIES" in text
    assert 'user_agent = "ops-bot/1.0"  #' in text and "config.toml:2" in text
    assert json.loads(text.split("snippet = ")[1].split()[0]) == 0


def test_help_shows_the_defaults_the_file_and_the_environment_make(tmp_path: Path) -> None:
    home = _home(tmp_path)
    done = _run(home, "--help", FETCHCLI_RETRIES="4", COLUMNS="200")
    text = " ".join(done.stdout.decode().split())  # as wrapped to the width: the words
    config = home / "fetchcli" / "config.toml"
    assert f"(default: ops-bot/1.0, from {config}:2)" in text
    assert "(default: 4, from FETCHCLI_RETRIES)" in text
    assert "(default: fetchcli/" not in text  # the built-in one is replaced, not repeated
