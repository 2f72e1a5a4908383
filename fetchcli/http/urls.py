"""httpx.URL for the URLs most lists hold, without parsing them twice.

Every URL was checked when it was read (config.url_problem); httpx then parses it again,
character by character, with regexes, a percent-encoder and an IPv4 validator: half the cost
of building a Request. A plain URL (lowercase host name or dotted IPv4, a port other than the
scheme's default, a path and query of characters httpx leaves as they are, no dot segments, no
user info, no fragment) parses to exactly its own pieces, so `plain_url` builds the same
httpx.URL from them. Anything else, or anything in doubt, goes to httpx.URL. A property test
holds the two equal (tests/unit/test_urls.py).
"""

from __future__ import annotations

import functools

import httpx

# httpx is pinned below 0.29 (pyproject.toml): a URL is one ParseResult in `_uri_reference`.
from httpx._urlparse import IPv4_STYLE_HOSTNAME, ParseResult

from fetchcli.settings.urls import PLAIN_URL

_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_url(url: str) -> httpx.URL:
    """httpx.URL(url), quicker for a plain URL."""
    return plain_url(url) or httpx.URL(url)


def plain_url(url: str) -> httpx.URL | None:
    """The httpx.URL of a plain URL, built from its pieces; None when `url` is not plain."""
    match = PLAIN_URL.fullmatch(url)
    if match is None:
        return None
    scheme, host, port_text, path, query = match.groups()
    if "/." in path:
        return None  # maybe dot segments, which httpx removes
    if not _plain_host(host):
        return None
    port = int(port_text) if port_text else None
    if port is not None and (port == _DEFAULT_PORTS[scheme] or port > 65535):
        return None
    parsed = _PlainURL.__new__(_PlainURL)
    # ParseResult is a named tuple: its fields in order, without its generated __new__.
    parsed._uri_reference = tuple.__new__(ParseResult, (scheme, "", host, port, path, query, None))
    parsed._text = url
    parsed._netloc = url[match.start(2) : match.end(3 if port_text else 2)].encode("ascii")
    return parsed


class _PlainURL(httpx.URL):
    """The httpx.URL of a plain URL. httpx works out its text, host, authority and user info
    from the pieces at every use, several times per request (for libcurl, the Host header,
    the origin, the credentials check, the record's final_url); a plain URL knows them."""

    _text: str
    _netloc: bytes

    def __str__(self) -> str:
        return self._text

    @property
    def host(self) -> str:
        return self._uri_reference.host  # lowercase ASCII, no IDNA (_plain_host)

    @property
    def netloc(self) -> bytes:
        return self._netloc

    @property
    def username(self) -> str:
        return ""  # the grammar has no user info

    @property
    def password(self) -> str:
        return ""


@functools.lru_cache(maxsize=1024)  # a list names few hosts, each many times
def _plain_host(host: str) -> bool:
    """A host httpx keeps as it is: not punycode (httpx shows it decoded), and a dotted IPv4
    address if it looks like one (httpx validates it, and says why it is not one)."""
    if host.startswith("xn--"):
        return False
    return not IPv4_STYLE_HOSTNAME.match(host) or _dotted_ipv4(host)


def _dotted_ipv4(host: str) -> bool:
    """Four decimal octets, no leading zeros: what ipaddress.IPv4Address accepts."""
    octets = host.split(".")
    return len(octets) == 4 and all(
        octet.isdigit()
        and len(octet) <= 3
        and (octet == "0" or not octet.startswith("0"))
        and int(octet) <= 255
        for octet in octets
    )
