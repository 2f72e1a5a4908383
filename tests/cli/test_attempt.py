"""The command line's flags for one attempt (redirects, Authorization, the body, request
options): the whole CLI run in-process against respx (no sockets). The Attempter on its own is
tests/unit/fetching/test_attempt.py."""

from __future__ import annotations

import gzip

import httpx
import pytest
import respx

from tests.conftest import RunCli


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_called=False)


@pytest.fixture
def transport(router: respx.Router) -> httpx.MockTransport:
    return httpx.MockTransport(router.async_handler)


def test_redirects_are_followed_and_counted(run_cli: RunCli, router, transport) -> None:
    """A redirect chain ends at its target; the record counts the hops and names the final URL."""
    router.get("https://a.test/1").respond(302, headers={"Location": "/2"})
    router.get("https://a.test/2").respond(301, headers={"Location": "https://b.test/end"})
    router.get("https://b.test/end").respond(200, text="done")
    [record] = run_cli("https://a.test/1", transport=transport).records
    assert record["status"] == 200
    assert record["redirects"] == 2
    assert record["final_url"] == "https://b.test/end"
    assert record["snippet"] == "done"


@pytest.mark.parametrize(
    "target", ["https://other.test/in", "http://a.test/in", "https://a.test:8443/in"]
)
def test_authorization_never_follows_to_another_origin(run_cli, router, transport, target) -> None:
    """-u credentials go to the origin asked for, never to another host, scheme or port."""
    router.get("https://a.test/").respond(302, headers={"Location": target})
    landing = router.get(target).respond(200, text="ok")
    run_cli("-u", "alice:secret", "https://a.test/", transport=transport)
    assert "authorization" not in landing.calls.last.request.headers


def test_authorization_kept_on_same_origin_redirect(run_cli, router, transport) -> None:
    """A redirect within the same origin keeps the credentials."""
    router.get("https://a.test/").respond(302, headers={"Location": "/in"})
    landing = router.get("https://a.test/in").respond(200)
    run_cli("-u", "alice:secret", "https://a.test/", transport=transport)
    assert landing.calls.last.request.headers["authorization"].startswith("Basic ")


def test_no_follow_reports_the_redirect_itself(run_cli, router, transport) -> None:
    """--no-follow records the 3xx response and does not fetch its Location."""
    router.get("https://a.test/").respond(302, headers={"Location": "/x"})
    landing = router.get("https://a.test/x").respond(200)
    [record] = run_cli("--no-follow", "https://a.test/", transport=transport).records
    assert (record["status"], record["redirects"]) == (302, 0)
    assert not landing.called


def test_too_many_redirects_is_an_error(run_cli, router, transport) -> None:
    """More hops than --max-redirects end with error kind 'redirects' and exit 1."""
    for hop in range(4):
        router.get(f"https://a.test/{hop}").respond(302, headers={"Location": f"/{hop + 1}"})
    result = run_cli("--max-redirects", "2", "https://a.test/0", transport=transport, expect=1)
    [record] = result.records
    assert record["error"]["kind"] == "redirects"
    assert record["redirects"] == 2


def test_max_size_cuts_the_body(run_cli, router, transport) -> None:
    """A body over --max-size is cut there and marked truncated with kind 'too-large'."""
    router.get("https://a.test/").respond(200, content=b"x" * 5000)
    result = run_cli("--max-size", "1KiB", "https://a.test/", transport=transport, expect=1)
    [record] = result.records
    assert record["bytes"] == 1024
    assert record["truncated"] is True
    assert record["error"]["kind"] == "too-large"


def test_gzip_body_is_decoded_and_counted_decoded(run_cli, router, transport) -> None:
    """`bytes` and the snippet are of the decoded body, not of the gzip on the wire."""
    text = "hello gzip " * 100
    router.get("https://a.test/").respond(
        200,
        content=gzip.compress(text.encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
    )
    [record] = run_cli("--snippet", "10", "https://a.test/", transport=transport).records
    assert record["bytes"] == len(text)
    assert record["snippet"] == "hello gzip"


def test_accept_encoding_lists_only_capped_decoders(run_cli, router, transport) -> None:
    """Only encodings fetchcli can decode under a cap are advertised."""
    route = router.get("https://a.test/").respond(200)
    run_cli("https://a.test/", transport=transport)
    assert route.calls.last.request.headers["accept-encoding"] == "gzip, deflate"


def test_snippet_uses_the_response_charset(run_cli, router, transport) -> None:
    """A latin-1 body is decoded with its declared charset."""
    router.get("https://a.test/").respond(
        200,
        content="café".encode("latin-1"),
        headers={"Content-Type": "text/plain; charset=latin-1"},
    )
    [record] = run_cli("https://a.test/", transport=transport).records
    assert record["snippet"] == "café"


def test_binary_content_has_no_snippet(run_cli, router, transport) -> None:
    """Images and other binary types get no snippet but still a byte count."""
    router.get("https://a.test/").respond(
        200, content=b"\x89PNG\0\0", headers={"Content-Type": "image/png"}
    )
    [record] = run_cli("https://a.test/", transport=transport).records
    assert record["snippet"] is None
    assert record["bytes"] == 6


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ConnectError("refused"), "connect"),
        (httpx.ConnectTimeout("slow"), "timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "protocol"),
    ],
)
def test_network_errors_become_records(run_cli, router, transport, error, kind) -> None:
    """A network failure is a record with an error kind, never a crash."""
    router.get("https://a.test/").mock(side_effect=error)
    [record] = run_cli("https://a.test/", transport=transport, expect=1).records
    assert record["error"]["kind"] == kind
    assert record["status"] is None


def test_request_options_shape_the_request(run_cli, router, transport) -> None:
    """-d makes a POST with a form body; -H and -A set headers; -X overrides the method."""
    route = router.route(host="a.test").respond(200)
    run_cli(
        "-d", "a=1", "-H", "X-Token: t", "-A", "probe/1", "https://a.test/", transport=transport
    )
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.content == b"a=1"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["x-token"] == "t"
    assert request.headers["user-agent"] == "probe/1"
    run_cli("-X", "put", "https://a.test/", transport=transport)
    assert route.calls.last.request.method == "PUT"


def test_data_from_file(run_cli, router, transport, tmp_path) -> None:
    """-d @FILE sends the file's bytes."""
    body = tmp_path / "body.json"
    body.write_bytes(b'{"k": 1}')
    route = router.route(host="a.test").respond(200)
    run_cli(
        "-d",
        f"@{body}",
        "-H",
        "Content-Type: application/json",
        "https://a.test/",
        transport=transport,
    )
    assert route.calls.last.request.content == b'{"k": 1}'
    assert route.calls.last.request.headers["content-type"] == "application/json"


def test_include_headers_adds_lowercased_headers(run_cli, router, transport) -> None:
    """--include-headers adds a headers object; repeats are joined with ', '."""
    router.get("https://a.test/").respond(
        200, headers=[("X-Multi", "a"), ("X-Multi", "b"), ("Content-Type", "text/plain")]
    )
    [record] = run_cli("--include-headers", "https://a.test/", transport=transport).records
    assert record["headers"]["x-multi"] == "a, b"
    [plain] = run_cli("https://a.test/", transport=transport).records
    assert "headers" not in plain


def test_no_cookies_are_kept_between_urls(run_cli, router, transport) -> None:
    """A cookie set by one URL is not sent to the next, as with curl."""
    router.get("https://a.test/set").respond(200, headers={"Set-Cookie": "s=1; Path=/"})
    later = router.get("https://a.test/later").respond(200)
    run_cli("-c", "1", "https://a.test/set", "https://a.test/later", transport=transport)
    assert "cookie" not in later.calls.last.request.headers
