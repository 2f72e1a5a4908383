"""Proxies, through a real forward proxy (tests/proxy_server.py), on every transport: the
environment's proxy variables and --proxy, CONNECT for https, NO_PROXY, credentials, and one
bound on connections proxied or not."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

import fetchcli
from tests.conftest import RunCli
from tests.proxy_server import ProxyServer
from tests.server import TestServer

# Names only the proxy knows: a URL naming one works only if fetchcli left it to the proxy.
HOSTS = {"target.invalid": "127.0.0.1", "secure.invalid": "127.0.0.1"}


@pytest.fixture(scope="module")
def _proxy() -> Iterator[ProxyServer]:
    with ProxyServer(hosts=HOSTS) as proxy:
        yield proxy


@pytest.fixture
def proxy(_proxy: ProxyServer) -> ProxyServer:
    _proxy.reset()
    return _proxy


@pytest.fixture(scope="module")
def _guarded() -> Iterator[ProxyServer]:
    with ProxyServer(hosts=HOSTS, credentials=("alice", "p@ss word")) as proxy:
        yield proxy


@pytest.fixture
def guarded(_guarded: ProxyServer) -> ProxyServer:
    """A proxy that wants `Proxy-Authorization` for alice, password `p@ss word`."""
    _guarded.reset()
    return _guarded


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA) -> Iterator[TestServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "secure.invalid").configure_cert(context)
    with TestServer(ssl_context=context) as server:
        yield server


@pytest.fixture(scope="module")
def _tls_proxy(ca: trustme.CA) -> Iterator[ProxyServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with ProxyServer(hosts=HOSTS, ssl_context=context) as proxy:
        yield proxy


@pytest.fixture
def tls_proxy(_tls_proxy: ProxyServer) -> ProxyServer:
    """An https proxy: TLS to the proxy itself, its certificate from `ca`."""
    _tls_proxy.reset()
    return _tls_proxy


def _echoed(record: dict[str, Any]) -> dict[str, Any]:
    assert record["status"] == 200, record
    echoed: dict[str, Any] = json.loads(record["snippet"])
    return echoed


def test_http_proxy_is_honoured(
    run_cli: RunCli, server: TestServer, proxy: ProxyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY: an http URL goes to the proxy, which resolves the name fetchcli could not."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    url = f"{server.url_for('target.invalid')}/echo?via=env"
    [record] = run_cli("--snippet", "2000", url).records
    assert _echoed(record)["headers"]["host"] == f"target.invalid:{server.port}"
    assert proxy.targets() == [f"GET {url}"]


def test_https_goes_through_a_connect_tunnel(
    run_cli: RunCli,
    tls_server: TestServer,
    ca_file: Path,
    proxy: ProxyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTPS_PROXY: an https URL is a CONNECT to the proxy, TLS inside it checked as ever."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")  # not for https URLs
    url = f"{tls_server.url_for('secure.invalid')}/ok"
    [record] = run_cli("--cacert", str(ca_file), url).records
    assert (record["status"], record["snippet"]) == (200, "hello world")
    assert proxy.targets() == [f"CONNECT secure.invalid:{tls_server.port}"]


def test_tunnelled_tls_is_still_verified(
    run_cli: RunCli, tls_server: TestServer, proxy: ProxyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a proxy, a certificate from an unknown CA is still kind tls."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    [record] = run_cli(f"{tls_server.url_for('secure.invalid')}/ok", expect=1).records
    assert record["error"]["kind"] == "tls"
    assert proxy.targets() == [f"CONNECT secure.invalid:{tls_server.port}"]


def test_an_https_proxy_is_checked_by_the_run_s_tls_rules(
    run_cli: RunCli,
    server: TestServer,
    tls_server: TestServer,
    ca_file: Path,
    tls_proxy: ProxyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ALL_PROXY=https://…: TLS to the proxy, its certificate trusted by --cacert (refused,
    kind tls, without it); an https URL is TLS to the origin inside TLS to the proxy."""
    monkeypatch.setenv("ALL_PROXY", tls_proxy.url)
    plain = f"{server.url_for('target.invalid')}/ok"
    secure = f"{tls_server.url_for('secure.invalid')}/ok"
    records = run_cli("--cacert", str(ca_file), plain, secure).records
    assert [(r["status"], r["snippet"]) for r in records] == [(200, "hello world")] * 2
    assert sorted(tls_proxy.targets()) == [
        f"CONNECT secure.invalid:{tls_server.port}",
        f"GET {plain}",
    ]
    tls_proxy.reset()
    [refused] = run_cli(plain, expect=1).records
    assert refused["error"]["kind"] == "tls"
    assert tls_proxy.targets() == []  # nothing is sent to a proxy that failed its check


def test_all_proxy_is_honoured(
    run_cli: RunCli,
    server: TestServer,
    tls_server: TestServer,
    ca_file: Path,
    proxy: ProxyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ALL_PROXY carries both schemes when HTTP_PROXY and HTTPS_PROXY are not set."""
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    plain = f"{server.url_for('target.invalid')}/ok"
    secure = f"{tls_server.url_for('secure.invalid')}/ok"
    records = run_cli("--cacert", str(ca_file), plain, secure).records
    assert [r["status"] for r in records] == [200, 200]
    assert sorted(proxy.targets()) == [f"CONNECT secure.invalid:{tls_server.port}", f"GET {plain}"]


def test_no_proxy_cidr_goes_direct(
    run_cli: RunCli,
    server: TestServer,
    tls_server: TestServer,
    ca_file: Path,
    proxy: ProxyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NO_PROXY=127.0.0.0/8: URLs on 127.0.0.1 go straight to the server, the proxy sees none."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.0/8")
    records = run_cli("--cacert", str(ca_file), f"{server.url}/ok", f"{tls_server.url}/ok").records
    assert [r["status"] for r in records] == [200, 200]
    assert proxy.targets() == []


def test_no_proxy_names_go_direct(
    run_cli: RunCli, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host name in no_proxy, in any case, never tries the proxy."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")  # refuses: direct or fail
    monkeypatch.setenv("no_proxy", "example.test, .LocalHost")
    [record] = run_cli(f"{server.url_for('localhost')}/ok").records
    assert record["status"] == 200


def test_no_proxy_international_names_match_either_spelling(
    run_cli: RunCli, server: TestServer, proxy: ProxyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_PROXY=bücher.invalid sends http://www.bücher.invalid/ direct on every transport
    (here: not found, as that name is), never to the proxy that knows it."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "bücher.invalid")
    proxy.hosts["www.xn--bcher-kva.invalid"] = "127.0.0.1"
    url = f"{server.url_for('www.bücher.invalid')}/ok"
    [record] = run_cli("--connect-timeout", "1", url, expect=1).records
    assert record["error"]["kind"] == "dns"
    assert proxy.targets() == []


def test_given_proxy_is_used_for_every_url(
    run_cli: RunCli,
    server: TestServer,
    tls_server: TestServer,
    ca_file: Path,
    proxy: ProxyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--proxy beats the proxy variables, for http and https alike."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    plain = f"{server.url_for('target.invalid')}/ok"
    secure = f"{tls_server.url_for('secure.invalid')}/ok"
    records = run_cli("--proxy", proxy.url, "--cacert", str(ca_file), plain, secure).records
    assert [r["status"] for r in records] == [200, 200]
    assert sorted(proxy.targets()) == [f"CONNECT secure.invalid:{tls_server.port}", f"GET {plain}"]


def test_no_proxy_exempts_hosts_from_the_given_proxy(
    run_cli: RunCli, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with curl, NO_PROXY applies to --proxy too."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    [record] = run_cli("--proxy", "http://127.0.0.1:1", f"{server.url}/ok").records
    assert record["status"] == 200


def test_proxy_credentials_are_sent(
    run_cli: RunCli,
    server: TestServer,
    tls_server: TestServer,
    ca_file: Path,
    guarded: ProxyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """user:pass in the proxy URL is Proxy-Authorization, to a forward request and a CONNECT;
    the origin never sees it."""
    given = f"http://alice:p%40ss%20word@127.0.0.1:{guarded.port}"
    monkeypatch.setenv("HTTP_PROXY", given)
    monkeypatch.setenv("HTTPS_PROXY", given)
    plain = f"{server.url_for('target.invalid')}/echo"
    secure = f"{tls_server.url_for('secure.invalid')}/ok"
    records = run_cli("--snippet", "2000", "--cacert", str(ca_file), plain, secure).records
    assert "proxy-authorization" not in _echoed(records[0])["headers"]
    assert records[1]["status"] == 200
    assert len(guarded.seen) == 2
    assert {seen.authorization for seen in guarded.seen} == {guarded.expected}


def test_a_refused_tunnel_says_so_without_the_password(
    run_cli: RunCli,
    server: TestServer,
    tls_server: TestServer,
    guarded: ProxyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wrong proxy credentials: an http URL gets the proxy's 407; an https one fails kind
    connect naming the proxy and its answer; the password shows nowhere."""
    monkeypatch.setenv("ALL_PROXY", f"http://alice:wrong-secret@127.0.0.1:{guarded.port}")
    plain = f"{server.url_for('target.invalid')}/ok"
    secure = f"{tls_server.url_for('secure.invalid')}/ok"
    result = run_cli("--retries", "2", plain, secure, expect=1)
    forwarded, tunnelled = result.records
    assert forwarded["status"] == 407
    assert tunnelled["error"] == {
        "kind": "connect",
        "message": f"proxy 127.0.0.1:{guarded.port} refused the tunnel: "
        "407 Proxy Authentication Required",
    }
    assert tunnelled["attempts"] == 1  # the answer will not change
    assert "wrong-secret" not in result.stdout.decode() + result.stderr


def test_a_refusing_proxy_is_a_connect_error(
    run_cli: RunCli, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy that refuses connections fails the URL with kind connect, retried as a direct
    connection would be; the URL never goes direct."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    url = f"{server.url}/ok"
    [record] = run_cli("--retries", "1", "--retry-backoff", "0", url, expect=1).records
    assert record["error"] == {"kind": "connect", "message": "connection refused"}
    assert record["attempts"] == 2
    assert server.stats.requests == 0


def test_a_proxy_name_that_does_not_resolve_is_a_dns_error(
    run_cli: RunCli, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy's own name is looked up (by the run's resolver): kind dns when it fails."""
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    [record] = run_cli("--connect-timeout", "1", f"{server.url}/ok", expect=1).records
    assert record["error"]["kind"] == "dns"
    assert server.stats.requests == 0


def test_an_unusable_proxy_fails_its_urls(
    run_cli: RunCli, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALL_PROXY=socks5://…: fetchcli cannot use it, so its URLs fail saying why, not go
    direct."""
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    [record] = run_cli(f"{server.url}/ok", expect=1).records
    assert record["error"] == {
        "kind": "connect",
        "message": "unsupported proxy scheme 'socks5' in ALL_PROXY",
    }
    assert server.stats.requests == 0


def test_proxied_connections_count_toward_max_connections(
    run_cli: RunCli, origins: TestServer, proxy: ProxyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--max-connections bounds every connection, proxied or direct: one pool, one bound."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.77.0.1,127.77.0.2")
    origins.reset()
    urls = [f"{origins.url_for(f'127.77.0.{n}')}/hold?ms=50" for n in (1, 2, 3, 4) for _ in "ab"]
    records = run_cli("-c", "8", "--max-connections", "1", *urls).records
    assert [r["status"] for r in records] == [200] * 8
    assert len(proxy.targets()) == 4
    assert origins.stats.peak_in_flight == 1


@pytest.mark.parametrize("transport", ["aiohttp", "httpcore", "curl"])
def test_the_python_api_follows_the_proxy_variables(
    server: TestServer, proxy: ProxyServer, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """fetchcli.fetch() goes through HTTP_PROXY as the command line does."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    url = f"{server.url_for('target.invalid')}/ok"
    [record] = fetchcli.fetch([url], transport=transport)
    assert record["status"] == 200
    assert proxy.targets() == [f"GET {url}"]
