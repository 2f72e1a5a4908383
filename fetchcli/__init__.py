"""fetchcli: fetch many URLs concurrently over one shared httpx.AsyncClient.

From Python: `fetchcli.fetch(urls, **options)` and `fetchcli.afetch(urls, **options)` (see
fetchcli/api.py), imported on first use so that the command line starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fetchcli._version import __version__

__all__ = ["__version__", "afetch", "fetch"]

if TYPE_CHECKING:
    from fetchcli.api import afetch, fetch


def __getattr__(name: str) -> Any:
    if name in ("fetch", "afetch"):
        from fetchcli import api

        return getattr(api, name)
    raise AttributeError(f"module 'fetchcli' has no attribute {name!r}")
