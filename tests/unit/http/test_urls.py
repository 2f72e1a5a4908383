"""The quick httpx.URL of a plain URL is exactly the one httpx builds, or none at all."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetchcli.http.urls import parse_url, plain_url

_HOST = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9.\-]{0,20}", fullmatch=True),
    st.builds(lambda *o: ".".join(o), *[st.from_regex(r"[0-9]{1,4}", fullmatch=True)] * 4),
    st.sampled_from(
        ["127.0.0.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1-2-3-4"]
        + ["xn--bcher-kva.example", "a.xn--bcher-kva"]
    ),
)
_PORT = st.one_of(st.none(), st.integers(0, 70000).map(str), st.sampled_from(["80", "443", "08"]))
_CHARS = list("aZ09-._~!$&'()*+,;=:@/%[]^|?`{}#\\ \"<>é") + ["%41", "%zz", "/./", "/.."]
_PIECE = st.lists(
    st.sampled_from(_CHARS),
    max_size=12,
).map("".join)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp"]))
    port = draw(_PORT)
    authority = draw(_HOST) + (f":{port}" if port is not None else "")
    userinfo = draw(st.sampled_from(["", "", "", "me@", "me:pw@"]))
    return f"{scheme}://{userinfo}{authority}{draw(st.sampled_from(['', '/']))}{draw(_PIECE)}"


def _httpx(url: str) -> httpx.URL | None:
    try:
        return httpx.URL(url)
    except httpx.InvalidURL:
        return None


@settings(max_examples=1000)
@given(urls())
def test_a_plain_url_parses_as_httpx_parses_it(url: str) -> None:
    quick = plain_url(url)
    if quick is None:
        return
    reference = _httpx(url)
    assert reference is not None, f"httpx refuses {url!r}"
    assert quick._uri_reference == reference._uri_reference
    assert quick == reference and str(quick) == str(reference)
    for piece in ("host", "raw_host", "port", "netloc", "username", "password", "userinfo"):
        assert getattr(quick, piece) == getattr(reference, piece), piece
    assert httpx.Request("GET", quick).headers["host"] == httpx.Request("GET", url).headers["host"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8088/512.txt?i=1",
        "https://example.com/a/b?x=1&y=%20",
        "https://www.example.org/path/to/page.html",
        "http://localhost:8080/",
    ],
)
def test_the_urls_of_a_typical_list_are_plain(url: str) -> None:
    assert plain_url(url) is not None
    assert parse_url(url) == httpx.URL(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://Example.com/",  # httpx lowers the host
        "http://example.com:80/",  # drops the default port
        "http://example.com/a/../b",  # removes dot segments
        "http://example.com/a b",  # quotes the space
        "http://user:pw@example.com/",  # user info
        "http://example.com/#top",  # a fragment
        "http://999.1.1.1/",  # rejects the address
        "http://xn--bcher-kva.example/",  # shows the host decoded, as bücher.example
        "http://example.com",  # adds no path here, but leaves it to httpx
    ],
)
def test_anything_else_is_left_to_httpx(url: str) -> None:
    assert plain_url(url) is None


@settings(max_examples=500)
@given(urls())
def test_a_plain_url_has_no_problem_to_find(url: str) -> None:
    """config.url_problem skips urlsplit for a plain URL: urlsplit would find nothing."""
    from urllib.parse import urlsplit

    from fetchcli.settings.urls import url_problem

    if plain_url(url) is None:
        return
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.hostname and parts.port != -1
    assert url_problem(url) is None
