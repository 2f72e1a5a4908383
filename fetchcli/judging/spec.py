"""What a run is asked to judge, as plain data: the option values of --check, the shorthands,
--extract and --where, each parsed and checked here (a bad one raises ValueError, which the
settings turn into one line naming the flag). judge.py compiles them into the run's Judge.
"""

from __future__ import annotations

import re

from fetchcli.judging.fields import CHECK_FIELDS, RECORD_NAMES, WHERE_FIELDS
from fetchcli.slots import frozen

StatusRange = tuple[int, int]  # lowest and highest status, inclusive


@frozen
class JudgeSpec:
    """What to judge each fetched URL on: the checks and extractions, as given."""

    check: tuple[str, ...] = ()  # CEL expressions, every one must hold
    expect_status: str | None = None  # `2xx,304`, as given (checked by parse_statuses)
    expect_body: tuple[str, ...] = ()  # regular expressions the body must match
    reject_body: tuple[str, ...] = ()  # ... and must not
    expect_header: tuple[tuple[str, str], ...] = ()  # (name, regular expression)
    slow: float | None = None  # seconds: a fetch that took longer fails
    cert_days: float | None = None  # a certificate with fewer days left fails (--tls-info)
    extract: tuple[tuple[str, str], ...] = ()  # (name, spec)
    where: str | None = None  # CEL over the record: which records go to stdout

    @property
    def judges(self) -> bool:
        """Whether anything is judged or extracted per URL (--where filters afterwards)."""
        return bool(
            self.check
            or self.expect_status is not None
            or self.expect_body
            or self.reject_body
            or self.expect_header
            or self.slow is not None
            or self.cert_days is not None
            or self.extract
        )


def parse_statuses(text: str) -> tuple[StatusRange, ...]:
    """`2xx,304,400-404` -> ranges.

    >>> parse_statuses("2xx, 304,400-404")
    ((200, 299), (304, 304), (400, 404))
    """
    ranges = []
    for item in (part.strip().lower() for part in text.split(",")):
        if re.fullmatch(r"[1-5]xx", item):
            low = int(item[0]) * 100
            ranges.append((low, low + 99))
        elif match := re.fullmatch(r"(\d{3})(?:-(\d{3}))?", item):
            low, high = int(match[1]), int(match[2] or match[1])
            if not 100 <= low <= high <= 599:
                raise ValueError(f"{item!r} is not a status or a range of them (100-599)")
            ranges.append((low, high))
        else:
            raise ValueError(f"expected statuses like 2xx,304,400-404, got {item!r}")
    return tuple(ranges)


def statuses(text: str) -> str:
    """--expect-status's value, kept as written (messages name it so) once it parses."""
    parse_statuses(text)
    return ",".join(part.strip() for part in text.split(","))


def parse_regex(text: str) -> str:
    """A regular expression (Python's syntax), checked here so that a bad one stops the run."""
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"bad regular expression {text!r}: {exc}") from None
    return text


def parse_header_check(text: str) -> tuple[str, str]:
    """`Name: REGEX` -> (name, regex).

    >>> parse_header_check("Content-Type: ^application/json")
    ('Content-Type', '^application/json')
    """
    name, colon, pattern = text.partition(":")
    name = name.strip()
    if not colon or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
        raise ValueError(f"expected 'Name: REGEX', got {text!r}")
    return name, parse_regex(pattern.strip())


_EXTRACT_NAME = r"[A-Za-z_][A-Za-z0-9_]*"  # compiled when a run extracts
_EXTRACT_KINDS = ("json:", "re:", "header:")


def parse_extract(text: str) -> tuple[str, str]:
    """`NAME=SPEC` -> (name, spec), the spec checked: `json:$.path`, `re:REGEX`, `header:NAME`
    or `title`.

    >>> parse_extract("version=json:$.build.version"), parse_extract("t=title")
    (('version', 'json:$.build.version'), ('t', 'title'))
    """
    name, equals, spec = text.partition("=")
    name = name.strip()
    if not equals or not re.fullmatch(_EXTRACT_NAME, name):
        raise ValueError(f"expected NAME=SPEC with NAME a word (letters, digits, _), got {text!r}")
    if name in RECORD_NAMES:
        raise ValueError(f"{name!r} is a record field already: choose another name")
    if spec.startswith("json:"):
        from fetchcli.judging import expressions  # the parsers only when an option asks

        expressions.json_path(spec.removeprefix("json:"))
    elif spec.startswith("re:"):
        parse_regex(spec.removeprefix("re:"))
    elif spec.startswith("header:"):
        if not spec.removeprefix("header:").strip():
            raise ValueError("header: needs a header name, as in server=header:Server")
    elif spec != "title":
        kinds = ", ".join(f"{kind}..." for kind in _EXTRACT_KINDS)
        raise ValueError(f"{name}: SPEC is one of {kinds} or title, got {spec!r}")
    return name, spec


def names(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """--extract given twice under one name is a mistake, not a replacement."""
    seen = [name for name, _ in pairs]
    for name in seen:
        if seen.count(name) > 1:
            raise ValueError(f"{name!r} given twice")
    return pairs


def parse_check(text: str) -> str:
    """A --check expression, compiled to see that it can be, naming only known fields."""
    from fetchcli.judging import expressions

    expressions.compile_expression(text, CHECK_FIELDS)
    return text


def parse_where(text: str) -> str:
    from fetchcli.judging import expressions

    expressions.compile_expression(text, WHERE_FIELDS)
    return text
