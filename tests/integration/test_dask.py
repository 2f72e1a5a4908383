"""fetchcli.dask on a real dask.distributed cluster (a LocalCluster of worker processes),
against the local test server: every URL comes back as its record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("dask.distributed")

import dask.bag as db  # noqa: E402
from dask.distributed import Client, LocalCluster  # noqa: E402

import fetchcli  # noqa: E402
from fetchcli.dask import fetch_bag, write_records  # noqa: E402
from tests.helpers import timeless  # noqa: E402
from tests.server import TestServer  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


def test_a_bag_of_urls_comes_back_as_a_bag_of_records(
    server: TestServer, client: Client, tmp_path: Path
) -> None:
    urls = [f"{server.url}/pattern/{n + 1}?seed=dask" for n in range(200)]
    urls[5] = f"{server.url}/status/404"
    bag = db.from_sequence(urls, npartitions=4)
    records = fetch_bag(bag, concurrency=10, snippet=0).compute()
    assert [r["url"] for r in records] == urls  # every record, in the bag's order
    assert records[5]["status"] == 404
    assert all(r["status"] == 200 and r["bytes"] == n + 1 for n, r in enumerate(records) if n != 5)
    here = list(fetchcli.fetch(urls, snippet=0))  # the same API in this process
    assert [timeless(r) for r in records] == [timeless(r) for r in here]

    names = write_records(fetch_bag(bag, concurrency=10), str(tmp_path / "part-*.jsonl"))
    assert len(names) == 4
    written = [
        json.loads(line) for name in sorted(names) for line in Path(name).read_text().splitlines()
    ]
    assert [r["url"] for r in written] == urls


def test_a_bad_option_fails_before_anything_is_submitted() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        fetch_bag(db.from_sequence(["http://127.0.0.1:9/"]), concurrency=0)
