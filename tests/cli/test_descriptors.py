"""Inside a low open-file limit (ulimit -n, soft and hard): the run fits itself to it, says so
in one warning, and no URL fails for want of a descriptor."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ORIGINS
from tests.server import TestServer, pattern_body

pytestmark = pytest.mark.e2e
TIMEOUT = 60


def _run_limited(limit: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    def lower_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "fetchcli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
        preexec_fn=lower_limit,
    )


@pytest.mark.parametrize("transport", ["aiohttp", "httpcore", "curl"])
def test_many_origins_under_64_descriptors(
    origins: TestServer, tmp_path: Path, transport: str
) -> None:
    """ulimit -n 64, -c 200, 512 URLs on 256 origins: every URL succeeds, and one warning says
    which values were lowered to fit."""
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{origins.url_for(h)}/ok?n={n}\n" for n in (1, 2) for h in ORIGINS))
    done = _run_limited(64, "--transport", transport, "-c", "200", str(urls))
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert len(records) == 512 and all(r["status"] == 200 for r in records)
    warnings = [line for line in done.stderr.decode().splitlines() if "warning" in line]
    assert warnings == [
        "fetchcli: warning: the open-file limit is 64: using --concurrency 40 "
        "--max-connections 40 (raise it with ulimit -n)"
    ]


def test_held_bodies_under_48_descriptors(server: TestServer, tmp_path: Path) -> None:
    """ulimit -n 48, -f body -c 50: 300 bodies (6 MB, past the memory budget) held behind a slow
    first URL share the spool files; every body arrives whole and in order."""
    seeds = ["head", *(f"b{n}" for n in range(300))]
    urls = tmp_path / "urls.txt"
    urls.write_text(
        f"{server.url}/pattern/20000?seed=head&delay_ms=1000\n"
        + "".join(f"{server.url}/pattern/20000?seed={seed}\n" for seed in seeds[1:])
    )
    records = tmp_path / "records.jsonl"
    done = _run_limited(48, "-f", "body", "-c", "50", "--records", str(records), str(urls))
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"".join(pattern_body(20000, seed) for seed in seeds)
    assert b"the open-file limit is 48: using --concurrency 24" in done.stderr
    assert all(json.loads(line)["error"] is None for line in records.read_text().splitlines())
