"""fetchcli.fetch() and fetchcli.afetch(): the records the command line writes, from Python,
against the real test server."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fetchcli
from tests.conftest import RunCli
from tests.helpers import timeless
from tests.server import TestServer


def _urls(server: TestServer) -> list[str]:
    return [
        f"{server.url}/ok",
        f"{server.url}/status/404",
        f"{server.url}/redirect/2",
        f"{server.url}/gzip",
        f"{server.url}/reset",
        "http://exa mple.com/",
        f"{server.url}/pattern/3000?seed=api",
    ]


def test_fetch_yields_the_records_the_command_line_writes(
    server: TestServer, run_cli: RunCli
) -> None:
    urls = _urls(server)
    cli = run_cli("--snippet", "40", "--retries", "1", "--retry-backoff", "0", *urls, expect=1)
    records = list(fetchcli.fetch(urls, snippet=40, retries=1, retry_backoff=0))
    assert [timeless(r) for r in records] == [timeless(r) for r in cli.records]
    assert [r["url"] for r in records] == urls
    json.dumps(records)  # JSON-ready, as the JSON lines are


@pytest.mark.anyio
async def test_afetch_yields_them_as_an_async_iterator(server: TestServer) -> None:
    urls = [f"{server.url}/pattern/{n + 1}?seed=a" for n in range(50)]
    seen = [record async for record in fetchcli.afetch(urls, concurrency=8)]
    assert [r["bytes"] for r in seen] == [n + 1 for n in range(50)]
    finished = [r["url"] async for r in fetchcli.afetch(urls, order="completion")]
    assert sorted(finished) == sorted(urls)


@pytest.mark.anyio
async def test_fetch_works_inside_a_running_loop(server: TestServer) -> None:
    """A notebook cell already runs a loop: the blocking iterator still works."""
    records = list(fetchcli.fetch([f"{server.url}/ok"] * 3))
    assert [r["status"] for r in records] == [200, 200, 200]


def test_request_options_apply(server: TestServer) -> None:
    (record,) = fetchcli.fetch(
        [f"{server.url}/echo"],
        method="post",
        data="a=1",
        headers=["X-One: 1", ("X-Two", "2")],
        user_agent="api-test/1",
        user="me:secret",
        snippet=4000,
    )
    echoed = json.loads(record["snippet"])
    assert echoed["method"] == "POST" and echoed["body"] == "a=1"
    headers = echoed["headers"]
    assert headers["x-one"] == "1" and headers["x-two"] == "2"
    assert headers["user-agent"] == "api-test/1"
    assert headers["authorization"].startswith("Basic ")


def test_timeouts_and_deadlines_apply(server: TestServer) -> None:
    (slow,) = fetchcli.fetch([f"{server.url}/slow/3000"], timeout=0.2)
    assert slow["error"] == {"kind": "timeout", "message": "read timeout after 0.2s"}
    (cut,) = fetchcli.fetch([f"{server.url}/slow/3000"], max_time=0.2)
    assert cut["error"]["kind"] == "deadline"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency: must be at least 1, got 0"),
        ({"max_size": "lots"}, "max_size: "),
        ({"order": "random"}, "order: "),
        ({"concurency": 5}, "concurency: no such option"),
        ({"format": "csv"}, "format: not an option of fetchcli.fetch"),
        ({"workers": 2}, "workers: not an option of fetchcli.fetch"),
        ({"cacert": "/nonexistent.pem"}, "cacert: cannot read '/nonexistent.pem'"),
    ],
)
def test_a_bad_option_is_a_value_error_naming_it(options: dict[str, Any], message: str) -> None:
    """Raised by the call itself, before anything is fetched or iterated."""
    with pytest.raises(ValueError) as raised:
        fetchcli.fetch(["http://127.0.0.1:9/"], **options)
    assert str(raised.value).startswith(message)


def test_urls_are_read_lazily(server: TestServer) -> None:
    """An endless generator: records come while it is still being read, and leaving early
    stops the reading, far short of the end."""
    taken = itertools.count()

    def endless() -> Any:
        for n in taken:
            yield f"{server.url}/ok?n={n}"

    records = fetchcli.fetch(endless(), concurrency=4)
    first = [next(records) for _ in range(10)]
    assert [r["url"] for r in first] == [f"{server.url}/ok?n={n}" for n in range(10)]
    records.close()
    read = next(taken)
    assert read < 5000  # bounded by the records not yet taken, not by the input


def test_state_and_save(server: TestServer, tmp_path: Path) -> None:
    urls = [f"{server.url}/versioned/{tmp_path.name}-{n}?etag=1" for n in range(3)]
    state, saved = tmp_path / "state.db", tmp_path / "saved"
    first = list(fetchcli.fetch(urls, state=state, save=saved))
    assert [r["changed"] for r in first] == [True] * 3
    assert all(Path(r["saved_to"]).read_bytes() == b"version 1" for r in first)
    again = list(fetchcli.fetch(urls, state=str(state)))
    assert [(r["status"], r["changed"]) for r in again] == [(304, False)] * 3


def test_the_api_needs_neither_typer_nor_rich(server: TestServer) -> None:
    code = (
        "import sys, fetchcli\n"
        f"records = list(fetchcli.fetch(['{server.url}/ok']))\n"
        "assert records[0]['status'] == 200, records\n"
        "print(sorted(m for m in ('typer', 'click', 'rich') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert done.stdout == b"[]\n"


def test_the_package_is_typed() -> None:
    assert (Path(fetchcli.__file__).parent / "py.typed").exists()


def test_fetching_goes_on_while_the_caller_works(server: TestServer) -> None:
    """The caller takes its time over the first record: the URLs in flight meanwhile finish
    (their --max-time is not eaten by the pause), and the rest are ready when it is back."""
    import time

    urls = [f"{server.url}/slow/300?n={n}" for n in range(12)]
    records = fetchcli.fetch(urls, concurrency=4, max_time=1)
    first = next(records)
    time.sleep(1.5)  # a slow consumer, not synchronisation: the run must not depend on it
    rest = list(records)
    assert [r["error"] for r in [first, *rest]] == [None] * 12
    assert all(r["elapsed"] < 1 for r in rest)


def test_checks_and_extraction_from_python(server: TestServer, run_cli: RunCli) -> None:
    """The API takes check=[...], extract={...} and the shorthands as keywords, and judges as
    the command line does; a bad expression is a ValueError before anything is fetched."""
    urls = [f"{server.url}/health", f"{server.url}/health-down"]
    options = {"check": ['json.status == "UP"'], "extract": {"v": "json:$.build.version"}}
    records = list(fetchcli.fetch(urls, expect_status="2xx", **options))
    cli = run_cli("--expect-status", "2xx", "--check", 'json.status == "UP"',
                  "--extract", "v=json:$.build.version", *urls, expect=1)  # fmt: skip
    assert [timeless(r) for r in records] == [timeless(r) for r in cli.records]
    assert [r["checks"] for r in records] == [[], ['json.status == "UP"']]
    assert records[0]["extract"] == {"v": "1.4.2"}
    requests = server.stats.requests
    with pytest.raises(ValueError, match="^check: 'status ==' does not compile"):
        list(fetchcli.fetch(urls, check=["status =="]))
    with pytest.raises(ValueError, match="where: not an option of fetchcli.fetch"):
        list(fetchcli.fetch(urls, where="status == 200"))
    assert server.stats.requests == requests
