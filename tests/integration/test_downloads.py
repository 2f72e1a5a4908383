"""Downloads that verify, against the real server on each transport: checksums (one URL, a
sha256sum file, a row's), and the server's file names (--content-disposition)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import RunCli
from tests.server import TestServer, pattern_body


def _sha256(name: str, size: int = 1000) -> str:
    return hashlib.sha256(pattern_body(size, name)).hexdigest()


def test_a_checksum_that_matches_saves_and_one_that_does_not_leaves_no_file(
    run_cli: RunCli, server: TestServer, tmp_path: Path
) -> None:
    url = f"{server.url}/file/release.tar.gz"
    good = run_cli(
        "--save", str(tmp_path / "a"), "--checksum", f"sha256={_sha256('release.tar.gz')}", url
    )
    assert good.records[0]["saved_to"] and good.records[0]["error"] is None
    bad = run_cli(
        "--save", str(tmp_path / "b"), "--checksum", "sha256=" + "0" * 64, url, expect=1
    ).records[0]
    assert bad["error"]["kind"] == "checksum" and bad["saved_to"] is None
    assert "not saved" in bad["error"]["message"]
    assert not any((tmp_path / "b").iterdir())  # nothing in place, no part left behind


def test_a_checksum_file_is_matched_by_file_name(
    run_cli: RunCli, server: TestServer, tmp_path: Path
) -> None:
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(
        f"{_sha256('one.bin')}  one.bin\n"
        f"{'1' * 64} *two.bin\n"
        f"SHA512 (three.bin) = {hashlib.sha512(pattern_body(1000, 'three.bin')).hexdigest()}\n"
    )
    urls = [f"{server.url}/file/{name}" for name in ("one.bin", "two.bin", "three.bin", "four.bin")]
    records = run_cli(
        "--save", str(tmp_path / "out"), "--checksums", str(sums), *urls, expect=1
    ).records
    assert [r["error"] and r["error"]["kind"] for r in records] == [None, "checksum", None, None]
    assert [bool(r["saved_to"]) for r in records] == [True, False, True, True]  # four: unlisted


def test_a_row_carries_its_own_checksum(
    run_cli: RunCli, server: TestServer, tmp_path: Path
) -> None:
    rows = [
        {"url": f"{server.url}/file/a.bin", "checksum": f"sha256:{_sha256('a.bin')}"},
        {"url": f"{server.url}/file/b.bin", "checksum": "sha256:" + "2" * 64},
        {"url": f"{server.url}/file/c.bin", "checksum": "sha257:00"},
    ]
    stdin = "".join(json.dumps(row) + "\n" for row in rows).encode()
    records = run_cli("--save", str(tmp_path), "-", stdin=stdin, expect=1).records
    assert [r["error"] and r["error"]["kind"] for r in records] == [
        None, "checksum", "invalid-request",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("disposition", "saved"),
    [
        (
            "attachment; filename*=UTF-8''na%C3%AFve%20plan.pdf; filename=naive.pdf",
            "naïve_plan.pdf",
        ),
        ('attachment; filename="report.csv"', "report.csv"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="/abs/olute.txt"', "olute.txt"),
        ('attachment; filename=".hidden"', "hidden"),
        ('attachment; filename="evil\x1b[31m.sh"', "evil.sh"),  # the whole escape goes
        ("attachment", None),  # no name: the URL's
        ('attachment; filename="' + "x" * 400 + '.bin"', "long"),
    ],
)
def test_the_server_s_file_name_made_safe_and_kept_inside_dir(
    run_cli: RunCli, server: TestServer, tmp_path: Path, disposition: str, saved: str | None
) -> None:
    url = f"{server.url}/file/from-url.bin?cd={quote(disposition)}"
    [record] = run_cli("--save", str(tmp_path), "--content-disposition", url).records
    path = Path(record["saved_to"])
    assert path.parent == tmp_path and path.read_bytes() == pattern_body(1000, "from-url.bin")
    if saved is None:
        assert path.name.startswith("127.0.0.1_") and "from-url.bin" in path.name
    elif saved == "long":
        assert len(path.name.encode()) <= 255 and path.name.endswith(".bin")
    else:
        assert path.name == saved


def test_download_options_need_save(run_cli: RunCli, server: TestServer) -> None:
    for option in (
        ["--content-disposition"],
        ["--checksums", "x"],
        ["--checksum", "md5=" + "0" * 32],
    ):
        result = run_cli(*option, f"{server.url}/ok", expect=2)
        assert "needs --save DIR" in result.stderr
    assert server.stats.requests == 0
