"""The flags' value parsers: sizes, rates, failure limits, shards, headers, users, separators."""

from __future__ import annotations

import pytest

from fetchcli.settings.model import MaxFailures, Shard
from fetchcli.settings.parse import (
    parse_header,
    parse_max_failures,
    parse_rate,
    parse_separator,
    parse_shard,
    parse_size,
    parse_user,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [("100MB", 100_000_000), ("1kB", 1000), ("1KiB", 1024), ("2MiB", 2 * 1024**2),
     ("1GB", 10**9), ("1GiB", 1024**3), ("512", 512), ("1.5kB", 1500), (" 10 mb ", 10**7)],
)  # fmt: skip
def test_sizes_use_si_and_binary_units(text: str, size: int) -> None:
    """kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024."""
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "10XB", "-5MB", "0", "MB"])
def test_bad_sizes_are_refused(text: str) -> None:
    """A size that is not one says so."""
    with pytest.raises(ValueError, match="not a size|more than 0"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "rate"), [("10", 10.0), ("10/s", 10.0), ("600/m", 10.0), ("3600/h", 1.0)]
)
def test_rates(text: str, rate: float) -> None:
    """Rates are per second, minute or hour."""
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "10/d", "0", "-1/s", "inf"])
def test_bad_rates_are_refused(text: str) -> None:
    """Zero, negative, unknown units and words are refused."""
    with pytest.raises(ValueError, match="not a rate|more than 0"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("text", "limit"),
    [("0", MaxFailures(count=0)), ("25", MaxFailures(count=25)),
     ("0%", MaxFailures(percent=0.0)), ("2.5%", MaxFailures(percent=2.5)),
     (" 100% ", MaxFailures(percent=100.0))],
)  # fmt: skip
def test_max_failures(text: str, limit: MaxFailures) -> None:
    assert parse_max_failures(text) == limit


@pytest.mark.parametrize("text", ["", "-1", "1.5", "many", "101%", "-1%", "5%%", "nan%", "%"])
def test_bad_max_failures_are_refused(text: str) -> None:
    """Negative, fractional counts, percentages past 100 and words are refused."""
    with pytest.raises(ValueError, match="must be a number of URLs"):
        parse_max_failures(text)


def test_shards() -> None:
    """I/N with 1 <= I <= N."""
    assert parse_shard("1/1") == Shard(1, 1)
    assert parse_shard("3/8") == Shard(3, 8)
    for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/3"]:
        with pytest.raises(ValueError, match="I/N"):
            parse_shard(bad)


def test_headers() -> None:
    """'Name: value' is split and trimmed; CR/LF (header injection) and bad names refused."""
    assert parse_header("X-A: b: c") == ("X-A", "b: c")
    assert parse_header("X-Empty:") == ("X-Empty", "")
    for bad in ["X-A: b\r\nX-B: c", "X-A: b\n", "novalue", ": v", "Bad Name: v"]:
        with pytest.raises(ValueError):
            parse_header(bad)


def test_user() -> None:
    """USER:PASS splits at the first colon."""
    assert parse_user("a:b:c") == ("a", "b:c")
    assert parse_user("a:") == ("a", "")
    with pytest.raises(ValueError):
        parse_user("nocolon")


def test_separator_escapes() -> None:
    """\\n, \\t, \\r, \\0 and \\\\ are unescaped; other text stays."""
    assert parse_separator(r"\n") == b"\n"
    assert parse_separator(r"--\t--") == b"--\t--"
    assert parse_separator(r"\\n") == b"\\n"
    assert parse_separator("plain") == b"plain"
    assert parse_separator("é") == "é".encode()
