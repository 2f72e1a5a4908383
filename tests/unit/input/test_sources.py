"""URL lists: line rules, invalid lines, laziness, and the filter stages."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from fetchcli.input.filters import dedupe, in_shard, load_done, shard_of, skip_done
from fetchcli.input.sources import InputMeter, iter_lines, read_sources, targets
from fetchcli.models import ErrorKind, Target
from fetchcli.settings.build import config_from
from fetchcli.settings.model import Shard


def _read(data: bytes, scheme: str = "https") -> list[Target]:
    return list(iter_lines(io.BytesIO(data), "list.txt", scheme))


def test_comments_blanks_whitespace_and_crlf() -> None:
    """Blank lines and # comments are skipped; whitespace and CR are stripped; lines numbered."""
    targets = _read(
        b"# header\r\n\r\n  https://a.test/x  \r\n\t\n#https://skipped\nhttp://b.test\n"
    )
    assert [(t.url, t.line) for t in targets] == [("https://a.test/x", 3), ("http://b.test", 6)]
    assert all(t.source == "list.txt" and t.error is None for t in targets)


def test_default_scheme_is_prepended() -> None:
    """A line without :// gets --default-scheme."""
    assert _read(b"example.com/a\n")[0].url == "https://example.com/a"
    assert _read(b"example.com:8080/\n", "http")[0].url == "http://example.com:8080/"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"ftp://host/file", "unsupported scheme 'ftp'"),
        (b"https:///nohost", "no host"),
        (b"http://exa mple.com/", "whitespace or control"),
        (b"http://host/\x1b[31m", "whitespace or control"),
        (b"http://host:99999/", "malformed URL"),
        (b"http://\xff\xfe/", "not valid UTF-8"),
        (b"https://h/" + b"a" * 9000, "longer than 8192"),
    ],
)
def test_invalid_lines_become_records_and_the_rest_go_on(line: bytes, reason: str) -> None:
    """A bad line is an invalid-url Target with its line number; the next line still parses."""
    bad, good = _read(b"\n" + line + b"\nhttps://ok.test/\n")
    assert bad.line == 2
    assert bad.error is not None and bad.error.kind is ErrorKind.INVALID_URL
    assert reason in bad.error.message
    assert (good.url, good.line, good.error) == ("https://ok.test/", 3, None)


def test_a_huge_line_without_newline_is_skipped_in_bounded_memory() -> None:
    """10 MB with no newline is one invalid line, read in pieces; the next line parses."""
    bad, good = _read(b"x" * 10_000_000 + b"\nhttps://ok.test/\n")
    assert bad.error is not None and "longer than" in bad.error.message
    assert len(bad.url) <= 200
    assert good.url == "https://ok.test/"


def test_pipe_is_read_lazily() -> None:
    """The first Target comes out while the writer has not closed the pipe."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb") as writer:
        writer.write(b"https://first.test/\n")
        writer.flush()
        targets = iter_lines(reader, "-", "https")
        assert next(targets).url == "https://first.test/"
        writer.write(b"https://second.test/\n")
        writer.close()
        assert [t.url for t in targets] == ["https://second.test/"]


def test_sources_in_argument_order(tmp_path: Path) -> None:
    """URL arguments, files and stdin are read in the order given."""
    listing = tmp_path / "l.txt"
    listing.write_text("https://file.test/\n")
    stdin = io.BytesIO(b"https://stdin.test/\n")
    targets = list(read_sources(["https://arg.test/", str(listing), "-"], "https", stdin))
    assert [(t.url, t.source, t.line) for t in targets] == [
        ("https://arg.test/", "arg", None),
        ("https://file.test/", str(listing), 1),
        ("https://stdin.test/", "-", 1),
    ]


def test_dedupe_keeps_first_occurrences() -> None:
    """Exact repeats are dropped, order kept."""
    targets = _read(b"https://a.test/\nhttps://b.test/\nhttps://a.test/\n")
    assert [t.line for t in dedupe(targets)] == [1, 2]


def test_shard_hash_is_stable() -> None:
    """The same URL lands in the same shard on every machine and run (not Python's hash())."""
    assert shard_of("https://example.com/", 4) == 4
    assert shard_of("https://example.com/page", 10) == shard_of("https://example.com/page", 10)


def test_shards_partition_the_list() -> None:
    """Over N shards every URL appears exactly once."""
    targets = [Target(f"https://h.test/{i}", "arg", None) for i in range(500)]
    seen = [t.url for index in (1, 2, 3) for t in in_shard(targets, Shard(index, 3))]
    assert sorted(seen) == sorted(t.url for t in targets)
    assert all(len(list(in_shard(targets, Shard(i, 3)))) > 100 for i in (1, 2, 3))


def test_skip_done_reads_only_successes(tmp_path: Path) -> None:
    """Records with no error and status < 400 count as done; masked URLs match; junk ignored."""
    log = tmp_path / "log.jsonl"
    lines = [
        {"url": "https://ok.test/", "status": 200, "error": None},
        {"url": "https://u:****@secret.test/", "status": 301, "error": None},
        {"url": "https://gone.test/", "status": 404, "error": None},
        {"url": "https://down.test/", "status": None, "error": {"kind": "connect"}},
    ]
    log.write_text("\n".join(json.dumps(r) for r in lines) + '\n{"url": "https://cut')
    done = load_done(log)
    assert done == {"https://ok.test/", "https://u:****@secret.test/"}
    targets = _read(
        b"https://ok.test/\nhttps://u:pw@secret.test/\nhttps://gone.test/\nhttps://down.test/\n"
    )
    assert [t.url for t in skip_done(targets, done)] == ["https://gone.test/", "https://down.test/"]


def test_skip_done_without_a_log_yet(tmp_path: Path) -> None:
    """A missing --skip-done file is an empty history."""
    assert load_done(tmp_path / "none.jsonl") == set()


def test_pipe_reader_splits_lines_across_reads(tmp_path: Path) -> None:
    """PipeReader gives whole lines whatever the read sizes, and honours the size limit."""
    from fetchcli.streams import PipeReader

    data = b"https://a.test/\n" + b"x" * 50 + b"\nlast"
    path = tmp_path / "in"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = PipeReader(fd, chunk=7)
        assert reader.readline() == b"https://a.test/\n"
        assert reader.readline(20) == b"x" * 20
        assert reader.readline() == b"x" * 30 + b"\n"
        assert reader.readline() == b"last"
        assert reader.readline() == b""
    finally:
        os.close(fd)


def test_the_meter_knows_the_total_once_the_input_is_read(tmp_path: Path) -> None:
    """The progress line's total is exact only after the last line: `complete` is set when
    the list has been read to its end, with the targets that passed the filters counted."""
    urls = tmp_path / "urls"
    urls.write_text("".join(f"https://a.test/{n % 30}\n" for n in range(40)))
    meter = InputMeter()
    found = targets(config_from([str(urls)], {"dedupe": True}), io.BytesIO(), meter=meter)
    next(found)
    assert not meter.complete
    assert len(list(found)) == 29
    assert meter.complete and meter.targets == 30


def test_the_meter_is_complete_as_the_last_line_is_handed_on(tmp_path: Path) -> None:
    """With every byte of a file read, the last target already says the total is known (a
    run pulls the next one only when a slot frees, which may be at the very end)."""
    urls = tmp_path / "urls"
    urls.write_text("https://a.test/1\nhttps://a.test/2\n")
    meter = InputMeter()
    found = targets(config_from([str(urls)], {}), io.BytesIO(), meter=meter)
    next(found)
    assert not meter.complete
    next(found)
    assert meter.complete and meter.targets == 2


def test_targets_are_numbered_once_in_run_order_after_the_filters(tmp_path: Path) -> None:
    """Each kept URL becomes its Target once, `index` 0, 1, 2... in the order the run has them:
    what --dedupe drops leaves no gap."""
    urls = tmp_path / "urls"
    urls.write_text("https://a.test/1\nhttps://a.test/1\nhttps://a.test/2\n")
    found = list(targets(config_from([str(urls)], {"dedupe": True}), io.BytesIO()))
    assert [(t.index, t.line) for t in found] == [(0, 1), (1, 3)]
