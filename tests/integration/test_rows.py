"""Requests from data against the real server, on each transport: what the server received is
what the row asked for (/echo answers with the method, headers and body it got)."""

from __future__ import annotations

import json

from tests.conftest import RunCli
from tests.server import TestServer

_ECHOED = ("--extract", "m=json:$.method", "--extract", "b=json:$.body",
           "--extract", "h=json:$.headers", "--extract", "q=json:$.query")  # fmt: skip


def _rows(*rows: object) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def test_each_row_sends_its_own_method_headers_and_body(
    run_cli: RunCli, server: TestServer
) -> None:
    echo = f"{server.url}/echo"
    stdin = (
        _rows(
            {"url": echo, "method": "POST", "json": {"name": "Ann", "n": [1]}, "id": 1},
            {"url": echo, "method": "PUT", "body": "a=1", "headers": {"X-Row": "yes"}, "id": "b"},
            {"url": echo, "headers": {"User-Agent": "row-agent"}, "meta": {"k": [1, "x"]}},
        )
        + f"{echo}?plain=1\n".encode()
    )
    records = run_cli(*_ECHOED, "-H", "X-Run: all", "-", stdin=stdin).records
    sent = [r["extract"] for r in records]
    assert [(s["m"], s["b"]) for s in sent] == [
        ("POST", '{"name": "Ann", "n": [1]}'), ("PUT", "a=1"), ("GET", ""), ("GET", ""),
    ]  # fmt: skip
    assert sent[0]["h"]["content-type"] == "application/json"
    assert sent[1]["h"]["x-row"] == "yes" and "x-row" not in sent[3]["h"]
    assert sent[2]["h"]["user-agent"] == "row-agent"  # the row's replaces the run's default
    assert all(s["h"]["x-run"] == "all" for s in sent)  # the run's -H on every row
    assert [r["method"] for r in records] == ["POST", "PUT", "GET", "GET"]
    assert [(r.get("id"), r.get("meta")) for r in records] == [
        (1, None), ("b", None), (None, {"k": [1, "x"]}), (None, None),
    ]  # fmt: skip


def test_a_template_fills_the_url_the_headers_and_the_body(
    run_cli: RunCli, server: TestServer
) -> None:
    stdin = b"id,name\n7,Ann Lee\n8,Bo/Ra\n"
    records = run_cli(
        *_ECHOED, "--input-format", "csv", "--template", f"{server.url}/echo{{?id,name}}",
        "-H", "X-Id: {id}", "-d", '{"user": "{name}"}', "-", stdin=stdin,
    ).records  # fmt: skip
    first, second = records
    assert first["url"] == f"{server.url}/echo?id=7&name=Ann%20Lee"
    assert second["url"].endswith("/echo?id=8&name=Bo%2FRa")
    assert first["extract"]["m"] == "POST" and first["extract"]["b"] == '{"user": "Ann Lee"}'
    assert second["extract"]["h"]["x-id"] == "8"
    assert (first["id"], first["meta"]) == ("7", {"name": "Ann Lee"})


def test_a_row_timeout_is_its_own(run_cli: RunCli, server: TestServer) -> None:
    """A row's timeout replaces --timeout for that row only."""
    stdin = _rows({"url": f"{server.url}/hang", "timeout": 0.2}, {"url": f"{server.url}/ok"})
    records = run_cli("-t", "30", "-", stdin=stdin, expect=1).records
    assert records[0]["error"]["kind"] == "timeout" and records[0]["error"]["message"]
    assert records[1]["error"] is None


def test_bad_rows_are_records_and_the_others_go_on(run_cli: RunCli, server: TestServer) -> None:
    stdin = (
        _rows({"url": f"{server.url}/ok", "mehtod": "POST"}, {"url": f"{server.url}/ok"})
        + b'{"url": \n'
        + b'\xff{"url": "x"}\n'
    )
    records = run_cli("-", stdin=stdin, expect=1).records
    assert [r["error"] and r["error"]["kind"] for r in records] == [
        "invalid-request", None, "invalid-request", "invalid-url",
    ]  # fmt: skip
    assert "unknown key 'mehtod'" in records[0]["error"]["message"]
    assert [r["line"] for r in records] == [1, 2, 3, 4]
    assert server.stats.requests == 1
