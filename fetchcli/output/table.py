"""The results table: #, URL, Status, Time, Size, Type, Snippet, one line per URL.

Drawn line by line with fixed column widths rather than by rich's Table, which measures and
wraps every cell and took five seconds for 10,000 rows. rich still measures characters (wide
scripts, emoji) and supplies the colours. Cells hold text already sanitized by to_record(),
and nothing here reads markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.color import ColorSystem
from rich.filesize import decimal
from rich.style import Style

from fetchcli.models import Record, Result
from fetchcli.slots import frozen

HEADERS = ("#", "URL", "Status", "Time", "Size", "Type", "Snippet")
_RIGHT = {0, 3, 4}  # columns aligned right: #, Time, Size
_CAPS = {2: 28, 5: 24}  # Status and Type never take more than this
_STATUS_STYLES = {2: "green", 3: "cyan", 4: "yellow", 5: "red"}


@frozen
class Row:
    """One URL as the table shows it: display strings only, so 10,000 rows stay small."""

    cells: tuple[str, ...]
    status_style: str
    failed: bool = False  # its Snippet cell holds why it failed


def table_row(number: int, result: Result, record: Record) -> Row:
    """The row of one URL, from its Result and its record (the display-safe values)."""
    mime = (record["content_type"] or "").split(";", 1)[0]
    if result.error is not None:
        status = f"{result.status} " if result.status is not None else ""
        status_text, style = f"{status}{result.error.kind}", "bold red"
    else:
        status_text = f"{result.status} {record['reason'] or ''}".rstrip()
        style = _STATUS_STYLES.get((result.status or 0) // 100, "")
    cells = (
        str(number),
        record["url"],
        status_text,
        f"{result.elapsed:.2f}s" if result.attempts else "",
        decimal(result.bytes) if result.status is not None else "",
        mime,
        # A failed row says why in the column, even when a part of its body came.
        record["error"]["message"] if record["error"] else _snippet_cell(record),
    )
    return Row(cells, style, failed=result.error is not None)


def _snippet_cell(record: Record) -> str:
    """The snippet, or with --extract the values extracted (`version=1.4.2 title=Home`)."""
    extract = record.get("extract")
    if extract is None:
        return str(record["snippet"] or "")
    return " ".join(f"{name}={_shown_value(value)}" for name, value in extract.items())


def _shown_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def render_table(rows: Sequence[Row], *, width: int, color: bool) -> Iterator[str]:
    """The table's lines, never wider than `width` columns; coloured when `color`."""
    columns, widths = layout(rows, width)
    paint = _Painter(color)
    yield _border("┏", "┳", "┓", "━", widths)
    shown = list(zip(columns, widths, strict=True))
    yield _line([paint(_fit(HEADERS[c], w, c), "bold") for c, w in shown], "┃")
    yield _border("┡", "╇", "┩", "━", widths)
    for row in rows:
        yield _line([paint(_fit(row.cells[c], w, c), _style(c, row)) for c, w in shown], "│")
    yield _border("└", "┴", "┘", "─", widths)


def layout(rows: Sequence[Row], width: int) -> tuple[list[int], list[int]]:
    """Which columns to show and how wide, so that the table fits `width`.

    The URL has priority. #, URL, Status, Time and Size come first, each as wide as its widest
    cell; past the width, Status shrinks, then the URL (cut in the middle, see shorten_middle).
    When a row failed, the Snippet column is one of them too, as wide as the longest reason:
    it keeps 22 columns (`read timeout after 10s`) while the URL gives way to 24, and then
    Size goes. Type, then the snippets, take what is left, if it is enough to say something.
    """
    natural = [cell_len(h) for h in HEADERS]
    for row in rows:
        for column, cell in enumerate(row.cells):
            if len(cell) > natural[column] or not cell.isascii():
                natural[column] = max(natural[column], cell_len(cell))
    widths = {c: min(natural[c], _CAPS.get(c, natural[c])) for c in _ESSENTIAL}
    reasons = [cell_len(row.cells[_SNIPPET]) for row in rows if row.failed]
    if reasons:  # room for the reasons, not for the longest snippet
        widths[_SNIPPET] = max(*reasons, cell_len(HEADERS[_SNIPPET]))
    _squeeze(widths, _SQUEEZE_WITH_REASONS if reasons else _SQUEEZE, width)
    _grow(widths, 1, natural[1], width)  # room left by a column that went: the URL's again
    for column, floor in _OPTIONAL:
        wanted = min(natural[column], _CAPS.get(column, natural[column]))
        room = width - _table_width(widths) - 3
        if column in widths:
            _grow(widths, column, wanted, width)
        elif room >= min(wanted, floor):
            widths[column] = min(wanted, room)
    columns = sorted(widths)
    return columns, [widths[c] for c in columns]


def _squeeze(widths: dict[int, int], order: Sequence[tuple[int, int | None]], width: int) -> None:
    """Narrow the columns, in `order`, each to its floor at most, until the table fits."""
    for column, floor in order:
        excess = _table_width(widths) - width
        if excess <= 0:
            return
        if column in widths:
            if floor is None:
                del widths[column]
            else:
                widths[column] = max(min(widths[column], floor), widths[column] - excess)


def _grow(widths: dict[int, int], column: int, wanted: int, width: int) -> None:
    """Widen a shown column towards `wanted` with the room the table has left."""
    if column in widths:
        room = max(0, width - _table_width(widths))
        widths[column] = max(widths[column], min(wanted, widths[column] + room))


_ESSENTIAL = (0, 1, 2, 3, 4)  # #, URL, Status, Time, Size
_SNIPPET = 6
# Past the width, in order: (column, the width it may shrink to; None: it goes).
_SQUEEZE: tuple[tuple[int, int | None], ...] = (
    (2, 12),  # Status: `404 Not Fou…`, and an error kind whole (`200 protocol`)
    (1, 40),  # URL
    (2, 7),
    (1, 16),
    (3, None),  # Time
    (4, None),  # Size
)
# The same when a row failed, with the Snippet column (its reason) among them. A URL cut to 24
# still tells rows apart (host and port are kept); a failed row has no size to show.
_SQUEEZE_WITH_REASONS: tuple[tuple[int, int | None], ...] = (
    (2, 12),
    (_SNIPPET, 32),
    (1, 40),
    (2, 7),
    (_SNIPPET, 22),  # `connection refused`, `read timeout after 10s` whole
    (1, 24),
    (4, None),  # Size
    (1, 16),
    (_SNIPPET, 12),
    (3, None),  # Time
    (_SNIPPET, None),
)
_OPTIONAL = ((5, 10), (_SNIPPET, 16))  # Type, Snippet: (column, the least worth showing)


def _table_width(widths: dict[int, int]) -> int:
    return sum(widths.values()) + 3 * len(widths) + 1


def _style(column: int, row: Row) -> str:
    if column == _SNIPPET:
        return "red" if row.failed else "dim"
    return row.status_style if column == 2 else ""


def _fit(cell: str, width: int, column: int) -> str:
    size = len(cell) if cell.isascii() else cell_len(cell)
    if size > width:
        cell = shorten_middle(cell, width) if column == 1 else set_cell_size(cell, width - 1) + "…"
        size = cell_len(cell)
    padding = " " * (width - size)
    return padding + cell if column in _RIGHT else cell + padding


def shorten_middle(url: str, width: int) -> str:
    """A URL cut to `width` in the middle: it keeps its origin (scheme, host and port) and its
    end (the last path segment and the query), which tell rows apart.

    The path's middle goes first; then the scheme (and any user:****@), when keeping it would
    leave the end fewer than 8 characters; the host and port are cut only when they alone do
    not fit.

    >>> shorten_middle("https://example.com/a/very/long/path/to/page.html?x=1", 36)
    'https://example.com/a/…page.html?x=1'
    >>> shorten_middle("http://127.0.0.1:8080/a/long/path/page?n=12", 24)
    '127.0.0.1:8080/…age?n=12'
    """
    if cell_len(url) <= width:
        return url
    if width <= 1:
        return "…"[:width]
    if not url.isascii():  # wide characters: cut at the end, by cells (the origin comes first)
        return set_cell_size(url, width - 1) + "…"
    room = width - 1
    host, origin_end = _origin(url)
    end = len(url) - max(url.rfind("/") + 1, origin_end)
    for start, least in ((0, min(end, _LEAST_END)), (host, 0)):
        text = url[start:]
        if len(text) <= width:
            return text
        head = origin_end - start + url.startswith("/", origin_end)
        if start == host and origin_end - start <= room:
            head = min(head, room)  # `host:port…` at the least
        if head + end <= room:  # the path's middle goes
            return text[: room - end] + "…" + text[len(text) - end :]
        if head + least <= room:  # the end is cut too, from its start
            return text[:head] + "…" + text[len(text) - (room - head) :]
    origin = url[host:origin_end] or url
    keep_end = room // 2  # the port is at the end of it
    return origin[: room - keep_end] + "…" + origin[len(origin) - keep_end :]


_LEAST_END = 8  # the scheme goes rather than leave less of the URL's end than this


def _origin(url: str) -> tuple[int, int]:
    """Where the host starts (after `scheme://` and `user:****@`) and where the port ends.

    >>> _origin("https://u:****@example.com:8443/a?b"), _origin("not a url")
    ((15, 31), (0, 9))
    """
    scheme = url.find("://")
    start = scheme + 3 if scheme >= 0 else 0
    stops = [i for i in (url.find(c, start) for c in "/?#") if i >= 0]
    origin_end = min(stops, default=len(url))
    return url.rfind("@", start, origin_end) + 1 or start, origin_end


def _line(cells: Sequence[str], bar: str) -> str:
    return f"{bar} " + f" {bar} ".join(cells) + f" {bar}"


def _border(left: str, middle: str, right: str, fill: str, widths: Sequence[int]) -> str:
    return left + middle.join(fill * (w + 2) for w in widths) + right


class _Painter:
    """Wraps text in ANSI colour codes for a terminal; does nothing otherwise."""

    def __init__(self, color: bool) -> None:
        self._color = color
        self._styles: dict[str, Style] = {}

    def __call__(self, text: str, style: str) -> str:
        if not self._color or not style:
            return text
        parsed = self._styles.setdefault(style, Style.parse(style))
        return parsed.render(text, color_system=ColorSystem.STANDARD)
