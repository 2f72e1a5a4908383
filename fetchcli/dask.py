"""fetchcli on a Dask cluster: the Python API mapped over the partitions of a `dask.bag` of URLs.

    import dask.bag as db
    from dask.distributed import Client
    from fetchcli.dask import fetch_bag, write_records

    client = Client("scheduler:8786")
    urls = db.read_text("s3://bucket/urls-*.txt").map(str.strip).filter(bool)
    records = fetch_bag(urls, concurrency=100, retries=2, max_time=30)
    write_records(records, "s3://bucket/records/part-*.jsonl")   # or records.compute()

Each partition is fetched by one `fetchcli.fetch()` on the worker that holds it: one event loop
and one client per partition, bounded by `concurrency`, and memory by the partition's records.
Dask schedules, retries lost partitions and brings the records back; fetchcli adds no scheduler.
Options are the API's (and are checked here, on the client, before anything is submitted).

An optional part: `pip install 'fetchcli[dask]'`. The command line never imports it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import dask.bag as db

from fetchcli import api
from fetchcli.models import Record

__all__ = ["fetch_bag", "write_records"]


def fetch_bag(urls: db.Bag, **options: Any) -> db.Bag:
    """A bag of records (dicts, as the JSON lines), one per URL, partitioned as `urls` is."""
    api.afetch((), **options)  # a bad option is a ValueError here, not on every worker
    records: db.Bag = urls.map_partitions(_fetch_partition, options)
    return records


def write_records(records: db.Bag, path: str) -> list[str]:
    """Write each partition's records as JSON lines to `path` (a glob with one `*`, on any
    filesystem Dask writes to); returns the files' names."""
    names: list[str] = records.map(_json_line).to_textfiles(path, last_endline=True)
    return names


def _fetch_partition(urls: Iterable[str], options: dict[str, Any]) -> list[Record]:
    return list(api.fetch(urls, **options))


def _json_line(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False)
