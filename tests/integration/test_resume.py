"""--continue against the real server's /ranged files, on each transport: a cut download
resumed with only the missing bytes sent, a changed or range-ignoring file started over, a
206 that does not fit refused, a whole part finished by a 416, checksums over resumed files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import RunCli
from tests.server import TestServer, pattern_body

SIZE = 300_000


def _run(run_cli: RunCli, directory: Path, url: str, *flags: str, expect: int = 0) -> dict:
    [record] = run_cli("--save", str(directory), "--continue", *flags, url, expect=expect).records
    return record


def _cut_file(server: TestServer, request, label: str, cut: int) -> tuple[str, str]:
    """(name, URL) of a /ranged file of this test's own, whose first answer stops after `cut`
    bytes."""
    name = f"{label}-{request.node.callspec.id}.bin"
    server.ranged[name] = {"cut": cut}
    return name, f"{server.url}/ranged/{name}?size={SIZE}"


def _files(directory: Path) -> list[str]:
    return sorted(path.name.rsplit("_", 1)[-1] for path in directory.iterdir())


def test_a_cut_download_resumes_with_only_the_missing_bytes(
    run_cli: RunCli, server: TestServer, tmp_path: Path, request
) -> None:
    name, url = _cut_file(server, request, "cut", 100_000)
    first = _run(run_cli, tmp_path, url, expect=1)
    assert first["error"]["kind"] == "protocol" and first["saved_to"] is None
    assert _files(tmp_path) == ["size=300000.part", "size=300000.part.json"]
    sent = server.stats.body_bytes
    second = _run(run_cli, tmp_path, url)
    assert (second["status"], second["resumed_from"]) == (206, 100_000)
    assert Path(second["saved_to"]).read_bytes() == pattern_body(SIZE, f"{name}-v1")
    assert server.stats.body_bytes - sent == SIZE - 100_000  # only what was missing
    assert _files(tmp_path) == ["size=300000"]  # the part and its sidecar are gone


def test_a_changed_file_or_an_ignored_range_starts_over(
    run_cli: RunCli, server: TestServer, tmp_path: Path, request
) -> None:
    for change in ({"etag": "v2"}, {"mode": "ignore"}):
        name, url = _cut_file(server, request, f"over-{next(iter(change))}", 50_000)
        _run(run_cli, tmp_path, url, expect=1)
        server.ranged[name].update(change)
        record = _run(run_cli, tmp_path, url)
        version = change.get("etag", "v1")
        assert (record["status"], record["resumed_from"]) == (200, 0)
        assert Path(record["saved_to"]).read_bytes() == pattern_body(SIZE, f"{name}-{version}")


def test_a_206_that_does_not_fit_is_a_protocol_error_and_the_part_stays(
    run_cli: RunCli, server: TestServer, tmp_path: Path, request
) -> None:
    name, url = _cut_file(server, request, "wrong", 70_000)
    _run(run_cli, tmp_path, url, expect=1)
    [part] = [path for path in tmp_path.iterdir() if path.name.endswith(".part")]
    kept = part.read_bytes()
    server.ranged[name]["mode"] = "wrong"
    record = _run(run_cli, tmp_path, url, expect=1)
    assert record["error"]["kind"] == "protocol" and "bytes 69999-" in record["error"]["message"]
    assert part.read_bytes() == kept
    # A 206 to a request that asked no range (no part kept): refused too, nothing saved.
    fresh = tmp_path / "fresh"
    server.ranged[f"p-{name}"] = {"mode": "partial"}
    partial = _run(run_cli, fresh, f"{server.url}/ranged/p-{name}?size=1000", expect=1)
    assert partial["error"]["kind"] == "protocol" and not any(fresh.iterdir())


def test_a_whole_part_is_finished_by_the_416(
    run_cli: RunCli, server: TestServer, tmp_path: Path, request
) -> None:
    """A run killed between the last byte and the rename left a whole part: the next one asks
    past its end, hears 416 with the same size, and puts the file in place (exit 0)."""
    name = f"whole-{request.node.callspec.id}.bin"
    url = f"{server.url}/ranged/{name}?size=1000"
    body = pattern_body(1000, f"{name}-v1")
    port = server.url.rsplit(":", 1)[1]
    part = tmp_path / f"127.0.0.1_{port}_ranged_{name}_size=1000.part"
    part.write_bytes(body)
    part.with_name(part.name + ".json").write_text(json.dumps({"url": url, "etag": '"v1"'}))
    record = _run(run_cli, tmp_path, url)
    assert (record["status"], record["error"], record["resumed_from"]) == (416, None, 1000)
    assert Path(record["saved_to"]).read_bytes() == body and not part.exists()


def test_a_resumed_file_is_checked_whole_and_a_bad_one_kept_aside(
    run_cli: RunCli, server: TestServer, tmp_path: Path, request
) -> None:
    name = f"sum-{request.node.callspec.id}.bin"
    url = f"{server.url}/ranged/{name}?size={SIZE}"
    digest = hashlib.sha256(pattern_body(SIZE, f"{name}-v1")).hexdigest()
    for directory, checksum, expect in (
        (tmp_path / "good", digest, 0),
        (tmp_path / "bad", "0" * 64, 1),
    ):
        server.ranged[name] = {"cut": 120_000}
        _run(run_cli, directory, url, expect=1)
        record = _run(run_cli, directory, url, "--checksum", f"sha256={checksum}", expect=expect)
        if expect == 0:
            assert record["resumed_from"] == 120_000 and record["saved_to"]
        else:
            assert record["error"]["kind"] == "checksum" and "kept as" in record["error"]["message"]
            assert _files(directory) == ["size=300000.bad"]


def test_without_continue_a_cut_download_leaves_nothing(
    run_cli: RunCli, server: TestServer, tmp_path: Path, request
) -> None:
    _, url = _cut_file(server, request, "plain", 10_000)
    run_cli("--save", str(tmp_path), url, expect=1)
    assert not any(tmp_path.iterdir())
