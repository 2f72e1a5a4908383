"""`-f body` and `--save` against the real server: order, byte-exactness, spooling, files."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

import fetchcli.output.save
from tests.conftest import RunCli
from tests.server import GZIP_BODY, PNG_BODY, TestServer, pattern_body


def _pattern(server: TestServer, size: int, seed: str, delay_ms: int = 0, **extra: int) -> str:
    query = "".join(f"&{k}={v}" for k, v in extra.items())
    return f"{server.url}/pattern/{size}?seed={seed}&delay_ms={delay_ms}{query}"


def test_bodies_in_input_order_byte_for_byte(run_cli: RunCli, server: TestServer) -> None:
    """Bodies that finish in another order come out in input order, exact, binary included."""
    urls = [
        _pattern(server, 3000, "first", delay_ms=300),
        _pattern(server, 200_000, "second", delay_ms=100),
        f"{server.url}/binary",
        f"{server.url}/gzip",
        _pattern(server, 10, "last"),
    ]
    result = run_cli("-f", "body", "-c", "5", *urls)
    expected = (
        pattern_body(3000, "first")
        + pattern_body(200_000, "second")
        + PNG_BODY
        + gzip.decompress(GZIP_BODY)
        + pattern_body(10, "last")
    )
    assert result.stdout == expected
    assert "5 ok" in result.stderr


def test_completion_order_keeps_each_body_whole(run_cli, server) -> None:
    """--order completion: fastest first, and every body still contiguous."""
    slow = _pattern(server, 50_000, "slow", delay_ms=300)
    chunky = _pattern(server, 300_000, "chunky", chunks=6, gap_ms=20)
    quick = _pattern(server, 5_000, "quick")
    out = run_cli("-f", "body", "--order", "completion", "--separator", r"\0", slow, chunky, quick)
    parts = out.stdout.split(b"\0")
    assert sorted(parts) == sorted(
        [
            pattern_body(50_000, "slow"),
            pattern_body(300_000, "chunky"),
            pattern_body(5_000, "quick"),
        ]
    )
    assert parts[-1] == pattern_body(50_000, "slow")


def test_big_later_bodies_spool_without_interleaving(run_cli, server) -> None:
    """A slow head and five 5 MB bodies behind it: spooled past the memory budget, each whole."""
    head = _pattern(server, 1000, "head", delay_ms=400)
    tails = [_pattern(server, 5_000_000, f"t{i}") for i in range(5)]
    out = run_cli("-f", "body", "-c", "6", head, *tails)
    expected = pattern_body(1000, "head") + b"".join(
        pattern_body(5_000_000, f"t{i}") for i in range(5)
    )
    assert out.stdout == expected


@pytest.mark.parametrize(
    ("separator", "raw"), [(r"\n", b"\n"), (r"\t", b"\t"), (r"\0", b"\0"), ("--", b"--")]
)
def test_separator_goes_between_bodies(run_cli, server, separator, raw) -> None:
    """--separator is written between bodies, escapes understood, not after the last."""
    out = run_cli(
        "-f", "body", "--separator", separator, f"{server.url}/ok", f"{server.url}/bytes/3"
    )
    assert out.stdout == b"hello world" + raw + b"aaa"


def test_body_mode_writes_records_only_to_the_records_file(run_cli, server, tmp_path) -> None:
    """stdout has bodies only; --records FILE gets the JSONL records."""
    log = tmp_path / "log.jsonl"
    out = run_cli(
        "-f",
        "body",
        "--records",
        str(log),
        f"{server.url}/ok",
        f"{server.url}/status/404",
        expect=1,
    )
    assert out.stdout == b"hello world" + b"status 404"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["status"] for r in records] == [200, 404]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table", "body"])
def test_records_file_with_every_format(run_cli, server, tmp_path, fmt) -> None:
    """--records appends one JSONL record per URL whatever --format is."""
    log = tmp_path / "log.jsonl"
    log.write_text('{"earlier": true}\n')
    run_cli("-f", fmt, "--records", str(log), f"{server.url}/ok", f"{server.url}/bytes/2")
    lines = log.read_text().splitlines()
    assert len(lines) == 3
    assert json.loads(lines[2])["url"] == f"{server.url}/bytes/2"


def test_max_size_in_body_mode_cuts_and_marks(run_cli, server, tmp_path) -> None:
    """A body over --max-size: stdout gets its first SIZE bytes, the record says truncated."""
    log = tmp_path / "log.jsonl"
    out = run_cli(
        "-f", "body", "--max-size", "1000", "--records", str(log),
        f"{server.url}/big/100000", f"{server.url}/ok", expect=1,
    )  # fmt: skip
    assert out.stdout == b"x" * 1000 + b"hello world"
    first = json.loads(log.read_text().splitlines()[0])
    assert (first["truncated"], first["error"]["kind"]) == (True, "too-large")
    assert "1 truncated" in out.stderr


def test_save_writes_2xx_bodies_with_readable_unique_names(run_cli, server, tmp_path) -> None:
    """--save: one file per 2xx body, named from the URL, a suffix on collision, none for 404."""
    out_dir = tmp_path / "out"
    urls = [
        f"{server.url}/ok",
        f"{server.url}/ok",
        f"{server.url}/binary",
        f"{server.url}/status/404",
    ]
    result = run_cli("--save", str(out_dir), "-c", "1", *urls, expect=1)
    port = server.url.rsplit(":", 1)[1]
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [f"127.0.0.1_{port}_binary", f"127.0.0.1_{port}_ok", f"127.0.0.1_{port}_ok-1"]
    assert (out_dir / f"127.0.0.1_{port}_binary").read_bytes() == PNG_BODY
    saved = [r["saved_to"] for r in result.records]
    assert saved[:2] == [
        str(out_dir / f"127.0.0.1_{port}_ok"),
        str(out_dir / f"127.0.0.1_{port}_ok-1"),
    ]
    assert saved[3] is None


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/x",
        "/%2e%2e/%2e%2e/x",
        "/..%2f..%2fx",
        "//etc/passwd",
        "/a%00b%1b[31m",
        "/" + "p" * 3000,
    ],
)
def test_saved_files_never_escape_the_directory(run_cli, server, tmp_path, path) -> None:
    """Hostile URL paths still land as one file directly inside DIR, name under 256 bytes."""
    out_dir = tmp_path / "out"
    run_cli("--save", str(out_dir), f"{server.url}{path}", expect=None)
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert file.parent == out_dir
            assert len(file.name.encode()) <= 255
            assert "\x1b" not in file.name and "\0" not in file.name


def test_cut_or_failed_bodies_leave_no_file(run_cli, server, tmp_path) -> None:
    """A body cut by --max-size or broken mid-way leaves no file and no temporary file."""
    out_dir = tmp_path / "out"
    run_cli(
        "--save",
        str(out_dir),
        "--max-size",
        "10",
        f"{server.url}/big/1000",
        f"{server.url}/short-body",
        expect=1,
    )
    assert list(out_dir.iterdir()) == []


def test_write_error_is_io_for_that_url_and_the_run_goes_on(
    run_cli, server, tmp_path, monkeypatch
) -> None:
    """A disk-full error while saving: error kind io for that URL; the others are fine."""
    real = fetchcli.output.save._unnamed_file
    calls = []

    def full_disk(directory: Path) -> int | None:
        calls.append(directory)
        if len(calls) == 1:
            return os.open("/dev/full", os.O_WRONLY)
        return real(directory)

    monkeypatch.setattr(fetchcli.output.save, "_unnamed_file", full_disk)
    out_dir = tmp_path / "out"
    result = run_cli(
        "--save", str(out_dir), "-c", "1", f"{server.url}/ok", f"{server.url}/bytes/5", expect=1
    )
    first, second = result.records
    assert first["error"]["kind"] == "io"
    assert "No space left on device" in first["error"]["message"]
    assert second["saved_to"] is not None
    assert [p.name.endswith("bytes_5") for p in out_dir.iterdir()] == [True]


def test_save_dir_that_cannot_be_made_is_a_usage_error(run_cli, server, tmp_path) -> None:
    """--save pointing at a file: exit 2 before anything is fetched."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("--save", str(blocker / "sub"), f"{server.url}/ok", expect=2)
    assert "cannot write to" in result.stderr
    assert server.stats.requests == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_save_dir_is_refused_before_fetching(run_cli, server, tmp_path) -> None:
    """--save into a directory we cannot write: exit 2, nothing fetched."""
    out_dir = tmp_path / "ro"
    out_dir.mkdir()
    out_dir.chmod(0o500)
    result = run_cli("--save", str(out_dir), f"{server.url}/ok", expect=2)
    assert "cannot write to" in result.stderr
    assert server.stats.requests == 0


def test_binary_bodies_are_withheld_from_a_terminal(run_cli, server) -> None:
    """-f body at a terminal: text bodies are written, a binary one is not (as curl refuses);
    one notice names it and says how to get it. A pipe gets every byte."""
    urls = [f"{server.url}/ok", f"{server.url}/binary", f"{server.url}/no-type"]
    at_terminal = run_cli("-f", "body", *urls, stdout_isatty=True)
    assert at_terminal.stdout == b"hello worldplain text without type"
    [notice] = [line for line in at_terminal.stderr.splitlines() if "binary body" in line]
    assert notice == (
        f"fetchcli: warning: {server.url}/binary: binary body (image/png) not written to the "
        "terminal; pipe it (| cat) or use --save DIR"
    )
    piped = run_cli("-f", "body", *urls)
    assert piped.stdout == b"hello world" + PNG_BODY + b"plain text without type"
