"""Options from the config file and the environment, under the flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from fetchcli.settings.layers import ConfigError, config_toml, layered

FILE = """\
[default]
concurrency = 50
timeout = 5
headers = ["X-Team: ops", "Authorization: Bearer s3cret"]
user = "alice:pw"
follow = false

[profile.slow]
concurrency = 2
rate = "1/s"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(FILE)
    path.chmod(0o600)
    return path


def test_flags_then_environment_then_profile_then_default(config: Path) -> None:
    given = {"concurrency": None, "timeout": 9.0, "retries": None, "rate": None, "headers": []}
    environ = {"FETCHCLI_RETRIES": "3", "FETCHCLI_HEADER": "X-Env: 1"}
    found = layered(given, environ, config=config, profile="slow")
    options = found.options
    assert options["timeout"] == 9.0  # the flag
    assert options["retries"] == 3 and found.sources["retries"] == "FETCHCLI_RETRIES"
    assert options["headers"] == ["X-Env: 1"]  # a repeatable option's variable: one value
    assert options["concurrency"] == 2 and found.sources["concurrency"] == f"{config}:9"
    assert options["rate"] == "1/s" and options["follow"] is False  # [default] under it
    assert not found.warnings


def test_no_file_is_no_defaults_but_a_named_profile_needs_one(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert layered({"concurrency": None}, environ).options == {"concurrency": None}
    with pytest.raises(ConfigError, match="--profile slow: no config file"):
        layered({}, environ, profile="slow")


def test_no_config_reads_no_file_but_still_the_environment(config: Path) -> None:
    found = layered({}, {"FETCHCLI_CONCURRENCY": "7"}, config=config, use_file=False)
    assert found.options == {"concurrency": 7}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[default]\nconcurrency = '50'\n", ":2: concurrency: must be a whole number, got '50'"),
        ("[default]\ndedupe = 1\n", ":2: dedupe: must be true or false, got 1"),
        ("[default]\nheaders = [1]\n", ":2: headers: must be a string, got 1"),
        ("[default]\n\nconcurency = 5\n", ":3: concurency: no such option"),
        ("[default]\nmerge = true\n", ":2: merge: not in a config file"),
        ("[default]\ndry_run = true\n", ":2: dry_run: not in a config file"),
        ("[defaults]\nx = 1\n", ":1: [defaults]: a config file has [default] and [profile.NAME]"),
        ("[default\n", ": not TOML: "),
    ],
)
def test_a_bad_file_names_its_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        layered({}, {}, config=path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FETCHCLI_CONCURENCY": "5"}, "FETCHCLI_CONCURENCY: no such option"),
        ({"FETCHCLI_CONCURRENCY": "many"}, "FETCHCLI_CONCURRENCY: not a int: 'many'"),
        ({"FETCHCLI_DEDUPE": "perhaps"}, "FETCHCLI_DEDUPE: must be true or false"),
        ({"FETCHCLI_MERGE": "1"}, "FETCHCLI_MERGE: not from the environment"),
    ],
)
def test_a_bad_variable_names_itself(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        layered({}, environ, use_file=False)


def test_a_profile_that_does_not_exist_lists_those_that_do(config: Path) -> None:
    with pytest.raises(ConfigError, match=r"--profile fast: not in .* \(its profiles: slow\)"):
        layered({}, {}, config=config, profile="fast")


def test_credentials_in_a_file_others_may_read_are_warned_of(config: Path) -> None:
    config.chmod(0o644)
    [warning] = layered({}, {}, config=config).warnings
    assert "holds credentials and others may read it" in warning and "chmod 600" in warning
    plain = config.with_name("plain.toml")
    plain.write_text("[default]\nconcurrency = 5\n")
    plain.chmod(0o644)
    assert layered({}, {}, config=plain).warnings == ()


def test_print_config_shows_where_each_came_from_with_secrets_masked(config: Path) -> None:
    found = layered({"timeout": 9.0}, {"FETCHCLI_RETRIES": "3"}, config=config)
    text = config_toml(found, {"timeout"})
    assert "timeout = 9.0  # a flag" in text and "retries = 3  # FETCHCLI_RETRIES" in text
    assert f"concurrency = 50  # {config}:2" in text
    assert '"Authorization: ****"' in text and "s3cret" not in text
    assert 'user = "alice:****"' in text and "pw" not in text.split("user =")[1].split("\n")[0]
    import tomllib

    assert tomllib.loads(text)["default"]["concurrency"] == 50  # it is TOML a file can hold
