"""The Judge on Results: what passes, what fails and what its message says it saw."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fetchcli.judging.judge import Judge
from fetchcli.judging.spec import JudgeSpec
from fetchcli.judging.where import record_filter
from fetchcli.models import ErrorInfo, ErrorKind, Result, Summary, Target

HEALTH = json.dumps({"status": "UP", "build": {"version": "1.4.2"}, "items": [{"id": 1}]})
JSON_HEADERS = [("Content-Type", "application/json"), ("X-Build", "1.4.2"), ("X-A", "1")]


def _fetched(
    status: int = 200, elapsed: float = 0.1, content_type: str = "application/json"
) -> Result:
    return Result(
        Target("https://user:pw@a.test/health", "arg", None),
        final_url="https://a.test/health", status=status, reason="OK", elapsed=elapsed,
        content_type=content_type, attempts=1,
    )  # fmt: skip


def _judged(
    result: Result, body: str | bytes = HEALTH, headers: list[tuple[str, str]] | None = None,
    **options: Any,
) -> Result:  # fmt: skip
    judge = Judge.from_spec(JudgeSpec(**options))
    raw = body.encode() if isinstance(body, str) else body
    return judge.judge(result, JSON_HEADERS if headers is None else headers, raw)


def test_passing_checks_leave_the_result_ok_with_no_failed_check() -> None:
    result = _judged(
        _fetched(),
        check=('json.status == "UP"', 'headers["x-build"].startsWith("1.")'),
        expect_status="2xx", expect_body=("UP",), reject_body=("DOWN",),
        expect_header=(("X-Build", r"^\d"),), slow=1.0,
    )  # fmt: skip
    assert result.error is None and result.checks == () and result.ok


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"check": ("status == 200",)}, "status == 200: status was 503"),
        ({"expect_status": "2xx,304"}, "--expect-status 2xx,304: status was 503"),
    ],
)
def test_a_failed_status_names_the_check_and_the_status_seen(
    options: dict[str, Any], message: str
) -> None:
    result = _judged(_fetched(503), **options)
    assert result.error == ErrorInfo(ErrorKind.CHECK, message) or (
        result.error is not None and result.error.message.endswith(message)
    )
    assert not result.ok


def test_with_checks_the_status_is_judged_too() -> None:
    """No --expect-status: a 503 that passes the body check still fails, as `status < 400`;
    with one, a status it names is a success, whatever its class."""
    down = _judged(_fetched(503), expect_body=("UP",))
    assert down.checks == ("status < 400",) and down.error is not None
    assert down.error.message == "status < 400: status was 503"
    gone = _judged(_fetched(404), body="", expect_status="404,410")
    assert gone.error is None and gone.ok


DOWN = '{"status": "DOWN"}'
UP = 'json.status == "UP"'
FAILURES = [
    ({"expect_body": ("UP",)}, DOWN, "--expect-body UP: no match in 18 characters of body"),
    ({"reject_body": ("DO+WN",)}, DOWN, '--reject-body DO+WN: body has "DOWN"'),
    (
        {"expect_header": (("X-Build", "^2"),)},
        HEALTH,
        '--expect-header X-Build: ^2: x-build was "1.4.2"',
    ),
    ({"expect_header": (("Server", "."),)}, HEALTH, "--expect-header Server: .: no server header"),
    ({"slow": 0.05}, HEALTH, "--slow 0.05: took 0.100s"),
    ({"check": (UP,)}, DOWN, f"{UP}: json was {DOWN}"),
    ({"check": (UP,)}, "<html>", f"{UP}: json was null (cannot evaluate: No such overload"),
    ({"check": ("size(body)",)}, "abc", 'size(body): is 3, not a bool (body was "abc")'),
]


@pytest.mark.parametrize(("options", "body", "message"), FAILURES)
def test_each_failure_says_what_it_saw(options: dict[str, Any], body: str, message: str) -> None:
    result = _judged(_fetched(), body=body, **options)
    assert result.error is not None and result.error.kind is ErrorKind.CHECK
    assert result.error.message.startswith(message)


def test_every_failed_check_is_named_in_the_record_and_counted() -> None:
    result = _judged(_fetched(), body='{"status": "DOWN"}', expect_body=("UP",), slow=0.01)
    assert result.checks == ("--expect-body UP", "--slow 0.01")
    assert result.error is not None and result.error.message.count("; ") == 1
    record = result.to_record()
    assert record["checks"] == ["--expect-body UP", "--slow 0.01"]
    summary = Summary()
    summary.add(result)
    assert summary.checks_failed == {"--expect-body UP": 1, "--slow 0.01": 1}
    assert summary.failures_by_kind == {"check": 1}


def test_a_failed_fetch_keeps_its_own_error_and_is_not_judged() -> None:
    failed = Result(Target("https://a.test/", "arg", None), attempts=1,
                    error=ErrorInfo(ErrorKind.CONNECT, "connection refused"))  # fmt: skip
    result = _judged(failed, check=("status == 200",), extract=(("v", "title"),))
    assert result.error == failed.error and result.checks == ()
    assert result.to_record()["extract"] == {"v": None}


def test_a_304_is_judged_on_status_and_headers_only() -> None:
    """--state's 304 carries no body: body checks are not failed for it."""
    result = _judged(
        _fetched(304), body=b"", expect_body=("UP",), expect_header=(("X-Build", "1"),),
        extract=(("t", "title"), ("b", "header:X-Build")),
    )  # fmt: skip
    assert result.error is None and result.extract == (("t", None), ("b", "1.4.2"))


def test_extractions_apply_or_give_null_never_an_error() -> None:
    extract = (
        ("version", "json:$.build.version"), ("ids", "json:$.items[*].id"),
        ("missing", "json:$.nope"), ("semver", r"re:(\d+)\.\d+"), ("whole", "re:UP"),
        ("build", "header:x-build"), ("server", "header:Server"), ("title", "title"),
    )  # fmt: skip
    on_json = dict(_judged(_fetched(), extract=extract).extract or ())
    assert on_json == {"version": "1.4.2", "ids": [1], "missing": None, "semver": "1",
                       "whole": "UP", "build": "1.4.2", "server": None, "title": None}  # fmt: skip
    binary = dict(
        _judged(
            _fetched(content_type="image/png"), body=b"\x89PNG\x00\xff", extract=extract
        ).extract
        or ()
    )
    assert binary["version"] is None and binary["ids"] is None and binary["title"] is None


def test_a_title_is_parsed_decoded_and_made_safe() -> None:
    page = "<html><head><title>\n Caf\u00e9 &amp; Bar \x1b[31mred\x1b[0m</title></head></html>"
    result = _judged(_fetched(content_type="text/html"), body=page, extract=(("t", "title"),))
    assert result.to_record()["extract"] == {"t": "Café & Bar red"}


def test_extracted_strings_are_sanitized_in_the_record_at_any_depth() -> None:
    body = json.dumps({"a": ["\x1b]0;pwned\x07x", {"k\x1b[2J": "\x07y"}]})
    result = _judged(_fetched(), body=body, extract=(("a", "json:$.a"),))
    assert result.to_record()["extract"] == {"a": ["x", {"k": "y"}]}


def test_a_check_reads_the_body_only_when_named() -> None:
    assert not Judge.from_spec(JudgeSpec(check=("status == 200",), slow=1.0)).needs_body
    assert Judge.from_spec(JudgeSpec(check=("json.ok == true",))).needs_body
    assert Judge.from_spec(JudgeSpec(extract=(("t", "title"),))).needs_body
    headers_only = Judge.from_spec(JudgeSpec(extract=(("s", "header:Server"),)))
    assert headers_only.needs_headers and not headers_only.needs_body


def test_where_keeps_the_records_the_expression_holds_for() -> None:
    keeps = record_filter('status >= 500 || (error != null && error.kind == "check")')
    ok = _fetched().to_record()
    failed = _judged(_fetched(), body="x", expect_body=("UP",)).to_record()
    assert [keeps(ok), keeps(failed), keeps(_fetched(503).to_record())] == [False, True, True]
    # An expression that cannot be evaluated on a record does not keep it.
    assert record_filter('error.kind == "check"')(ok) is False


@pytest.mark.parametrize("path", ["$.a", "$.a.b", "$.a[1]", "$.a[5]", "$.a[0].b", "$.n.x", "$"])
@pytest.mark.parametrize(
    "document",
    [{"a": {"b": 1}}, {"a": [{"b": 2}, 3]}, {"a": None, "n": 1}, [1, 2], "text", {"a": False}],
)
def test_a_plain_path_walked_selects_what_the_library_selects(path: str, document: Any) -> None:
    from fetchcli.judging import extract
    from fetchcli.judging.expressions import json_path

    steps = extract._plain_steps(path)
    assert steps is not None
    assert extract._walked(steps, document) == extract._json_value(json_path(path), document)


def test_a_verdict_changes_only_the_judged_fields() -> None:
    from dataclasses import replace

    result = _fetched()
    error = ErrorInfo(ErrorKind.CHECK, "x")
    judged = result.judged(("a",), (("v", 1),), error)
    assert judged == replace(result, checks=("a",), extract=(("v", 1),), error=error)
