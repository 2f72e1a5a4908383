"""The URL grammar fetchcli accepts: what a fetchable http(s) URL is, and the plainest kind of
URL, which the http layer builds from its pieces without parsing it again (http/urls.py)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 8 * 1024
_SCHEMES = ("http", "https")
# A URL of the plainest kind: http(s), a lowercase host name or address, maybe a port, a path of
# characters httpx leaves as they are. Checked here, and parsed from its pieces by http/urls.py.
PLAIN_URL = re.compile(
    r"(https?)://([a-z0-9][a-z0-9.\-]*)(?::([1-9][0-9]{0,4}))?"
    r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@/%\[\]^|]*)"
    r"(?:\?([A-Za-z0-9\-._~!$&'()*+,;=:@/%\[\]^|?`{}]*))?"
)


def url_problem(url: str) -> str | None:
    """Why `url` is not a fetchable http(s) URL, or None.

    >>> url_problem("ftp://example.com/"), url_problem("https:///path"), url_problem("http://a.b/")
    ("unsupported scheme 'ftp'", 'no host in URL', None)
    """
    if len(url.encode()) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH} bytes"
    plain = PLAIN_URL.fullmatch(url)
    if plain is not None and (plain[3] is None or int(plain[3]) <= 65535):
        return None  # most lines: nothing for urlsplit to find
    if not url.isprintable() or " " in url:
        return "URL contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"malformed URL: {exc}"
    if parts.scheme.lower() not in _SCHEMES:
        return f"unsupported scheme {parts.scheme!r}"
    if not parts.hostname:
        return "no host in URL"
    return None
