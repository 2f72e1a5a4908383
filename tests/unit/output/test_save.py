"""--save file names and publishing: readable, deterministic, inside DIR, unique, atomic."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fetchcli.consumer import BodyHead, WriteFailed
from fetchcli.models import Target
from fetchcli.output import save
from fetchcli.output.names import candidates, filename_for
from fetchcli.output.save import SavedFile, Saver, clean_stale_parts


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://example.com/", "example.com"),
        ("https://example.com/a/b/page.html", "example.com_a_b_page.html"),
        ("https://example.com:8443/x?q=1&r=2", "example.com_8443_x_q=1_r=2"),
        ("https://example.com/caf%C3%A9", "example.com_café"),
        ("http://h/../../etc/passwd", "h_etc_passwd"),
        ("http://h/%2e%2e/%2e%2e/etc/passwd", "h_etc_passwd"),
        ("http://h/..%2f..%2fetc", "h_etc"),
        ("http://h/a%5c..%5cb", "h_a_b"),
        ("http://h//abs/path", "h_abs_path"),
        ("http://h/.hidden", "h_hidden"),
        ("http://h/x%1b[31m%07y%00z", "h_xyz"),
    ],
)
def test_names_are_readable_and_flat(url: str, name: str) -> None:
    """A name is host, path and query joined by '_', with no separator, dot-dot or control."""
    assert filename_for(url) == name


def test_long_names_are_cut_to_255_bytes_and_stay_distinct() -> None:
    """A 3,000-character path gives a name under 255 bytes that keeps its extension."""
    first = filename_for("http://h/" + "p" * 3000 + ".html")
    second = filename_for("http://h/" + "p" * 3001 + ".html")
    assert len(first.encode()) <= 255
    assert first.endswith(".html")
    assert first != second


def test_multibyte_names_are_cut_on_a_character_boundary() -> None:
    """Cutting a name of multi-byte characters never leaves half a character."""
    name = filename_for("http://h/" + "é" * 500)
    assert len(name.encode()) <= 255
    name.encode().decode()  # valid UTF-8


def test_candidates_add_a_suffix_before_the_extension() -> None:
    """Collisions become page-1.html, page-2.html; a host's dots are not an extension."""
    assert [candidates("page.html")(n) for n in range(3)] == [
        "page.html",
        "page-1.html",
        "page-2.html",
    ]
    assert candidates("127.0.0.1_8080_ok")(1) == "127.0.0.1_8080_ok-1"


@pytest.fixture(params=["unnamed", "named"])
def kind_of_temp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test once with unnamed files (O_TMPFILE) and once as on a filesystem without them."""
    if request.param == "named":
        monkeypatch.setattr(save, "_unnamed_file", lambda directory: None)
    return str(request.param)


def test_saved_file_appears_only_when_complete(tmp_path: Path, kind_of_temp: str) -> None:
    """While a body is written nothing but (without O_TMPFILE) a hidden part file exists;
    finish() gives it its name."""
    saved = SavedFile(tmp_path, "page.html")
    saved.feed(b"hello ")
    visible = [p.name for p in tmp_path.iterdir()]
    assert [n for n in visible if not n.startswith(".fetchcli-")] == []
    assert len(visible) == (1 if kind_of_temp == "named" else 0)
    saved.feed(b"world")
    path = saved.finish(complete=True)
    assert path == str(tmp_path / "page.html")
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]
    assert (tmp_path / "page.html").read_bytes() == b"hello world"


def test_incomplete_body_leaves_nothing(tmp_path: Path, kind_of_temp: str) -> None:
    """finish(complete=False) removes the temporary file and names nothing."""
    saved = SavedFile(tmp_path, "page.html")
    saved.feed(b"partial")
    assert saved.finish(complete=False) is None
    assert list(tmp_path.iterdir()) == []


def test_existing_files_are_never_replaced(tmp_path: Path, kind_of_temp: str) -> None:
    """A name already taken (by an earlier run too) gets the next suffix."""
    (tmp_path / "page.html").write_bytes(b"old")
    saved = SavedFile(tmp_path, "page.html")
    saved.feed(b"new")
    assert saved.finish(complete=True) == str(tmp_path / "page-1.html")
    assert (tmp_path / "page.html").read_bytes() == b"old"


def test_saver_skips_non_2xx(tmp_path: Path) -> None:
    """Only 2xx bodies are saved."""
    saver = Saver(tmp_path)
    target = Target("http://h/x", "arg", None)
    assert saver.open(target, BodyHead(404)) is None
    assert saver.open(target, BodyHead(301)) is None
    opened = saver.open(target, BodyHead(204))
    assert opened is not None
    opened.finish(complete=False)


def test_missing_directory_is_a_write_failure(tmp_path: Path) -> None:
    """A directory that vanished mid-run is an io failure for that URL, not a crash."""
    with pytest.raises(WriteFailed):
        SavedFile(tmp_path / "gone", "x")


def test_overwrite_replaces_a_file_of_the_same_name(tmp_path: Path, kind_of_temp: str) -> None:
    """--overwrite: a mirror's file is replaced in place, no page-1.html, no part left."""
    (tmp_path / "page.html").write_bytes(b"old")
    saved = SavedFile(tmp_path, "page.html", overwrite=True)
    saved.feed(b"new")
    assert saved.finish(complete=True) == str(tmp_path / "page.html")
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]
    assert (tmp_path / "page.html").read_bytes() == b"new"


def test_stale_parts_are_cleaned_and_live_ones_kept(tmp_path: Path, monkeypatch) -> None:
    """A part file a killed run left (old, unlocked) goes; one a live run writes stays, and
    so does a fresh one (a run that has only just made it)."""
    monkeypatch.setattr(save, "_unnamed_file", lambda directory: None)
    stale = tmp_path / ".fetchcli-dead.part"
    stale.write_bytes(b"half")
    fresh = tmp_path / ".fetchcli-new.part"
    fresh.write_bytes(b"")
    live = SavedFile(tmp_path, "page.html")
    live.feed(b"going")
    [live_part] = [p for p in tmp_path.iterdir() if p not in (stale, fresh)]
    old = time.time() - 3600
    for path in (stale, live_part):
        os.utime(path, (old, old))
    assert clean_stale_parts(tmp_path, now=time.time() - 1) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, live_part.name])
    assert live.finish(complete=True) == str(tmp_path / "page.html")
