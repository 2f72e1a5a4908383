"""Requests from data: a JSON object on a line, a CSV row, or a line filling --template, made
into the URL and the RowRequest of a Line.

A row that cannot be a request (not JSON, an unknown key, a value of the wrong type, a URL that
is not one, a name the template needs and the row lacks) is a Line with error kind
`invalid-request` naming what is wrong; the other rows go on. Nothing here reads a file a row
names: a body is the row's own text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from fetchcli.models import RowRequest
from fetchcli.settings.checksums import parse_checksum
from fetchcli.settings.template import LINE, MissingValue, Template, text_of
from fetchcli.settings.urls import url_problem
from fetchcli.slots import frozen

ROW_KEYS = ("url", "method", "headers", "body", "json", "timeout", "id", "meta", "checksum")
_KEY_SET = frozenset(ROW_KEYS)
MAX_BODY = 1024 * 1024  # an inline body larger than this is refused for its row
MAX_LINE = 1024 * 1024  # a longer line is no request (nor a URL): its record says so
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_NAME = _METHOD
_FILLED = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # in -H values and -d text


class RowError(ValueError):
    """Why a row is no request; the message names the key."""


@frozen
class RowRules:
    """How rows are read in this run: the template, the run's -H and -d (which `{name}` fills
    with --template), and the scheme for a URL without one."""

    template: Template | None = None
    headers: tuple[tuple[str, str], ...] = ()
    data: bytes | None = None
    default_scheme: str = "https"


def json_row(text: str) -> dict[str, Any]:
    """A line that is a JSON object."""
    try:
        row = json.loads(text)
    except ValueError as exc:
        raise RowError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise RowError("not valid JSON: nested too deep") from None
    if not isinstance(row, dict):
        raise RowError(f"a JSON request is an object, not {type(row).__name__}")
    return row


def request_of(row: Mapping[str, Any], rules: RowRules, *, loose: bool) -> tuple[str, RowRequest]:
    """The URL and the request a row asks for. `loose` (CSV) lets unknown columns through as
    the template's values and the row's `meta`; in JSON an unknown key is a mistake."""
    names = rules.template.names if rules.template is not None else frozenset()
    if not loose and not _KEY_SET.issuperset(row):
        filled = _filled_names(rules)
        refused = [key for key in row if key not in _KEY_SET and key not in names | filled]
        if refused:
            raise RowError(f"unknown key {refused[0]!r} (a request has {', '.join(ROW_KEYS)})")
    url = _url(row, rules)
    method = _string(row, "method")
    if method is not None and not _METHOD.fullmatch(method):
        raise RowError(f"method: {method!r} is not an HTTP method")
    headers = _headers(row["headers"]) if "headers" in row else ()
    body = _body(row) if "body" in row or "json" in row else None
    if "json" in row and not any(name.lower() == "content-type" for name, _ in headers):
        headers = (*headers, ("Content-Type", "application/json"))
    if rules.template is not None:
        headers = (*_filled_headers(rules.headers, row), *headers)
        if body is None and rules.data is not None:
            body = _fill(rules.data.decode("utf-8", "replace"), row).encode()
    meta = row.get("meta")
    own = [key for key in row if key not in ROW_KEYS and key != LINE] if loose else []
    if own:  # a CSV row's columns of its own (the template's too): kept, to join results back
        meta = {key: row[key] for key in own} | (meta if isinstance(meta, dict) else {})
    request = RowRequest(
        method=None if method is None else method.upper(),
        headers=headers,
        body=body,
        timeout=_timeout(row.get("timeout")),
        id=_id(row.get("id")),
        meta=meta,
        checksum=_checksum(row.get("checksum")),
    )
    return url, request


def joined_back(row: Mapping[str, Any]) -> RowRequest | None:
    """What a row that is no request still carries to its record: its id and meta, so that
    even its failure joins back to it."""
    given = row.get("id")
    id_ = given if isinstance(given, str | int) and not isinstance(given, bool) else None
    meta = row.get("meta")
    if id_ is None and meta is None:
        return None
    return RowRequest(id=id_, meta=meta)


def _url(row: Mapping[str, Any], rules: RowRules) -> str:
    if rules.template is not None:
        if "url" in row and "url" not in rules.template.names:
            raise RowError("url: the row gives a URL and so does --template")
        try:
            url = rules.template.expand(row)
        except MissingValue as exc:
            raise RowError(str(exc)) from None
    else:
        given = row.get("url")
        if not isinstance(given, str) or not given.strip():
            raise RowError("url: missing" if given is None else "url: not a string")
        url = given.strip()
    if "://" not in url:
        url = f"{rules.default_scheme}://{url}"
    problem = url_problem(url)
    if problem is not None:
        raise RowError(f"url: {problem}")
    return url


def _string(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RowError(f"{key}: not a string")
    return value


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):  # a CSV cell: the object as JSON
        try:
            value = json.loads(value)
        except ValueError:
            raise RowError("headers: not a JSON object") from None
    if not isinstance(value, dict):
        raise RowError("headers: not an object of names to values")
    pairs = []
    for name, text in value.items():
        if not _HEADER_NAME.fullmatch(name):
            raise RowError(f"headers: {name!r} is not a header name")
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise RowError(f"headers: the value of {name!r} is not a string")
        text = str(text)
        if "\r" in text or "\n" in text:
            raise RowError(f"headers: the value of {name!r} holds CR or LF")
        pairs.append((name, text))
    return tuple(pairs)


def _body(row: Mapping[str, Any]) -> bytes | None:
    if "body" in row and "json" in row:
        raise RowError("body: give body or json, not both")
    if row.get("json") is not None:
        value = row["json"]
        body = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        data = body.encode()
    else:
        text = row.get("body")
        if text is None or text == "":
            return None
        if not isinstance(text, str):
            raise RowError("body: not a string (a JSON value goes in json)")
        data = text.encode()
    if len(data) > MAX_BODY:
        raise RowError(f"body: {len(data)} bytes, over the {MAX_BODY // 1024} KiB a row may hold")
    return data


def _timeout(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise RowError(f"timeout: {value!r} is not a number of seconds") from None
    if isinstance(value, bool) or not 0 < seconds < 1e6:
        raise RowError(f"timeout: {value!r} is not a number of seconds above 0")
    return seconds


def _checksum(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RowError("checksum: not a string (ALGO:HEX, as sha256:9f86d0...)")
    try:
        return str(parse_checksum(value))
    except ValueError as exc:
        raise RowError(f"checksum: {exc}") from None


def _id(value: Any) -> str | int | None:
    if value is None or isinstance(value, str | int) and not isinstance(value, bool):
        return value
    raise RowError("id: not a string or an integer")


def _fill(text: str, row: Mapping[str, Any]) -> str:
    """`{name}` in -H values and -d text, from the row (as written: no percent-encoding)."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name not in row:
            raise RowError(f"no value for {{{name}}} of -H or -d")
        return text_of(row[name])

    return _FILLED.sub(value, text)


def _filled_names(rules: RowRules) -> set[str]:
    """The names -H values and -d text ask a row for (with --template): keys a JSON row may
    have for them alone."""
    if rules.template is None:
        return set()
    texts = [value for _, value in rules.headers]
    if rules.data is not None:
        texts.append(rules.data.decode("utf-8", "replace"))
    return {name for text in texts for name in _FILLED.findall(text)}


def _filled_headers(
    headers: tuple[tuple[str, str], ...], row: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    filled = tuple((name, _fill(value, row)) for name, value in headers if _FILLED.search(value))
    for name, value in filled:
        if "\r" in value or "\n" in value:
            raise RowError(f"-H {name}: the row's value holds CR or LF")
    return filled


def csv_rows(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    """A CSV table's rows by line number, keyed by the header row (which needs a `url`
    column unless --template makes the URL: the caller checks)."""
    import csv  # only for --input-format csv: a list of URLs starts without it

    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield 1, RowError(f"the header row is not CSV: {exc}")
        return
    names = [name.strip() for name in header]
    while True:
        start = reader.line_num + 1  # a quoted cell may span lines: the row is where it starts
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, RowError(f"not CSV: {exc}")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            yield start, RowError(f"{len(cells)} cells under {len(names)} columns")
            continue
        yield start, dict(zip(names, cells, strict=True))
