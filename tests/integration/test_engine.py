"""The engine against a real HTTP server on 127.0.0.1: limits, reuse, order, bodies, timeouts."""

from __future__ import annotations

import io
import json
import socket
import threading

import pytest

from fetchcli.cli import main
from fetchcli.streams import Streams
from tests.conftest import RunCli
from tests.server import TestServer


def _urls(server: TestServer, path: str, count: int) -> bytes:
    return b"".join(
        f"{server.url}{path}{'&' if '?' in path else '?'}n={i}\n".encode() for i in range(count)
    )


def test_concurrency_is_reached_and_never_exceeded(run_cli: RunCli, server: TestServer) -> None:
    """-c 5 keeps exactly five requests in flight at the server, never more."""
    result = run_cli("-c", "5", stdin=_urls(server, "/hold?ms=60", 30))
    assert len(result.records) == 30
    assert server.stats.peak_in_flight == 5


def test_max_connections_caps_below_concurrency(run_cli, server) -> None:
    """--max-connections 3 holds even when -c asks for more."""
    run_cli("-c", "10", "--max-connections", "3", stdin=_urls(server, "/hold?ms=30", 20))
    assert server.stats.peak_in_flight <= 3
    assert server.stats.connections <= 3


def test_connections_are_kept_alive_and_reused(run_cli, server) -> None:
    """Sequential requests on one host share connections instead of opening one per URL."""
    result = run_cli("-c", "4", stdin=_urls(server, "/ok", 60))
    assert all(r["status"] == 200 for r in result.records)
    assert server.stats.requests == 60
    assert server.stats.connections <= 4


def test_input_order_is_kept_and_completion_order_is_not(run_cli, server) -> None:
    """By default records follow the input; --order completion writes them as they finish."""
    urls = [f"{server.url}/slow/400", f"{server.url}/ok", f"{server.url}/slow/150"]
    ordered = run_cli("-c", "3", *urls).records
    assert [r["url"] for r in ordered] == urls
    finished = run_cli("-c", "3", "--order", "completion", *urls).records
    assert [r["url"] for r in finished] == [urls[1], urls[2], urls[0]]


def test_input_order_with_many_urls_and_a_slow_head(run_cli, server) -> None:
    """A slow first URL does not reorder or lose any of the many records behind it."""
    stdin = f"{server.url}/slow/300\n".encode() + _urls(server, "/ok", 300)
    records = run_cli("-c", "8", stdin=stdin).records
    assert [r["line"] for r in records] == list(range(1, 302))


def test_read_timeout_on_a_server_that_never_answers(run_cli, server) -> None:
    """A server that accepts and never answers ends as a 'timeout' record, promptly."""
    [record] = run_cli("-t", "0.3", f"{server.url}/hang", expect=1).records
    assert record["error"]["kind"] == "timeout"
    assert 0.3 <= record["elapsed"] < 5  # never before the timeout, as it is said


def test_read_timeout_is_the_time_between_reads(run_cli, server) -> None:
    """A body that keeps coming, a piece every 0.15 s, outlasts a 0.5 s read timeout."""
    [record] = run_cli("-t", "0.5", f"{server.url}/drip?chunks=6&delay_ms=150&size=2").records
    assert record["error"] is None and record["bytes"] == 12


def test_connection_refused(run_cli) -> None:
    """Nothing listening on the port: error kind 'connect'."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    [record] = run_cli(f"http://127.0.0.1:{port}/", expect=1).records
    assert record["error"]["kind"] == "connect"


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/deflate-raw"])
def test_compressed_bodies_are_decoded(run_cli, server, path) -> None:
    """gzip and both flavours of deflate decode; bytes counts decoded bytes."""
    [record] = run_cli("--snippet", "16", f"{server.url}{path}").records
    assert record["snippet"] == "compressed hello"
    assert record["bytes"] == len("compressed hello " * 100)


def test_gzip_bomb_is_cut_at_max_size(run_cli, server) -> None:
    """A gzip bomb is decoded only up to --max-size: truncated, too-large, exact byte count."""
    [record] = run_cli("--max-size", "2MB", f"{server.url}/gzip-bomb?mb=200", expect=1).records
    assert record["bytes"] == 2_000_000
    assert record["truncated"] is True
    assert record["error"]["kind"] == "too-large"
    assert record["elapsed"] < 5


def test_huge_body_is_cut_without_reading_it_all(run_cli, server) -> None:
    """A 200 MB body with --max-size 1MiB stops reading at the cap."""
    [record] = run_cli("--max-size", "1MiB", f"{server.url}/big/200000000", expect=1).records
    assert record["bytes"] == 1024 * 1024
    assert record["truncated"] is True


def test_huge_body_under_the_cap_is_counted(run_cli, server) -> None:
    """A 30 MB body streams through; only its byte count and snippet are kept."""
    [record] = run_cli("--snippet", "5", f"{server.url}/big/30000000").records
    assert record["bytes"] == 30_000_000
    assert record["snippet"] == "xxxxx"


def test_drip_body_arrives_whole(run_cli, server) -> None:
    """A body sent slowly in chunks is read to the end."""
    [record] = run_cli(f"{server.url}/drip?chunks=5&delay_ms=20&size=3").records
    assert record["bytes"] == 15


def test_redirect_chain_and_loop(run_cli, server) -> None:
    """A chain is followed and counted; a loop stops at --max-redirects with 'redirects'."""
    ok, loop = run_cli(f"{server.url}/redirect/3", f"{server.url}/loop", expect=1).records
    assert (ok["status"], ok["redirects"], ok["final_url"]) == (200, 3, f"{server.url}/redirect/0")
    assert loop["error"]["kind"] == "redirects"
    assert loop["redirects"] == 10


def test_request_headers_reach_the_server(run_cli, server) -> None:
    """-H, -A and -u arrive; Accept-Encoding names only capped decoders."""
    [record] = run_cli(
        "--snippet", "2000", "-H", "X-Probe: 1", "-A", "agent/2", "-u", "u:p", f"{server.url}/echo"
    ).records
    snippet = record["snippet"]
    assert '"x-probe": "1"' in snippet
    assert '"user-agent": "agent/2"' in snippet
    assert '"authorization": "Basic dTpw"' in snippet
    assert '"accept-encoding": "gzip, deflate"' in snippet


def test_charsets_and_binary(run_cli, server) -> None:
    """latin-1 text decodes with its charset; binary gets no snippet; no type sniffs text."""
    latin, binary, untyped = run_cli(
        f"{server.url}/latin1", f"{server.url}/binary", f"{server.url}/no-type"
    ).records
    assert latin["snippet"] == "café olé"
    assert binary["snippet"] is None
    assert binary["bytes"] == 16 + 256
    assert untyped["snippet"] == "plain text without type"


@pytest.mark.parametrize(
    ("path", "kinds"),
    [
        ("/reset", {"connect", "protocol"}),
        ("/close-mid-headers", {"protocol"}),
        ("/short-body", {"protocol"}),
        ("/bad-chunked", {"protocol"}),
    ],
)
def test_misbehaving_servers_become_records(run_cli, server, path, kinds) -> None:
    """A server that breaks HTTP gives a record with an error kind, never a crash or hang."""
    [record] = run_cli("-t", "5", f"{server.url}{path}", expect=1).records
    assert record["error"]["kind"] in kinds


def test_huge_header_block_is_survived(run_cli, server) -> None:
    """100 KB of response headers (1,000 of them) neither crashes nor hangs the run: httpcore
    reads them all, aiohttp refuses more than its limit as a protocol error; either way the
    URL has its one record, at once."""
    result = run_cli("-t", "5", f"{server.url}/headers-big", "--include-headers", expect=None)
    [record] = result.records
    assert record["elapsed"] < 2
    if record["error"] is None:
        assert record["status"] == 200 and record["snippet"] == "ok"
        assert len([name for name in record["headers"] if name.startswith("x-pad-")]) == 1000
    else:
        assert record["error"]["kind"] == "protocol" and record["status"] is None
        assert result.code == 1


def test_every_url_gets_exactly_one_record(run_cli, server) -> None:
    """A mixed list of good, bad, slow and broken URLs yields one record per line, in order."""
    paths = ["/ok", "/status/500", "/reset", "/hang", "/gzip", "/loop", "/short-body"] * 6
    stdin = b"".join(f"{server.url}{p}\nnot a url\n".encode() for p in paths)
    records = run_cli("-c", "7", "-t", "0.5", stdin=stdin, expect=1).records
    assert [r["line"] for r in records] == list(range(1, 2 * len(paths) + 1))


def _echoed(record: dict[str, object]) -> dict[str, object]:
    return json.loads(str(record["snippet"]))


def test_url_credentials_become_basic_auth(run_cli, server) -> None:
    """user:pass@ in a URL is sent as Basic auth, and the record shows the password masked."""
    url = server.url.replace("http://", "http://alice:s3cret@") + "/echo"
    [record] = run_cli("--snippet", "2000", url).records
    assert _echoed(record)["headers"]["authorization"] == "Basic YWxpY2U6czNjcmV0"
    assert "alice:****@" in record["url"]


def test_default_headers_and_their_replacement(run_cli, server) -> None:
    """The default User-Agent names fetchcli; -H replaces a default of the same name."""
    [default] = run_cli("--snippet", "2000", f"{server.url}/echo").records
    assert _echoed(default)["headers"]["user-agent"].startswith("fetchcli/")
    [replaced] = run_cli(
        "--snippet", "2000", "-H", "User-Agent: mine/1", f"{server.url}/echo"
    ).records
    assert _echoed(replaced)["headers"]["user-agent"] == "mine/1"


def test_method_and_body_are_sent(run_cli, server) -> None:
    """-d sends a form body with POST; -X overrides the method and keeps the body."""
    [posted] = run_cli("--snippet", "2000", "-d", "a=1&b=2", f"{server.url}/echo").records
    echoed = _echoed(posted)
    assert (echoed["method"], echoed["body"]) == ("POST", "a=1&b=2")
    assert echoed["headers"]["content-type"] == "application/x-www-form-urlencoded"
    [put] = run_cli("--snippet", "2000", "-X", "PUT", "-d", "x", f"{server.url}/echo").records
    assert (_echoed(put)["method"], _echoed(put)["body"]) == ("PUT", "x")


def test_requests_go_through_the_proxy(run_cli, server) -> None:
    """--proxy URL: the request goes to the proxy in absolute form (the test server answers
    it as a proxy would, so the target's name never needs to resolve)."""
    [record] = run_cli(
        "--snippet", "2000", "--proxy", server.url, "http://target.invalid/echo?via=proxy"
    ).records
    echoed = _echoed(record)
    assert echoed["headers"]["host"] == "target.invalid"
    assert (echoed["path"], echoed["query"]) == ("/echo", "via=proxy")


def _plain_http_answerer(connections: int) -> int:
    """A port that answers every connection with a plain HTTP 400 before reading anything, as
    a web server does to a TLS ClientHello; its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        with listener:
            for _ in range(connections):
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    return int(listener.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [
        ("refused", "connect", "connection refused"),
        ("/hang", "timeout", "read timeout after 0.5s"),
        ("/reset", "connect", "connection reset by peer"),
        ("/close-mid-headers", "protocol", "server closed the connection without answering"),
        ("/short-body", "protocol", "server closed the connection before the end of the body"),
        ("/bad-chunked", "protocol", "malformed chunked body"),
        ("tls", "tls", "TLS handshake failed: wrong version number (is the port plain HTTP?)"),
    ],
)
def test_failures_read_the_same_on_every_transport(server, path, kind, message) -> None:
    """One plain wording per kind and cause, whatever sends the request: no library internals
    (cancel scopes, `ssl:default`, object reprs)."""
    if path == "refused":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    elif path == "tls":  # https:// to a port that answers plain HTTP at once
        url = f"https://127.0.0.1:{_plain_http_answerer(connections=3)}/"
    else:
        url = f"{server.url}{path}"
    for transport in ("aiohttp", "httpcore", "curl"):
        stdout, stderr = io.BytesIO(), io.StringIO()
        main(["--transport", transport, "-t", "0.5", url], Streams(io.BytesIO(), stdout, stderr))
        [record] = [json.loads(line) for line in stdout.getvalue().splitlines()]
        assert record["error"] == {"kind": kind, "message": message}, transport


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/next"


def test_a_failed_redirect_hop_is_named(run_cli, server) -> None:
    """A redirect to a dead port: the record's final_url is that hop, and its message says
    which redirect failed, not only "connection refused"."""
    hop = _refused_url()
    [record] = run_cli(f"{server.url}/redirect-abs?to={hop}", expect=1).records
    assert record["final_url"] == hop
    assert (record["status"], record["redirects"]) == (None, 1)
    assert record["error"] == {
        "kind": "connect",
        "message": f"connection refused (at redirect 1 to {hop})",
    }


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/pub/file.tar", "file:///etc/passwd"])
def test_a_redirect_to_another_scheme_is_refused_as_sent(run_cli, server, location) -> None:
    """A redirect to ftp: or file: is not followed; the message shows the Location as the
    server sent it (httpx would have given file:///etc/passwd the server's host)."""
    [record] = run_cli(f"{server.url}/redirect-abs?to={location}", expect=1).records
    scheme = location.split(":")[0]
    assert record["status"] == 302
    assert record["error"] == {
        "kind": "redirects",
        "message": f"redirect to unsupported scheme '{scheme}': {location}",
    }


def test_user_option_wins_over_credentials_in_the_url(run_cli, server) -> None:
    """-u beats user:pass@ in the URL, and -H Authorization beats both (as with curl)."""
    url = server.url.replace("http://", "http://alice:s3cret@") + "/echo"
    [by_user] = run_cli("--snippet", "2000", "-u", "bob:pw", url).records
    assert _echoed(by_user)["headers"]["authorization"] == "Basic Ym9iOnB3"
    [by_header] = run_cli(
        "--snippet", "2000", "-u", "bob:pw", "-H", "Authorization: Bearer t", url
    ).records
    assert _echoed(by_header)["headers"]["authorization"] == "Bearer t"
