"""The command line: the only typer code.

`fetchcli --version` alone is answered here, before typer and the options are imported: it is
what scripts and package managers run to check an install, and it takes half the time.

The cyclic garbage collector is off while the command starts: importing typer, httpx and the
rest makes a few hundred thousand objects that live as long as the process and no garbage
worth a collection, and the collections the allocations set off were 5 % of a one-off fetch.
It is on again before the first request (cli/app.py), and when `main` returns.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from fetchcli._version import __version__

__all__ = ["main"]


def main(argv: list[str] | None = None, streams: Any = None, *, transport: Any = None) -> int:
    """Run fetchcli; return the exit status (see cli/app.py)."""
    if streams is None and (sys.argv[1:] if argv is None else argv) == ["--version"]:
        sys.stdout.write(f"fetchcli {__version__}\n")
        return 0
    collecting = gc.isenabled()
    gc.disable()
    try:
        from fetchcli.cli.app import main as run_command

        return run_command(argv, streams, transport=transport, collect=collecting)
    finally:
        if collecting:
            gc.enable()
