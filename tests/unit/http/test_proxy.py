"""The proxy policy: which proxy a URL takes, from --proxy and the environment, as curl reads it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from fetchcli.http.proxy import Bypass, Proxy, ProxyPolicy, parse_proxy_url


def _via(environ: dict[str, str], url: str, given: str | None = None) -> str | None:
    parts = urlsplit(url)
    proxy = ProxyPolicy.from_environ(environ, given).proxy_for(parts.scheme, parts.hostname or "")
    return None if proxy is None else f"{proxy.source} {proxy.url}"


def test_each_scheme_takes_its_own_variable() -> None:
    """http URLs go through HTTP_PROXY, https ones through HTTPS_PROXY, and neither leaks."""
    environ = {"HTTP_PROXY": "http://plain:1", "HTTPS_PROXY": "http://secure:2"}
    assert _via(environ, "http://a.test/") == "HTTP_PROXY http://plain:1"
    assert _via(environ, "https://a.test/") == "HTTPS_PROXY http://secure:2"
    assert _via({"HTTP_PROXY": "http://plain:1"}, "https://a.test/") is None


def test_all_proxy_covers_a_scheme_without_its_own() -> None:
    """ALL_PROXY is used for a scheme whose own variable is not set, never over it."""
    environ = {"ALL_PROXY": "http://every:3", "https_proxy": "http://secure:2"}
    assert _via(environ, "http://a.test/") == "ALL_PROXY http://every:3"
    assert _via(environ, "https://a.test/") == "https_proxy http://secure:2"
    assert _via({"all_proxy": "http://every:3"}, "https://a.test/") == "all_proxy http://every:3"


@pytest.mark.parametrize("name", ["http_proxy", "https_proxy", "all_proxy"])
def test_the_lowercase_variable_wins(name: str) -> None:
    """With both spellings set, the lowercase one is used, as curl and urllib do."""
    environ = {name: "http://lower:1", name.upper(): "http://upper:2"}
    url = "https://a.test/" if name == "https_proxy" else "http://a.test/"
    assert _via(environ, url) == f"{name} http://lower:1"


def test_an_empty_variable_sets_no_proxy() -> None:
    """HTTP_PROXY= is no proxy; ALL_PROXY still applies."""
    assert _via({"HTTP_PROXY": ""}, "http://a.test/") is None
    assert _via({"http_proxy": " ", "ALL_PROXY": "http://every:3"}, "http://a.test/") == (
        "ALL_PROXY http://every:3"
    )


def test_given_proxy_beats_the_environment() -> None:
    """--proxy is used for every scheme, whatever the proxy variables say."""
    environ = {"HTTP_PROXY": "http://env:1", "ALL_PROXY": "http://every:3"}
    for url in ("http://a.test/", "https://a.test/"):
        assert _via(environ, url, "http://given:9") == "--proxy http://given:9"


@pytest.mark.parametrize(
    ("no_proxy", "host", "bypassed"),
    [
        ("example.com", "example.com", True),
        ("example.com", "www.example.com", True),
        (".example.com", "example.com", True),
        (".example.com", "a.b.example.com", True),
        ("example.com", "notexample.com", False),
        ("example.com", "example.com.evil.test", False),
        ("EXAMPLE.com", "www.example.COM", True),
        ("example.com.", "example.com", True),
        ("example.com", "example.com.", True),
        ("a.test,b.test", "b.test", True),
        ("a.test, b.test", "b.test", True),
        ("a.test b.test", "b.test", True),
        ("*", "anything.test", True),
        ("*", "10.0.0.1", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.2", False),
        ("127.0.0.0/8", "127.77.0.1", True),
        ("127.0.0.0/8", "128.0.0.1", False),
        ("10.0.0.0/8", "localhost", False),  # names are not resolved to decide
        ("::1", "[::1]", True),
        ("[::1]", "::1", True),
        ("::1/128", "[::1]", True),
        ("fd00::/8", "[fd12::3]", True),
        ("fd00::/8", "[fe80::1]", False),
        ("127.0.0.0/8", "[::1]", False),
        ("localhost", "localhost", True),
        ("bücher.example", "www.xn--bcher-kva.example", True),  # hosts come as sent: xn--
        ("BÜCHER.example", "xn--bcher-kva.example", True),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", True),
        ("", "a.test", False),
        (" , ,", "a.test", False),
    ],
)
def test_no_proxy_forms(no_proxy: str, host: str, bypassed: bool) -> None:
    """NO_PROXY as curl reads it: *, names with their subdomains, addresses and CIDR ranges."""
    assert Bypass.parse(no_proxy).covers(host) is bypassed


def test_no_proxy_exempts_hosts_from_every_proxy() -> None:
    """A NO_PROXY host goes direct from HTTP_PROXY, ALL_PROXY and --proxy alike (as curl)."""
    environ = {"NO_PROXY": "127.0.0.0/8,internal.test", "ALL_PROXY": "http://every:3"}
    assert _via(environ, "http://127.0.0.1:8080/") is None
    assert _via(environ, "https://db.internal.test/") is None
    assert _via(environ, "http://127.0.0.1/", "http://given:9") is None
    assert _via(environ, "http://public.test/", "http://given:9") == "--proxy http://given:9"


def test_lowercase_no_proxy_wins() -> None:
    """no_proxy beats NO_PROXY when both are set."""
    environ = {"HTTP_PROXY": "http://p:1", "no_proxy": "a.test", "NO_PROXY": "b.test"}
    assert _via(environ, "http://a.test/") is None
    assert _via(environ, "http://b.test/") == "HTTP_PROXY http://p:1"


def test_proxy_credentials_become_proxy_authorization() -> None:
    """user:pass in the proxy URL (percent-decoded) is Basic Proxy-Authorization, and never
    part of the proxy's URL, its address or its repr."""
    proxy = parse_proxy_url("http://al%20ice:p%40ss@proxy.test:3128", source="HTTP_PROXY")
    assert proxy.authorization == "Basic YWwgaWNlOnBAc3M="  # base64("al ice:p@ss")
    assert "p@ss" not in f"{proxy.url} {proxy.address} {proxy!r}"
    assert parse_proxy_url("http://proxy.test:3128", source="x").authorization is None


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("proxy.test:3128", "http://proxy.test:3128"),
        ("http://proxy.test", "http://proxy.test:80"),
        ("https://proxy.test", "https://proxy.test:443"),
        ("HTTP://Proxy.Test:8080/", "http://proxy.test:8080"),
        ("http://[::1]:3128", "http://[::1]:3128"),
    ],
)
def test_proxy_urls(text: str, url: str) -> None:
    """A proxy without a scheme is http; its port defaults to the scheme's."""
    proxy = parse_proxy_url(text, source="HTTP_PROXY")
    assert (proxy.url, proxy.problem) == (url, None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("socks5://127.0.0.1:1080", "unsupported proxy scheme 'socks5' in ALL_PROXY"),
        ("http://:3128", "no host in the proxy URL of ALL_PROXY"),
        ("http://proxy.test:99999", "bad port in the proxy URL of ALL_PROXY"),
    ],
)
def test_an_unusable_proxy_says_why(text: str, problem: str) -> None:
    """A proxy fetchcli cannot use is kept with its reason (so its URLs fail, not go direct)."""
    policy = ProxyPolicy.from_environ({"ALL_PROXY": text})
    proxy = policy.proxy_for("http", "a.test")
    assert isinstance(proxy, Proxy)
    assert proxy.problem == problem


def test_no_variables_no_proxy() -> None:
    """Without --proxy and proxy variables nothing is proxied, and the policy says so."""
    policy = ProxyPolicy.from_environ({"PATH": "/bin", "NO_PROXY": "a.test"})
    assert not policy.active
    assert policy.proxy_for("https", "b.test") is None
