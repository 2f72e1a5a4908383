"""The network: the one httpx client, its transports and pools, names, one URL and many."""

import sys

# httpx's __init__ imports httpx._main, its own command line, and with it click, rich and
# pygments: some 40 % of httpx's import time, for an `httpx` command fetchcli never runs, and
# rich/click in every library caller's process. Marked absent, httpx falls back to the stub it
# has for installs without its CLI extra. (No effect if httpx was imported first.)
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
