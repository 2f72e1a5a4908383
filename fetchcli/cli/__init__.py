"""The command line: the only typer code.

`fetchcli --version` alone is answered here, before typer and the options are imported: it is
what scripts and package managers run to check an install, and it takes half the time.
"""

from __future__ import annotations

import sys
from typing import Any

from fetchcli._version import __version__

__all__ = ["main"]


def main(argv: list[str] | None = None, streams: Any = None, *, transport: Any = None) -> int:
    """Run fetchcli; return the exit status (see cli/app.py)."""
    if streams is None and (sys.argv[1:] if argv is None else argv) == ["--version"]:
        sys.stdout.write(f"fetchcli {__version__}\n")
        return 0
    from fetchcli.cli.app import main as run_command

    return run_command(argv, streams, transport=transport)
