"""Every private part of httpx, httpcore, aiohttp and asyncio that fetchcli's http layer relies
on, pinned: an upgrade that renames or reshapes one fails here, by name, before anything
subtler breaks. (The behaviour built on them is tested per transport in tests/integration.)"""

from __future__ import annotations

import inspect
from asyncio import sslproto

import aiohttp
import httpcore
import httpx
import pytest
from httpx._urlparse import IPv4_STYLE_HOSTNAME, ParseResult


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_httpx_url_is_one_parse_result() -> None:
    """http/urls.py builds an httpx.URL from a plain URL's pieces."""
    url = httpx.URL("http://a.test:8080/p?q=1")
    assert isinstance(url._uri_reference, ParseResult)
    assert ParseResult._fields == (
        "scheme", "userinfo", "host", "port", "path", "query", "fragment"
    )  # fmt: skip
    assert IPv4_STYLE_HOSTNAME.match("127.0.0.1")


def test_httpx_client_parts() -> None:
    """http/client.py: the one transport, the cookie jar, the redirect request builder."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    client = httpx.AsyncClient(transport=transport)
    assert client._transport is transport
    assert isinstance(client._cookies, httpx.Cookies)
    assert _parameters(client._build_redirect_request) == ["request", "response"]


def test_httpx_http_transport_holds_its_pool() -> None:
    """transports/httpcore.py replaces the transport's `_pool` with its own Pool."""
    transport = httpx.AsyncHTTPTransport()
    assert isinstance(transport._pool, httpcore.AsyncConnectionPool)


def test_httpcore_pool_bookkeeping() -> None:
    """transports/httpcore.py's Pool keeps httpcore's rules in its own pass over these."""
    pool = httpcore.AsyncConnectionPool(max_connections=3, max_keepalive_connections=2)
    for name in (
        "_requests", "_connections", "_max_connections", "_max_keepalive_connections",
        "_keepalive_expiry", "_ssl_context", "_http1", "_http2", "_network_backend",
    ):  # fmt: skip
        assert hasattr(pool, name), name
    assert (pool._max_connections, pool._max_keepalive_connections) == (3, 2)
    assert _parameters(pool._assign_requests_to_connections) == []
    assert _parameters(pool._close_connections) == ["closing"]
    assert _parameters(pool.create_connection) == ["origin"]


def test_httpcore_pool_request() -> None:
    """A queued request as the Pool sees it."""
    from httpcore._async.connection_pool import AsyncPoolRequest

    for name in ("is_queued", "assign_to_connection", "clear_connection"):
        assert callable(getattr(AsyncPoolRequest, name)), name
    request = AsyncPoolRequest(httpcore.Request("GET", "http://a.test/"))
    assert request.connection is None and request.is_queued()


@pytest.mark.parametrize(
    "name",
    ["can_handle_request", "has_expired", "is_available", "is_closed", "is_idle"],
)
def test_httpcore_connection_interface(name: str) -> None:
    """What the Pool asks each connection."""
    assert callable(getattr(httpcore.AsyncConnectionInterface, name))


def test_httpcore_proxy_connections() -> None:
    """The Pool makes proxied connections through httpcore's own proxy pool."""
    assert _parameters(httpcore.AsyncHTTPProxy.create_connection) == ["self", "origin"]


@pytest.mark.anyio
async def test_aiohttp_connector_hooks() -> None:
    """transports/aiohttp_connector.py overrides these and reads these."""
    for name in ("_get", "_create_connection", "_release", "connect"):
        assert callable(getattr(aiohttp.TCPConnector, name)), name
    assert _parameters(aiohttp.TCPConnector._get) == ["self", "key", "traces"]
    assert _parameters(aiohttp.TCPConnector._create_connection) == [
        "self", "req", "traces", "timeout"
    ]  # fmt: skip
    assert "should_close" in _parameters(aiohttp.TCPConnector._release)
    connector = aiohttp.TCPConnector(limit=4)
    assert isinstance(connector._conns, dict)
    assert isinstance(connector._acquired, set)
    assert connector._limit == 4
    await connector.close()


def test_asyncio_tls_read_buffer() -> None:
    """transports/aiohttp.py lowers asyncio's per-connection TLS read buffer."""
    assert isinstance(sslproto.SSLProtocol.max_size, int)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/p?q=1",
        "https://user:pw@a.test/",
        "http://[::1]:81/x",
        "https://b\u00fccher.test/",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "POST"])
@pytest.mark.parametrize("extra", [(), (("Host", "other.test"),)])
def test_new_request_is_what_httpx_builds(url: str, method: str, extra: tuple) -> None:
    """http/messages.py's new_request fills a Request and its Headers by hand: what it makes
    must be what httpx.Request makes, header for header."""
    from fetchcli.http.messages import new_request

    headers = httpx.Headers({"User-Agent": "fetchcli/1", "Accept": "*/*", **dict(extra)})
    extensions = {"timeout": {"read": 1.0}}
    ours = new_request(method, httpx.URL(url), headers, extensions)
    theirs = httpx.Request(method, httpx.URL(url), headers=headers, extensions=extensions)
    assert (ours.method, ours.url, ours.extensions) == (theirs.method, theirs.url, extensions)
    assert ours.headers.raw == theirs.headers.raw
    assert ours.headers.encoding == theirs.headers.encoding
    assert ours.read() == theirs.read() == b""
    assert list(ours.stream) == list(theirs.stream)  # type: ignore[call-overload]
    ours.headers["X-More"] = "1"  # its own headers: the client's are untouched
    assert "x-more" not in headers


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/p?q=1", "https://b\u00fccher.test/"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "patch"])
@pytest.mark.parametrize(
    "extra",
    [(), (("Host", "other.test"),), (("Content-Length", "3"),), (("Transfer-Encoding", "x"),)],
)
def test_new_request_with_body_is_what_httpx_builds(url: str, method: str, extra: tuple) -> None:
    from fetchcli.http.messages import new_request_with_body

    headers = httpx.Headers({"User-Agent": "fetchcli/1", "Content-Type": "a/b", **dict(extra)})
    extensions = {"timeout": {"read": 1.0}}
    body = '{"é": 1}'.encode()
    ours = new_request_with_body(method, httpx.URL(url), headers, extensions, body)
    theirs = httpx.Request(
        method, httpx.URL(url), headers=headers, content=body, extensions=extensions
    )
    assert (ours.method, ours.url, ours.extensions) == (theirs.method, theirs.url, extensions)
    assert ours.headers.raw == theirs.headers.raw
    assert ours.read() == theirs.read() == body
    assert list(ours.stream) == list(theirs.stream)  # type: ignore[call-overload]
    ours.headers["X-More"] = "1"
    assert "x-more" not in headers
    # A data row's headers, in place of the run's of the same name, as __setitem__ puts them.
    extra = (("content-type", "application/json"), ("X-Row", "1"), ("user-agent", "row"))
    ours = new_request_with_body(method, httpx.URL(url), headers, extensions, body, extra)
    for name, value in extra:
        theirs.headers[name] = value
    assert ours.headers.raw == theirs.headers.raw


def test_response_headers_are_what_httpx_builds() -> None:
    from fetchcli.http.messages import response_headers

    pairs = [(b"Content-Type", b"text/html"), (b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=\xe9")]
    ours, theirs = response_headers(pairs), httpx.Headers(pairs)
    assert ours.raw == theirs.raw and ours.multi_items() == theirs.multi_items()
    assert ours.get_list("set-cookie") == theirs.get_list("set-cookie")
    assert ours.encoding == theirs.encoding
    assert httpx.Response(200, headers=ours).headers.raw == theirs.raw


def test_new_response_is_what_httpx_builds() -> None:
    from fetchcli.http.messages import new_response

    request = httpx.Request("GET", "http://a.test/")
    headers = httpx.Headers([("Content-Type", "text/plain")])
    stream, extensions = httpx.ByteStream(b"body"), {"http_version": b"HTTP/1.1"}
    ours = new_response(200, headers, stream, request, extensions)
    theirs = httpx.Response(
        200, headers=headers, stream=stream, request=request, extensions=extensions
    )
    assert vars(ours).keys() == vars(theirs).keys()
    for name, value in vars(theirs).items():
        assert getattr(ours, name) == value, name
    assert (ours.reason_phrase, ours.http_version) == ("OK", "HTTP/1.1")


def test_head_fields_are_what_headers_get_gives() -> None:
    from fetchcli.http.messages import head_fields

    headers = httpx.Headers(
        [("Content-Type", "text/plain"), ("ETag", '"v1"'), ("X-Other", "1"), ("etag", '"v2"'),
         ("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")]
    )  # fmt: skip
    fields = head_fields(headers)
    for name in ("content-type", "content-encoding", "etag", "last-modified"):
        assert fields.get(name.encode()) == headers.get(name)


@pytest.mark.parametrize("odd", [b"caf\xc3\xa9", b"caf\xe9"])
def test_head_fields_decode_as_headers_get_does(odd: bytes) -> None:
    """An ASCII field beside a UTF-8 or Latin-1 one, and the odd one itself."""
    headers = httpx.Headers([(b"Content-Type", b"text/plain"), (b"ETag", odd)])
    fields = head_fields_of(headers)
    assert fields[b"content-type"] == headers.get("content-type")
    assert fields[b"etag"] == headers.get("etag")


def head_fields_of(headers: httpx.Headers) -> dict[bytes, str]:
    from fetchcli.http.messages import head_fields

    return head_fields(headers)
