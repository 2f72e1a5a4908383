"""--merge's reading of records files: ordered runs, the order of sources, the latest record of
a line, lines that are not records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fetchcli.errors import UsageError
from fetchcli.input import records
from fetchcli.models import Result, Target


def _write(path: Path, lines: list[tuple[str, int | None, int]]) -> str:
    """Records for (source, line, status)."""
    with path.open("w") as out:
        for source, line, status in lines:
            result = Result(Target(f"https://x.test/{source}/{line}", source, line), status=status)
            out.write(json.dumps(result.to_record()) + "\n")
    return str(path)


def _merged(*paths: str) -> list[tuple[str, int | None, int | None]]:
    return [
        (m.result.target.source, m.result.target.line, m.result.status)
        for m in records.merged(paths)
    ]


def test_files_of_shards_interleave_in_input_order(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", [("l", 1, 200), ("l", 4, 200), ("m", 2, 200)])
    b = _write(tmp_path / "b", [("l", 2, 200), ("l", 3, 200), ("m", 1, 200)])
    assert _merged(a, b) == [
        ("l", 1, 200), ("l", 2, 200), ("l", 3, 200), ("l", 4, 200), ("m", 1, 200), ("m", 2, 200)
    ]  # fmt: skip


def test_a_line_run_again_keeps_its_latest_record(tmp_path: Path) -> None:
    first_then_again = [("l", 1, 200), ("l", 2, 503), ("l", 3, 503), ("l", 2, 200), ("l", 3, 404)]
    path = _write(tmp_path / "a", first_then_again)
    assert _merged(path) == [("l", 1, 200), ("l", 2, 200), ("l", 3, 404)]


def test_lines_that_are_not_records_are_passed_over(tmp_path: Path) -> None:
    path = _write(tmp_path / "a", [("l", 1, 200), ("l", 2, 200)])
    with open(path, "a") as out:
        out.write('{"line": 3, "source": "l", "url": "https://x.test/cut')  # a crash mid-line
    with open(path, "r+") as out:
        text = out.read()
        out.seek(0)
        out.write("not json\n" + text)
    assert _merged(path) == [("l", 1, 200), ("l", 2, 200)]


def test_sources_keep_the_order_every_shard_met_them_in(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", [("z.txt", 1, 200), ("a.txt", 1, 200)])
    b = _write(tmp_path / "b", [("a.txt", 2, 200)])
    c = _write(tmp_path / "c", [("z.txt", 2, 200), ("m.txt", 1, 200), ("a.txt", 3, 200)])
    assert [s for s, _, _ in _merged(b, a, c)] == [
        "z.txt",
        "z.txt",
        "m.txt",
        "a.txt",
        "a.txt",
        "a.txt",
    ]


def test_a_file_in_completion_order_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(records, "MAX_RUNS", 3)
    path = _write(tmp_path / "a", [("l", n, 200) for n in (5, 4, 3, 2, 1)])
    with pytest.raises(UsageError, match="--order input"):
        list(records.merged([path]))


def test_a_record_glued_to_a_half_written_one_is_kept(tmp_path: Path) -> None:
    """A shard killed mid-write, then run again with --skip-done appending to the same file."""
    path = Path(_write(tmp_path / "a", [("l", 1, 200), ("l", 2, 503)]))
    cut = path.read_bytes()[:-25]  # the second record loses its end and its newline
    again = Path(_write(tmp_path / "b", [("l", 2, 200)])).read_bytes()
    path.write_bytes(cut + again)
    assert _merged(str(path)) == [("l", 1, 200), ("l", 2, 200)]


def test_url_arguments_are_told_apart_by_url(tmp_path: Path) -> None:
    """No line numbers: a URL argument run again keeps its latest record, once, in its place;
    a list given between arguments keeps its lines together."""
    first = [("arg", None, 500), ("l", 1, 200), ("l", 2, 200), ("arg", None, 200)]
    path = tmp_path / "a"
    with path.open("w") as out:
        for n, (source, line, status) in enumerate(first):
            url = f"https://x.test/{n}" if source == "arg" else f"https://x.test/l{line}"
            out.write(json.dumps(Result(Target(url, source, line), status=status).to_record()))
            out.write("\n")
        again = Result(Target("https://x.test/0", "arg", None), status=200)  # the 500, again
        out.write(json.dumps(again.to_record()) + "\n")
    merged = [(m.result.target.url, m.result.status) for m in records.merged([str(path)])]
    assert sorted(merged) == sorted(
        [("https://x.test/0", 200), ("https://x.test/3", 200),
         ("https://x.test/l1", 200), ("https://x.test/l2", 200)]
    )  # fmt: skip
    urls = [url for url, _ in merged]
    assert urls.index("https://x.test/l1") + 1 == urls.index("https://x.test/l2")


@pytest.mark.parametrize(
    "line",
    ['{"url": "u", "source": "x"}', '{"url": "u", "source": ["x"], "line": 1}',
     '{"url": "u", "source": "x", "line": "3"}', "[1, 2]", '"text"'],
)  # fmt: skip
def test_lines_shaped_almost_like_records_are_passed_over(tmp_path: Path, line: str) -> None:
    path = _write(tmp_path / "a", [("l", 1, 200)])
    with open(path, "a") as out:
        out.write(line + "\n")
    assert _merged(path) == [("l", 1, 200)]


def test_records_appended_after_a_cut_line_start_on_their_own(tmp_path: Path) -> None:
    from fetchcli.output.wiring import _records_sink

    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"line": 1, "source": "l", "url": "https://x.test/cu')
    sink = _records_sink(path)
    result = Result(Target("https://x.test/2", "l", 2), status=200)
    sink.write(result, result.to_record())
    sink.close()
    lines = path.read_bytes().split(b"\n")
    assert lines[1].startswith(b'{"line": 2') and lines[2] == b""


def test_repeated_url_arguments_of_one_run_stay_apart(tmp_path: Path) -> None:
    """`fetchcli a a b --records r`: merging r gives three records, not two."""
    path = tmp_path / "r.jsonl"
    with path.open("w") as out:
        for n, url in enumerate(["https://x.test/a", "https://x.test/a", "https://x.test/b"]):
            result = Result(Target(url, "arg", None), status=200 + n)
            out.write(json.dumps(result.to_record()) + "\n")
    merged = [(m.result.target.url, m.result.status) for m in records.merged([str(path)])]
    assert merged == [
        ("https://x.test/a", 200),
        ("https://x.test/a", 201),
        ("https://x.test/b", 202),
    ]


def test_a_url_list_is_not_a_records_file(tmp_path: Path) -> None:
    """A URL list given to --merge by mistake is a usage error, not a warning and exit 0."""
    path = tmp_path / "urls.txt"
    path.write_text("# my list\nhttps://x.test/a\n")
    with pytest.raises(UsageError, match="holds no records"):
        list(records.merged([str(path)]))


def test_an_empty_records_file_is_only_a_warning(tmp_path: Path) -> None:
    """A shard that had no URLs wrote an empty file: merged with a warning."""
    path = tmp_path / "r.jsonl"
    path.write_text("\n")
    warnings: list[str] = []
    assert list(records.merged([str(path)], warnings.append)) == []
    assert warnings == [f"--merge: no records in '{path}'"]
