"""Requests from data, run as a user runs them: the installed program in a subprocess against the
real test server, whose /echo sends back the method, path, query, headers and body it got. JSON
rows and plain lines in one file, CSV filling --template, -H and -d; bad rows as invalid-request
records; --failed-out and --dry-run written back as rows and fed in again; rows through a slow
stdin, two workers, input order, --dedupe, --skip-done and --shard; the Python API with dicts."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import fetchcli
from tests.helpers import (
    FETCHCLI,
    TIMEOUT,
    read_line,
    records_of,
    run_fetchcli,
    start_fetchcli,
    subprocess_env,
    timeless,
)
from tests.server import TestServer

pytestmark = pytest.mark.e2e

# What /echo got, as the records' `extract` shows it.
ECHOED = {
    "m": "json:$.method",
    "p": "json:$.path",
    "q": "json:$.query",
    "b": "json:$.body",
    "ct": 'json:$.headers["content-type"]',
    "x": 'json:$.headers["x-id"]',
}
EXTRACTS = [arg for name, spec in ECHOED.items() for arg in ("--extract", f"{name}={spec}")]


def _row(url: str, **fields: Any) -> dict[str, Any]:
    return {"url": url, **fields}


def _write(path: Path, *lines: str | dict[str, Any]) -> Path:
    """A list of rows: a dict as its JSON request line, a string as it is."""
    texts = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("".join(text + "\n" for text in texts))
    return path


def _fed(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`... | fetchcli ARGS`."""
    return subprocess.run(
        [*FETCHCLI, *args], input=stdin, capture_output=True, timeout=TIMEOUT, env=subprocess_env()
    )


def _echoed(record: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(record["extract"][name] for name in names)


def test_a_mixed_file_sends_each_row_as_asked(server: TestServer, tmp_path: Path) -> None:
    """URL lines and JSON rows in one file: each row's method, headers, body and timeout are
    what the server gets; id and meta come back in its record; every bad row is an
    invalid-request record naming what is wrong, and the rows after it go on."""
    u = server.url
    bad = [
        (_row(f"{u}/echo", nope=1), "unknown key 'nope'"),
        (_row(f"{u}/echo", method=5), "method: "),
        (_row(f"{u}/echo", headers=["X-A: 1"]), "headers: "),
        (_row(f"{u}/echo", id=[1]), "id: "),
        (_row(f"{u}/echo", timeout="soon"), "timeout: "),
        (_row("http://exa mple.test/"), "url: "),
        ('{"url": "' + u + '/echo",', "not valid JSON"),
        (_row(f"{u}/echo", body="x" * (1024 * 1024 + 1)), "line over 1 MiB"),
    ]
    put_headers = {"X-Id": "h1", "Content-Type": "text/plain"}
    rows = _write(
        tmp_path / "rows.jsonl",
        f"{u}/echo?plain",
        "# a comment",
        _row(f"{u}/echo/post", method="POST", json={"a": [1, "two"]}, id=7, meta={"k": "v"}),
        "",
        _row(f"{u}/echo/put", method="put", body="raw text", id="s", headers=put_headers),
        _row(f"{u}/hold?ms=1500", timeout=5),  # longer than the run's --timeout
        _row(f"{u}/hold?ms=1500&short", timeout=0.1),
        *(row for row, _ in bad),
    )
    done = run_fetchcli(str(rows), "--no-progress", "--timeout", "1", *EXTRACTS)
    assert done.returncode == 1
    got = {record["line"]: record for record in records_of(done.stdout)}
    assert sorted(got) == [1, 3, 5, 6, 7, *range(8, 8 + len(bad))]
    plain, post, put, held, short = (got[n] for n in (1, 3, 5, 6, 7))
    assert (plain["method"], *_echoed(plain, "m", "b")) == ("GET", "GET", "")
    assert "id" not in plain and "meta" not in plain
    assert _echoed(post, "m", "p", "q", "x") == ("POST", "/echo/post", "", None)
    assert _echoed(post, "b", "ct") == ('{"a": [1, "two"]}', "application/json")
    assert (post["method"], post["id"], post["meta"]) == ("POST", 7, {"k": "v"})
    assert put["method"] == "PUT"
    assert _echoed(put, "m", "b", "ct", "x") == ("PUT", "raw text", "text/plain", "h1")
    assert put["id"] == "s" and "meta" not in put
    assert held["status"] == 200 and held["error"] is None
    # (the row's 0.1 s is every timeout of that row: on a loaded machine the connect may be
    # what runs out first)
    assert short["error"]["kind"] == "timeout"
    assert short["error"]["message"] in ("read timeout after 0.1s", "connect timeout after 0.1s")
    for n, (_, words) in enumerate(bad, start=8):
        assert got[n]["error"]["kind"] == "invalid-request", got[n]
        assert got[n]["error"]["message"].startswith(words), got[n]
        assert got[n]["attempts"] == 0
    assert server.stats.requests in (4, 5)  # none for a bad row (the short one may not connect)
    assert f"invalid-request {len(bad)}, timeout 1" in done.stderr.decode()
    assert server.wait_idle()  # the hold it gave up on, over before the next test


def test_csv_rows_fill_the_template_headers_and_data(server: TestServer, tmp_path: Path) -> None:
    """{name} is percent-encoded in the URL (spaces, slashes, ? and &), {+path} keeps its
    slashes, -H and -d get the values as written; the columns the template does not use come
    back in `meta`; a row's line is where it starts, also after a quoted cell of two lines."""
    table = tmp_path / "people.csv"
    table.write_text(
        'name,id,path,note\nalice smith,1,a/b c,first\nx/y?z&w,2,p/q,"two\nlines"\nplain,3,,\n'
    )
    template = server.url + "/echo/{name}/{+path}?id={id}"
    filled = ("-H", "X-Id: {id}", "-d", "note={note}&who={name}")
    done = run_fetchcli(
        str(table), "-q", "--input-format", "csv", "--template", template, *filled, *EXTRACTS
    )
    assert done.returncode == 0, done.stderr
    records = records_of(done.stdout)
    assert [r["line"] for r in records] == [2, 3, 5]
    assert [_echoed(r, "p", "q", "x") for r in records] == [
        ("/echo/alice%20smith/a/b%20c", "id=1", "1"),
        ("/echo/x%2Fy%3Fz%26w/p/q", "id=2", "2"),
        ("/echo/plain/", "id=3", "3"),
    ]
    # A row's own columns, the template's too, join back in `meta` (a record shows a line
    # break as a space, as it shows any text).
    assert [(r["method"], *_echoed(r, "m", "b"), r["id"], r["meta"]["note"]) for r in records] == [
        ("POST", "POST", "note=first&who=alice smith", "1", "first"),
        ("POST", "POST", "note=two lines&who=x/y?z&w", "2", "two lines"),
        ("POST", "POST", "note=&who=plain", "3", ""),
    ]
    assert records[0]["meta"]["name"] == "alice smith"


@pytest.mark.parametrize(
    ("template", "line", "path", "query"),
    [
        ("/echo/{}", "a b/c", "/echo/a%20b%2Fc", ""),
        ("/echo/{+}", "a b/c", "/echo/a%20b/c", ""),
        ("/echo{?q,n}", '{"q": "x&y=z", "n": 2}', "/echo", "q=x%26y%3Dz&n=2"),
    ],
)
def test_a_line_or_a_json_row_fills_the_template(
    server: TestServer, template: str, line: str, path: str, query: str
) -> None:
    done = _fed(line.encode() + b"\n", "-q", "--template", server.url + template, *EXTRACTS)
    (record,) = records_of(done.stdout)
    assert _echoed(record, "p", "q") == (path, query), record


def test_a_row_missing_a_name_is_invalid(server: TestServer, tmp_path: Path) -> None:
    """A name the template or -H needs and the row lacks makes that row invalid-request; a
    JSON row may hold keys for -H alone, and no others."""
    rows = _write(
        tmp_path / "rows.jsonl",
        {"name": "a", "id": 1, "who": "w"},
        {"name": "b", "who": "w"},
        {"name": "c", "id": 3},
        "d",
        {"name": "e", "id": 5, "who": "w", "extra": 1},
    )
    template = server.url + "/echo/{name}?id={id}"
    who = ("-H", "X-Who: {who}", "--extract", 'who=json:$.headers["x-who"]')
    done = run_fetchcli(str(rows), "-q", "--template", template, *who)
    assert done.returncode == 1
    ok, *invalid = records_of(done.stdout)
    assert (ok["url"], ok["extract"]["who"], ok["id"]) == (f"{server.url}/echo/a?id=1", "w", 1)
    assert [r["error"]["kind"] for r in invalid] == ["invalid-request"] * 4
    assert [r["error"]["message"] for r in invalid[:3]] == [
        "no value for {id} of --template",
        "no value for {who} of -H or -d",
        "no value for {id} of --template",
    ]
    assert invalid[3]["error"]["message"].startswith("unknown key 'extra'")
    assert server.stats.requests == 1


@pytest.mark.parametrize("template", ["/echo/{name", "/echo/{na me}", "/echo/}", "/echo/{@x}"])
def test_a_bad_template_stops_before_any_fetch(
    server: TestServer, tmp_path: Path, template: str
) -> None:
    rows = _write(tmp_path / "rows.txt", f"{server.url}/echo", "name")
    done = run_fetchcli(str(rows), "--template", server.url + template)
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("fetchcli: error: --template: "), err
    assert done.stdout == b""
    assert server.stats.requests == 0


def test_failed_rows_are_written_back_and_resent_as_they_were(
    server: TestServer, tmp_path: Path
) -> None:
    """--failed-out writes each failed row as the request it made, and `fetchcli FILE` sends
    exactly those again, with the same method, headers and body; a row that was no request is
    written as it came, and stays one that is not sent."""
    u = server.url
    invalid = json.dumps(_row(f"{u}/status/500", methd="DELETE"))
    patch = _row(f"{u}/echo?again", method="PATCH", json={"n": 2, "flag": "FAIL"}, id=3)
    rows = _write(
        tmp_path / "rows.jsonl",
        _row(f"{u}/status/500", method="PUT", body="one", id="a"),
        _row(f"{u}/echo?ok", method="POST", json={"ok": True}, id="b"),
        patch | {"headers": {"X-Id": "c"}, "meta": {"m": 1}},
        f"{u}/status/500",
        invalid,
    )
    failed = tmp_path / "failed.txt"
    judge = ("--no-progress", "--reject-body", "FAIL", *EXTRACTS)
    first = run_fetchcli(str(rows), *judge, "--failed-out", str(failed))
    assert first.returncode == 1
    lines = failed.read_text().splitlines()
    assert lines[0] == lines[4] == "# check: status < 400: status was 500"
    assert json.loads(lines[1]) == _row(f"{u}/status/500", method="PUT", body="one", id="a")
    assert lines[2] == '# check: --reject-body FAIL: body has "FAIL"'
    assert lines[5] == f"{u}/status/500"
    assert lines[6].startswith("# invalid-request: unknown key 'methd'")
    assert lines[7] == invalid
    server.reset()
    again = run_fetchcli(str(failed), *judge)
    assert again.returncode == 1
    before = [r for r in records_of(first.stdout) if r.get("id") != "b"]
    after = records_of(again.stdout)
    shown = lambda r: (r["method"], r.get("id"), r.get("meta"), r.get("extract"))  # noqa: E731
    assert [shown(r) for r in after] == [shown(r) for r in before]
    assert _echoed(after[1], "m", "p", "q", "x") == ("PATCH", "/echo", "again", "c")
    assert _echoed(after[1], "b", "ct") == ('{"n": 2, "flag": "FAIL"}', "application/json")
    assert after[3]["error"]["kind"] == "invalid-request"
    assert Counter(server.stats.methods) == {"PUT": 1, "PATCH": 1, "GET": 1}
    assert dict(server.stats.paths) == {"/status/500": 2, "/echo": 1}


def test_a_dry_run_fed_back_sends_what_the_direct_run_sends(
    server: TestServer, tmp_path: Path
) -> None:
    """`fetchcli --dry-run rows | fetchcli -`: the expanded requests, template, -H and -d
    already filled in, make the same requests as the direct run."""
    table = tmp_path / "rows.csv"
    table.write_text("name,id,team\nalice smith,1,red\nx/y,2,blue\n")
    template = server.url + "/echo/{name}?id={id}"
    options = ("--input-format", "csv", "--template", template, "-H", "X-Id: {id}")
    options += ("-d", "team={team}")
    dry = run_fetchcli(str(table), "-q", "--dry-run", *options)
    assert dry.returncode == 0 and server.stats.requests == 0
    assert len(dry.stdout.splitlines()) == 2
    fed = _fed(dry.stdout, "-q", *EXTRACTS, "-")
    direct = run_fetchcli(str(table), "-q", *options, *EXTRACTS)
    assert fed.returncode == direct.returncode == 0
    same = lambda r: (r["url"], r["method"], r["id"], r["meta"], r["extract"])  # noqa: E731
    assert [same(r) for r in records_of(fed.stdout)] == [same(r) for r in records_of(direct.stdout)]
    assert _echoed(records_of(fed.stdout)[0], "m", "b", "x") == ("POST", "team=red", "1")
    assert server.stats.requests == 4


def test_rows_from_a_slow_producer_are_fetched_as_they_come(server: TestServer) -> None:
    with start_fetchcli("-q", "--extract", "b=json:$.body") as proc:
        assert proc.stdin is not None and proc.stdout is not None
        row = _row(f"{server.url}/echo", method="POST", json={"n": 1}, id=1)
        proc.stdin.write(json.dumps(row).encode() + b"\n")
        proc.stdin.flush()
        first = json.loads(read_line(proc))  # stdin still open
        assert (first["id"], first["extract"]["b"]) == (1, '{"n": 1}')
        proc.stdin.write(json.dumps(row | {"id": 2}).encode() + b"\n")
        proc.stdin.close()
        assert [r["id"] for r in records_of(proc.stdout.read())] == [2]
        assert proc.wait(timeout=TIMEOUT) == 0


def _many_rows(server: TestServer, path: Path, count: int) -> Path:
    u = server.url
    kinds = [
        lambda n: f"{u}/echo?plain={n}",
        lambda n: _row(f"{u}/echo", method="POST", json={"n": n}, id=n, meta={"sq": n * n}),
        lambda n: _row(f"{u}/echo?n={n}", method="PUT", body=f"b{n}", headers={"X-Id": str(n)}),
        lambda n: _row(f"{u}/status/500?n={n}", method="DELETE", id=f"s{n}"),
        lambda n: _row(f"{u}/echo?n={n}", bogus=n),
    ]
    return _write(path, *(kinds[n % len(kinds)](n) for n in range(count)))


def test_two_workers_give_the_records_of_one_process(server: TestServer, tmp_path: Path) -> None:
    rows = _many_rows(server, tmp_path / "rows.jsonl", 40)
    one = run_fetchcli(str(rows), "-q", *EXTRACTS)
    two = run_fetchcli(str(rows), "-q", *EXTRACTS, "--workers", "2")
    assert one.returncode == two.returncode == 1
    key = lambda r: r["line"]  # noqa: E731
    alone = sorted((timeless(r) for r in records_of(one.stdout)), key=key)
    split = sorted((timeless(r) for r in records_of(two.stdout)), key=key)
    assert split == alone and len(split) == 40
    assert (alone[1]["extract"]["b"], alone[1]["meta"]) == ('{"n": 1}', {"sq": 1})
    assert _echoed(alone[2], "m", "x") == ("PUT", "2")


def test_input_order_keeps_each_rows_line(server: TestServer, tmp_path: Path) -> None:
    """A slow first row does not let the later ones overtake it; each record has its row's
    line in the file, comments and blank lines counted."""
    u = server.url
    rows = _write(
        tmp_path / "rows.jsonl",
        _row(f"{u}/hold?ms=400", id="slow"),
        "# fast ones",
        _row(f"{u}/echo", method="POST", json=[1], id="b"),
        "",
        f"{u}/echo?c",
        _row(f"{u}/echo?d", id="d"),
    )
    done = run_fetchcli(str(rows), "-q", "-c", "4", "--order", "input")
    records = records_of(done.stdout)
    expected = [(1, "slow"), (3, "b"), (5, None), (6, "d")]
    assert [(r["line"], r.get("id")) for r in records] == expected


def test_dedupe_knows_a_request_by_method_url_and_body(server: TestServer, tmp_path: Path) -> None:
    u = server.url
    rows = _write(
        tmp_path / "rows.jsonl",
        _row(f"{u}/echo", method="POST", json={"a": 1}, id=1),
        _row(f"{u}/echo", method="POST", json={"a": 1}, id=2),  # a repeat
        _row(f"{u}/echo", method="POST", json={"a": 2}),
        _row(f"{u}/echo"),  # a GET: no repeat of the POSTs
        f"{u}/echo",  # a repeat of the GET
        _row(f"{u}/echo", method="PUT", json={"a": 1}),
    )
    done = run_fetchcli(str(rows), "--no-progress", "--dedupe")
    assert [r["line"] for r in records_of(done.stdout)] == [1, 3, 4, 6]
    assert sorted(server.stats.methods) == ["GET", "POST", "POST", "PUT"]
    assert "2 skipped (dedupe 2)" in done.stderr.decode()


def test_skip_done_skips_rows_whose_id_succeeded(server: TestServer, tmp_path: Path) -> None:
    """A row with an id is done when a record with that id succeeded, whatever its URL now; a
    GET without one by its URL; a POST without one is sent again (a record cannot tell which
    body it sent)."""
    u = server.url
    log = tmp_path / "log.jsonl"
    first = _write(
        tmp_path / "first.jsonl",
        _row(f"{u}/echo?1", method="POST", json={"a": 1}, id="u1"),
        _row(f"{u}/status/500", method="POST", json={"a": 2}, id="u2"),
        _row(f"{u}/echo?get"),
        _row(f"{u}/echo?post", method="POST", json={"a": 4}),
    )
    assert run_fetchcli(str(first), "-q", "--records", str(log)).returncode == 1
    second = _write(
        tmp_path / "second.jsonl",
        _row(f"{u}/echo?moved", method="POST", json={"a": 1}, id="u1"),
        _row(f"{u}/echo?2", method="POST", json={"a": 2}, id="u2"),
        _row(f"{u}/echo?get"),
        f"{u}/echo?get",
        _row(f"{u}/echo?post", method="POST", json={"a": 4}),
    )
    server.reset()
    done = run_fetchcli(str(second), "--no-progress", "--skip-done", str(log))
    assert done.returncode == 0
    assert [r["line"] for r in records_of(done.stdout)] == [2, 5]
    assert server.stats.requests == 2
    assert "3 skipped (skip-done 3)" in done.stderr.decode()


def test_two_shards_cover_every_row_once(server: TestServer, tmp_path: Path) -> None:
    """Each row in exactly one of two shards: URL lines, POSTs to one URL with other bodies,
    rows that are no request."""
    rows = _many_rows(server, tmp_path / "rows.jsonl", 25)
    shards = [run_fetchcli(str(rows), "-q", "--shard", f"{i}/2").stdout for i in (1, 2)]
    lines = [{r["line"] for r in records_of(shard)} for shard in shards]
    assert lines[0] and lines[1]
    assert not lines[0] & lines[1]
    assert lines[0] | lines[1] == set(range(1, 26))
    assert server.stats.requests == 20  # not the 5 invalid rows


def test_the_api_takes_request_dicts(server: TestServer) -> None:
    u = server.url
    requests = [
        _row(f"{u}/echo", method="POST", json={"a": 1}, id=1),
        f"{u}/echo?plain",
        _row(f"{u}/echo", nope=2),
        _row(f"{u}/echo", method="PUT", body="x", headers={"X-Id": "h"}, meta={"k": [1]}),
    ]
    extract = [f"{name}={spec}" for name, spec in ECHOED.items()]
    post, plain, bad, put = fetchcli.fetch(requests, extract=extract)
    assert (post["method"], post["id"]) == ("POST", 1)
    assert _echoed(post, "b", "ct") == ('{"a": 1}', "application/json")
    assert (plain["method"], plain["extract"]["q"]) == ("GET", "plain")
    assert "id" not in plain and "meta" not in plain
    assert bad["error"]["kind"] == "invalid-request" and "nope" in bad["error"]["message"]
    assert _echoed(put, "m", "b", "x") == ("PUT", "x", "h")
    assert put["meta"] == {"k": [1]} and "id" not in put
    assert sorted(server.stats.methods) == ["GET", "POST", "PUT"]
