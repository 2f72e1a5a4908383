"""--limit-rate is one cap for the whole run: every connection and every --workers process
together never go faster than it (a lower bound on the time: the test cannot be fooled by a
slow machine, only by a cap that does not hold)."""

from __future__ import annotations

import time

import pytest

from tests.helpers import records_of, run_fetchcli
from tests.server import TestServer

MB = 1_000_000


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_cap_holds_over_connections_and_workers(server: TestServer, workers: str) -> None:
    urls = [f"{server.url}/big/{MB}?n={n}" for n in range(4)]  # 4 MB at 2 MB/s: 2 s at least
    started = time.monotonic()
    done = run_fetchcli("--limit-rate", "2M", "--workers", workers, "-c", "4", *urls)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    records = records_of(done.stdout)
    assert [r["bytes"] for r in records] == [MB] * 4
    # Only the last piece a run reads (64 KiB) goes unpaid: 4 MB at 2 MB/s is 1.97 s at least.
    assert took >= 4 * MB / (2 * MB) * 0.98, f"{took:.2f}s for 4 MB under a 2 MB/s cap"


def test_a_bad_rate_is_a_usage_error(server: TestServer) -> None:
    done = run_fetchcli("--limit-rate", "fast", f"{server.url}/ok")
    assert done.returncode == 2 and b"--limit-rate: not a size" in done.stderr
