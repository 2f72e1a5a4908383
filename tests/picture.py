"""Make docs/table.svg: the table as a terminal shows it, from a real run in a pseudo-terminal
against the local test server. `python -m tests.picture` (it needs nothing but the test extras)."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console
from rich.text import Text

from tests.cli.test_terminal import run_in_terminal
from tests.server import TestServer

DOCS = Path(__file__).parents[1] / "docs"
COLUMNS = 160
PATHS = [
    "/ok",
    "/redirect/2",
    "/gzip",
    "/latin1",
    "/binary",
    "/status/404",
    "/slow/300",
    "/retry-after/1",
    "/short-body",
    "/pattern/120000?seed=a-long-query-string&delay_ms=10",
]


def main() -> None:
    with TestServer() as server:
        urls = [f"{server.url}{path}" for path in PATHS]
        screen = run_in_terminal("--no-progress", "-t", "2", *urls, columns=COLUMNS)
    text = screen.raw.decode().replace("\r\n", "\n")
    text = re.sub(r"\x1b\[\d*K|\r", "", text)  # line clearing, not content
    console = Console(record=True, width=COLUMNS, force_terminal=True, color_system="standard")
    console.print(Text.from_ansi(text), end="")
    console.save_svg(str(DOCS / "table.svg"), title="fetchcli urls…")
    print(f"wrote {DOCS / 'table.svg'}")


if __name__ == "__main__":
    main()
