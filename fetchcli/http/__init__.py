"""The http layer: the one httpx client, its transports (aiohttp, httpcore, libcurl), names,
proxies; the only code that knows httpcore, aiohttp, c-ares and libcurl."""

import sys

# httpx's __init__ imports httpx._main, its own command line, and with it click, rich and
# pygments: some 40 % of httpx's import time, for an `httpx` command fetchcli never runs, and
# rich/click in every library caller's process. Marked absent, httpx falls back to the stub it
# has for installs without its CLI extra. (No effect if httpx was imported first.)
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
