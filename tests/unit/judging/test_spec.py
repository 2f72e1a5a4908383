"""The judging options parse, or say in one line what is wrong (the CLI's exit 2)."""

from __future__ import annotations

import pytest

from fetchcli.judging import spec
from fetchcli.settings.build import OptionError, config_from


def test_statuses_take_classes_codes_and_ranges() -> None:
    assert spec.parse_statuses("2xx,304, 400-404") == ((200, 299), (304, 304), (400, 404))
    assert spec.statuses(" 2xx , 404") == "2xx,404"


@pytest.mark.parametrize("text", ["7xx", "200-100", "abc", "2000", ""])
def test_bad_statuses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        spec.parse_statuses(text)


def test_a_header_check_is_a_name_and_a_regex() -> None:
    assert spec.parse_header_check("Content-Type:  ^application/json") == (
        "Content-Type",
        "^application/json",
    )
    with pytest.raises(ValueError, match="Name: REGEX"):
        spec.parse_header_check("no colon here")
    with pytest.raises(ValueError, match="bad regular expression"):
        spec.parse_header_check("X-A: [")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v=json:$.a[", "bad JSONPath"),
        ("v=re:(", "bad regular expression"),
        ("v=header:", "needs a header name"),
        ("v=xpath://a", "SPEC is one of"),
        ("status=title", "record field"),
        ("2x=title", "NAME a word"),
        ("title", "NAME=SPEC"),
    ],
)
def test_bad_extracts_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        spec.parse_extract(text)


def test_expressions_compile_or_name_the_problem() -> None:
    assert spec.parse_check('status == 200 && json.status == "UP"')
    with pytest.raises(ValueError, match="does not compile: at 1:10"):
        spec.parse_check("status ==")
    with pytest.raises(ValueError, match="'stauts', which is not a field"):
        spec.parse_check("stauts == 200")
    # A macro's own variable is no field, and no mistake.
    assert spec.parse_check("json.items.all(item, item.id > 0)")
    # --where sees the record, whose fields differ from what --check sees.
    assert spec.parse_where('error.kind == "check"')
    with pytest.raises(ValueError, match="'body', which is not a field"):
        spec.parse_where('body.contains("x")')


def test_options_reach_the_config_and_bad_ones_name_their_flag() -> None:
    config = config_from(
        ["-"],
        {
            "check": ["status == 200"],
            "expect_status": "2xx",
            "extract": {"version": "json:$.build.version"},
            "expect_header": ["X-Build: ^1"],
            "slow": 1.5,
        },
    )
    judge = config.judge
    assert judge.check == ("status == 200",) and judge.expect_status == "2xx"
    assert judge.extract == (("version", "json:$.build.version"),)
    assert judge.expect_header == (("X-Build", "^1"),) and judge.judges
    with pytest.raises(OptionError, match="^--check: 'nope' names 'nope'"):
        config_from(["-"], {"check": ["nope"]})
    with pytest.raises(OptionError, match="^--extract: 'v' given twice"):
        config_from(["-"], {"extract": ["v=title", "v=header:Server"]})
    with pytest.raises(OptionError, match="^--expect-body: bad regular expression"):
        config_from(["-"], {"expect_body": ["("]})
