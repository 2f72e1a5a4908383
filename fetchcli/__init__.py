"""fetchcli: fetch many URLs concurrently over one shared httpx.AsyncClient.

From Python: `fetchcli.fetch(urls, **options)` and `fetchcli.afetch(urls, **options)` (see
fetchcli/api.py), imported on first use so that the command line starts fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from fetchcli._version import __version__

# httpx's __init__ imports httpx._main, its own command line, and with it click, rich and
# pygments: some 40 % of httpx's import time, for an `httpx` command fetchcli never runs, and
# rich/click in every library caller's process. Marked absent, httpx falls back to the stub it
# has for installs without its CLI extra. (No effect if httpx was imported first.)
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

__all__ = ["__version__", "afetch", "fetch"]

if TYPE_CHECKING:
    from fetchcli.api import afetch, fetch


def __getattr__(name: str) -> Any:
    if name in ("fetch", "afetch"):
        from fetchcli import api

        return getattr(api, name)
    raise AttributeError(f"module 'fetchcli' has no attribute {name!r}")
