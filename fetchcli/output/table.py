"""The results table: #, URL, Status, Time, Size, Type, Snippet, one line per URL.

Drawn line by line with fixed column widths rather than by rich's Table, which measures and
wraps every cell and took five seconds for 10,000 rows. rich still measures characters (wide
scripts, emoji) and supplies the colours. Cells hold text already sanitized by to_record(),
and nothing here reads markup.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.color import ColorSystem
from rich.filesize import decimal
from rich.style import Style

from fetchcli.models import Record, Result

HEADERS = ("#", "URL", "Status", "Time", "Size", "Type", "Snippet")
_RIGHT = {0, 3, 4}  # columns aligned right: #, Time, Size
_FLEXIBLE = (1, 6)  # URL and Snippet share what the others leave, 3:2
_CAPS = {2: 28, 5: 24}  # Status and Type never take more than this
_STATUS_STYLES = {2: "green", 3: "cyan", 4: "yellow", 5: "red"}
_MIN_FLEXIBLE = 12


@dataclass(frozen=True, slots=True)
class Row:
    """One URL as the table shows it: display strings only, so 10,000 rows stay small."""

    cells: tuple[str, ...]
    status_style: str


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
        # A failure has no snippet to show, so the column says why it failed.
        record["snippet"] or (record["error"] or {}).get("message") or "",
    )
    return Row(cells, style)


def render_results(results: Sequence[Result], *, width: int, color: bool) -> str:
    """The whole table for a list of results, as one string."""
    rows = [
        table_row(number, result, result.to_record())
        for number, result in enumerate(results, start=1)
    ]
    return "".join(f"{line}\n" for line in render_table(rows, width=width, color=color))


def render_table(rows: Sequence[Row], *, width: int, color: bool) -> Iterator[str]:
    """The table's lines, fitted to `width` columns; coloured when `color`."""
    widths = _column_widths(rows, width)
    paint = _Painter(color)
    yield _border("┏", "┳", "┓", "━", widths)
    yield _line([paint(h, "bold") for h in _fit(HEADERS, widths)], "┃")
    yield _border("┡", "╇", "┩", "━", widths)
    for row in rows:
        cells = _fit(row.cells, widths)
        styled = [paint(cell, _style(i, row)) for i, cell in enumerate(cells)]
        yield _line(styled, "│")
    yield _border("└", "┴", "┘", "─", widths)


def _style(column: int, row: Row) -> str:
    return row.status_style if column == 2 else "dim" if column == 6 else ""


def _column_widths(rows: Sequence[Row], width: int) -> list[int]:
    natural = [cell_len(h) for h in HEADERS]
    for row in rows:
        for column, cell in enumerate(row.cells):
            if len(cell) > natural[column] or not cell.isascii():
                natural[column] = max(natural[column], cell_len(cell))
    widths = [min(n, _CAPS.get(i, n)) for i, n in enumerate(natural)]
    fixed = sum(w for i, w in enumerate(widths) if i not in _FLEXIBLE)
    room = max(2 * _MIN_FLEXIBLE, width - fixed - (3 * len(HEADERS) + 1))
    url = min(natural[1], max(_MIN_FLEXIBLE, room * 3 // 5))
    widths[1], widths[6] = url, max(_MIN_FLEXIBLE, min(natural[6], room - url))
    return widths


def _fit(cells: Sequence[str], widths: Sequence[int]) -> list[str]:
    fitted = []
    for column, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        size = len(cell) if cell.isascii() else cell_len(cell)
        if size > width:
            cell, size = set_cell_size(cell, width - 1) + "…", width
        padding = " " * (width - size)
        fitted.append(padding + cell if column in _RIGHT else cell + padding)
    return fitted


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
