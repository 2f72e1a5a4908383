"""Checksums as the options and files give them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fetchcli.settings.build import OptionError, config_from
from fetchcli.settings.checksums import Checksum, load_checksums, parse_checksum

SHA256 = "a" * 64


def test_algo_and_hex_in_either_separator_any_case() -> None:
    assert parse_checksum(f"SHA256={SHA256.upper()}") == Checksum("sha256", SHA256)
    assert parse_checksum(f"sha-512:{'b' * 128}") == Checksum("sha512", "b" * 128)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (SHA256, "expected ALGO=HEX"),
        (f"sha257={SHA256}", "unknown algorithm"),
        ("sha256=abc", "a sha256 checksum is 64 hex digits"),
        (f"sha256={'g' * 64}", "64 hex digits"),
        (f"shake_128={SHA256}", "unknown algorithm"),
    ],
)
def test_bad_checksums_say_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_checksum(text)


def test_a_checksum_file_as_sha256sum_and_sha512sum_write_it(tmp_path: Path) -> None:
    sums = tmp_path / "SUMS"
    sums.write_text(
        f"# made by hand\n{SHA256}  dist/one.tar.gz\n\n{'c' * 128} *two.zip\n"
        f"SHA1 (three) = {'d' * 40}\n"
    )
    assert load_checksums(sums) == {
        "one.tar.gz": Checksum("sha256", SHA256),
        "two.zip": Checksum("sha512", "c" * 128),
        "three": Checksum("sha1", "d" * 40),
    }
    sums.write_text(f"{SHA256}  ok\nnot a line\n")
    with pytest.raises(ValueError, match="^line 2: expected 'HEX  NAME'"):
        load_checksums(sums)


def test_checksum_is_for_one_url_given_as_an_argument(tmp_path: Path) -> None:
    save = {"save": tmp_path, "checksum": f"sha256={SHA256}"}
    assert config_from(["https://a.test/x"], save).output.checksum == Checksum("sha256", SHA256)
    with pytest.raises(OptionError, match="^--checksum: is for one URL"):
        config_from(["urls.txt"], save)
    with pytest.raises(OptionError, match="^--checksum: is for one URL"):
        config_from(["https://a.test/1", "https://a.test/2"], save)
