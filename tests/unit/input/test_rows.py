"""The row parser and --template: every key, every bad value, on its own."""

from __future__ import annotations

import io
from typing import Any

import pytest

from fetchcli.input.rows import MAX_BODY, RowError, RowRules, json_row, request_of
from fetchcli.input.sources import Reading, iter_lines
from fetchcli.models import ErrorKind, RowRequest, request_key
from fetchcli.settings.model import InputFormat
from fetchcli.settings.template import Template

RULES = RowRules()


def _request(row: dict[str, Any], rules: RowRules = RULES) -> tuple[str, RowRequest]:
    return request_of(row, rules, loose=False)


def test_every_key_of_a_json_request() -> None:
    url, request = _request({
        "url": "api.test/users", "method": "put", "headers": {"X-A": "1", "X-N": 2},
        "body": "text", "timeout": 2.5, "id": 7, "meta": {"row": [1, 2]},
    })  # fmt: skip
    assert url == "https://api.test/users"
    assert request == RowRequest(
        method="PUT", headers=(("X-A", "1"), ("X-N", "2")), body=b"text", timeout=2.5,
        id=7, meta={"row": [1, 2]},
    )  # fmt: skip


def test_json_sets_the_body_and_its_type_unless_a_header_says_otherwise() -> None:
    _, request = _request({"url": "https://a.test/", "json": {"é": [1, None]}})
    assert request.body == '{"é": [1, null]}'.encode()
    assert request.headers == (("Content-Type", "application/json"),)
    _, typed = _request({"url": "https://a.test/", "json": 1, "headers": {"content-type": "x/y"}})
    assert typed.headers == (("content-type", "x/y"),) and typed.body == b"1"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"url": "https://a.test/", "nope": 1}, "unknown key 'nope'"),
        ({"method": "GET"}, "url: missing"),
        ({"url": 5}, "url: not a string"),
        ({"url": "ftp://a.test/"}, "url: unsupported scheme 'ftp'"),
        ({"url": "https://a.test/", "method": "GE T"}, "method: 'GE T' is not an HTTP method"),
        ({"url": "https://a.test/", "method": 1}, "method: not a string"),
        ({"url": "https://a.test/", "headers": ["X-A: 1"]}, "headers: not an object"),
        ({"url": "https://a.test/", "headers": {"X A": "1"}}, "headers: 'X A' is not a header"),
        ({"url": "https://a.test/", "headers": {"X-A": "1\r\nX-B: 2"}}, "holds CR or LF"),
        ({"url": "https://a.test/", "headers": {"X-A": None}}, "is not a string"),
        ({"url": "https://a.test/", "body": {"a": 1}}, "body: not a string"),
        ({"url": "https://a.test/", "body": "a", "json": 1}, "body or json, not both"),
        ({"url": "https://a.test/", "timeout": "soon"}, "timeout: 'soon' is not a number"),
        ({"url": "https://a.test/", "timeout": 0}, "above 0"),
        ({"url": "https://a.test/", "timeout": True}, "above 0"),
        ({"url": "https://a.test/", "id": 1.5}, "id: not a string or an integer"),
        ({"url": "https://a.test/", "body": "x" * (MAX_BODY + 1)}, "over the 1024 KiB"),
    ],
)  # fmt: skip
def test_a_bad_row_says_which_key_is_wrong(row: dict[str, Any], message: str) -> None:
    with pytest.raises(RowError, match=message.replace("(", r"\(")):
        _request(row)


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "not valid JSON"), ("[1]", "an object, not list"), ('{"a":' + "[" * 100_000, "JSON")],
)
def test_a_line_that_is_no_json_object(text: str, message: str) -> None:
    with pytest.raises(RowError, match=message):
        json_row(text)


def test_a_template_percent_encodes_values_and_keeps_reserved_ones_with_plus() -> None:
    template = Template.parse("https://api.test/users/{id}/{+path}{?q}")
    assert template.names == {"id", "path", "q"}
    rules = RowRules(template=template)
    url, _ = request_of({"id": "a b/c", "path": "x/y z", "q": "1&2"}, rules, loose=True)
    assert url == "https://api.test/users/a%20b%2Fc/x/y%20z?q=1%262"
    with pytest.raises(RowError, match=r"no value for \{id\} of --template"):
        request_of({"path": "x"}, rules, loose=True)


@pytest.mark.parametrize("text", ["https://a.test/{id", "https://a.test/id}", "https://a/{a b}"])
def test_a_template_that_does_not_parse(text: str) -> None:
    with pytest.raises(ValueError, match="not an RFC 6570 template"):
        Template.parse(text)


def test_with_a_template_the_run_s_headers_and_data_are_filled_per_row() -> None:
    rules = RowRules(
        template=Template.parse("https://a.test/{}"),
        headers=(("X-Id", "{id}"), ("X-Team", "ops")),
        data=b'{"name": "{name}", "n": 1}',
    )
    _, request = request_of({"_": "x", "id": "7", "name": "Ann"}, rules, loose=True)
    assert request.headers == (("X-Id", "7"),)  # the rest are the run's, sent as they are
    assert request.body == b'{"name": "Ann", "n": 1}'
    assert request.id == "7" and request.meta == {"name": "Ann"}  # own columns join back
    with pytest.raises(RowError, match=r"no value for \{name\} of -H or -d"):
        request_of({"_": "x", "id": "7"}, rules, loose=True)


def test_a_request_is_known_by_method_url_and_body() -> None:
    get = request_key("https://a.test/", RowRequest(id=1))
    assert get == "https://a.test/" == request_key("https://a.test/", None)
    post = request_key("https://a.test/", RowRequest(method="POST", body=b"a"))
    assert post != request_key("https://a.test/", RowRequest(method="POST", body=b"b"))
    assert post.startswith("POST https://a.test/ ")


def _lines(data: bytes, form: InputFormat, template: str | None = None) -> list[Any]:
    reading = Reading(form, RowRules(Template.parse(template) if template else None))
    return list(iter_lines(io.BytesIO(data), "in", "https", reading=reading))


def test_auto_reads_json_rows_and_url_lines_side_by_side() -> None:
    data = b'a.test/1\n{"url": "a.test/2", "id": 2}\n# comment\n{"url": 3}\n\n{broken\n'
    lines = _lines(data, InputFormat.AUTO)
    assert [(line.line, line.url) for line in lines[:2]] == [
        (1, "https://a.test/1"), (2, "https://a.test/2"),
    ]  # fmt: skip
    assert lines[1].request is not None and lines[1].request.id == 2
    kinds = [line.error.kind for line in lines[2:]]
    assert kinds == [ErrorKind.INVALID_REQUEST, ErrorKind.INVALID_REQUEST]
    assert [line.line for line in lines[2:]] == [4, 6]
    # lines: a `{` line is a (bad) URL; jsonl: a URL line is a (bad) request.
    assert _lines(b'{"url": "a.test"}\n', InputFormat.LINES)[0].error.kind is ErrorKind.INVALID_URL
    assert _lines(b"a.test\n", InputFormat.JSONL)[0].error.kind is ErrorKind.INVALID_REQUEST


def test_csv_rows_by_their_header_with_line_numbers() -> None:
    data = b'url,id,note\nhttps://a.test/1,1,"two\nlines"\nhttps://a.test/2,2\n,,\nnot a url,3,x\n'
    lines = _lines(data, InputFormat.CSV)
    assert lines[0].url == "https://a.test/1" and lines[0].line == 2  # the line it starts on
    assert lines[0].request.id == "1" and lines[0].request.meta == {"note": "two\nlines"}
    assert lines[1].error.message == "2 cells under 3 columns"
    assert lines[2].error.kind is ErrorKind.INVALID_REQUEST and lines[2].line == 6
    templated = _lines(b"name\nAnn Lee\n", InputFormat.CSV, "https://a.test/u/{name}")
    assert templated[0].url == "https://a.test/u/Ann%20Lee"


def test_a_template_fills_from_plain_lines() -> None:
    lines = _lines(b"alpha\nbe ta/x\n", InputFormat.AUTO, "https://a.test/{}")
    assert [line.url for line in lines] == ["https://a.test/alpha", "https://a.test/be%20ta%2Fx"]
    missing = _lines(b"alpha\n", InputFormat.AUTO, "https://a.test/{}?q={q}")
    assert missing[0].error.message == "no value for {q} of --template"


def test_a_line_over_one_mib_is_an_invalid_request_and_the_next_line_goes_on() -> None:
    big = b'{"url": "https://a.test/", "body": "' + b"x" * (2 * 1024 * 1024) + b'"}\n'
    lines = _lines(big + b"https://b.test/\n", InputFormat.AUTO)
    assert lines[0].error.kind is ErrorKind.INVALID_REQUEST
    assert lines[0].error.message == "line over 1 MiB" and len(lines[0].url) <= 200
    assert (lines[1].line, lines[1].url) == (2, "https://b.test/")


def test_a_row_that_is_no_request_keeps_its_id_and_meta_for_the_join() -> None:
    [line] = _lines(
        b'{"url": "a.test", "mehtod": "POST", "id": 4, "meta": {"k": 1}}\n', InputFormat.AUTO
    )
    assert line.error is not None and line.error.kind is ErrorKind.INVALID_REQUEST
    assert line.request is not None and (line.request.id, line.request.meta) == (4, {"k": 1})
    assert line.url.startswith('{"url": "a.test"')  # the row, never a URL to GET instead
