"""Which proxy a URL goes through: one policy per run, read once from `--proxy` and the
environment, and followed by every transport.

- `--proxy URL` sends every URL through URL.
- Else the environment, as curl and urllib read it: `http_proxy` for http URLs, `https_proxy`
  for https ones, `all_proxy` for either when its own is not set; each also in capitals, the
  lowercase one winning when both are set. A variable set to the empty string sets no proxy.
- `no_proxy` (or `NO_PROXY`) names the hosts that go direct, as curl reads it, and, as with
  curl, it exempts them from `--proxy` too: `*` for every host; host names, each covering the
  name and its subdomains (`example.com` or `.example.com` covers `www.example.com`), in any
  case, an international name in Unicode or its `xn--` form alike; IP addresses (IPv6 with or
  without brackets) and CIDR ranges (`10.0.0.0/8`, `::1/128`), matched against URLs whose host
  is an address (no name is resolved to decide).

Transports ask with the URL's host as sent on the wire (`xn--` for an international name), so
the answer is the same wherever it is asked.

A proxy URL without a scheme is http, as with curl; its port defaults to the scheme's (80,
443), as with httpx and aiohttp. Credentials in it (`http://user:pass@proxy:3128`) are sent
as `Proxy-Authorization: Basic`. A proxy that cannot be used (`socks5://`, no host) is kept
with its `problem`, so a URL that would go through it fails saying why instead of going
direct.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import field
from urllib.parse import unquote, urlsplit

from fetchcli.slots import frozen

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_DEFAULT_PORTS = {"http": 80, "https": 443}


@frozen
class Proxy:
    """A forward proxy: where it is, its credentials, and which setting named it.

    >>> proxy = parse_proxy_url("http://alice:s%40fe@proxy.local:3128", source="HTTP_PROXY")
    >>> proxy.address, proxy.username, proxy.password
    ('proxy.local:3128', 'alice', 's@fe')
    >>> proxy
    Proxy('http://proxy.local:3128', source='HTTP_PROXY')
    """

    scheme: str  # http or https: how fetchcli talks to the proxy itself
    host: str  # an IPv6 address without brackets
    port: int
    source: str  # "--proxy", "HTTP_PROXY", "all_proxy"...: what the user set
    username: str = ""
    password: str = field(default="", repr=False)
    problem: str | None = None  # why it cannot be used; None when it can

    @property
    def address(self) -> str:
        """host:port, as messages name the proxy (never its credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The proxy's URL without credentials."""
        return f"{self.scheme}://{self.address}"

    @property
    def authorization(self) -> str | None:
        """The Proxy-Authorization header's value, or None without credentials."""
        if not (self.username or self.password):
            return None
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"

    def __repr__(self) -> str:
        problem = f", problem={self.problem!r}" if self.problem else ""
        return f"Proxy({self.url!r}, source={self.source!r}{problem})"


def parse_proxy_url(text: str, *, source: str) -> Proxy:
    """The Proxy a setting names; an unusable one carries its `problem`.

    >>> parse_proxy_url("proxy.local:3128", source="http_proxy").url  # no scheme: http
    'http://proxy.local:3128'
    >>> parse_proxy_url("https://[::1]", source="HTTPS_PROXY").address
    '[::1]:443'
    >>> parse_proxy_url("socks5://127.0.0.1:1080", source="ALL_PROXY").problem
    "unsupported proxy scheme 'socks5' in ALL_PROXY"
    """
    text = text.strip()
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    problem = None
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port, problem = 0, f"bad port in the proxy URL of {source}"
    if scheme not in _DEFAULT_PORTS:
        problem = f"unsupported proxy scheme {scheme!r} in {source}"
    elif not parts.hostname:
        problem = f"no host in the proxy URL of {source}"
    return Proxy(
        scheme=scheme,
        host=parts.hostname or "",
        port=port,
        source=source,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        problem=problem,
    )


@frozen
class Bypass:
    """The hosts NO_PROXY sends direct.

    >>> bypass = Bypass.parse(".example.com, LOCALHOST,10.0.0.0/8 [::1]")
    >>> [bypass.covers(host) for host in ("example.com", "www.Example.COM", "badexample.com")]
    [True, True, False]
    >>> [bypass.covers(host) for host in ("localhost", "10.1.2.3", "11.0.0.1", "[::1]", "::2")]
    [True, True, False, True, False]
    >>> Bypass.parse("*").covers("anything.test")
    True
    >>> Bypass.parse("bücher.example").covers("www.xn--bcher-kva.example")
    True
    """

    everything: bool = False
    names: tuple[str, ...] = ()  # lowercase, no leading or trailing dot
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Bypass:
        """NO_PROXY's entries, separated by commas or spaces."""
        names: list[str] = []
        networks: list[Network] = []
        everything = False
        for entry in text.replace(",", " ").split():
            if entry == "*":
                everything = True
                continue
            try:
                networks.append(
                    ipaddress.ip_network(entry.replace("[", "").replace("]", ""), False)
                )
            except ValueError:
                name = _ascii_name(entry.strip(".").lower())
                if name:
                    names.append(name)
        return cls(everything, tuple(names), tuple(networks))

    def covers(self, host: str) -> bool:
        """Whether `host` (a URL's host: a name or an address) goes direct."""
        if self.everything:
            return True
        host = host.strip("[]").rstrip(".").lower()
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return any(host == name or host.endswith(f".{name}") for name in self.names)
        return any(address in network for network in self.networks)


@frozen
class ProxyPolicy:
    """The run's one answer to "which proxy for this URL?".

    >>> policy = ProxyPolicy.from_environ(
    ...     {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:2",
    ...      "ALL_PROXY": "http://all:3", "NO_PROXY": "127.0.0.0/8,.internal"})
    >>> [policy.proxy_for("http", "example.com"), policy.proxy_for("https", "example.com")]
    [Proxy('http://lower:2', source='http_proxy'), Proxy('http://all:3', source='ALL_PROXY')]
    >>> [policy.proxy_for("http", host) for host in ("127.0.0.1", "db.internal")]
    [None, None]
    >>> ProxyPolicy.from_environ({"HTTPS_PROXY": "http://env:1"}, "http://given:2").https
    Proxy('http://given:2', source='--proxy')
    >>> ProxyPolicy.from_environ({"NO_PROXY": "*"}, "http://given:2").proxy_for("http", "a.test")
    """

    http: Proxy | None = None
    https: Proxy | None = None
    bypass: Bypass = Bypass()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], given: str | None = None) -> ProxyPolicy:
        """The policy of `--proxy` (`given`) and the proxy variables of `environ`."""
        bypass = Bypass.parse(_variable(environ, "no_proxy")[1] or "")
        if given is not None:
            proxy = parse_proxy_url(given, source="--proxy")
            return cls(proxy, proxy, bypass)
        every = _proxy_variable(environ, "all_proxy")
        http = _proxy_variable(environ, "http_proxy") or every
        https = _proxy_variable(environ, "https_proxy") or every
        return cls(http, https, bypass)

    @property
    def active(self) -> bool:
        """Whether any URL may go through a proxy (else nothing needs asking)."""
        return self.http is not None or self.https is not None

    def proxy_for(self, scheme: str, host: str) -> Proxy | None:
        """The proxy for a URL of this scheme and host, or None: straight to the origin."""
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.bypass.covers(host):
            return None
        return proxy


NO_PROXY = ProxyPolicy()  # every URL direct


def refused_tunnel(proxy: Proxy, answer: str) -> str:
    """The words of a CONNECT the proxy refused, the same on every transport.

    >>> refused_tunnel(Proxy("http", "proxy.local", 3128, "--proxy"), "407 Proxy Auth Required")
    'proxy proxy.local:3128 refused the tunnel: 407 Proxy Auth Required'
    """
    return f"proxy {proxy.address} refused the tunnel: {' '.join(answer.split())}"


def _ascii_name(name: str) -> str:
    """A host name as URLs carry it on the wire: `xn--` labels for an international one."""
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name  # matches no URL's host, as an entry of no meaning should


def _variable(environ: Mapping[str, str], name: str) -> tuple[str, str | None]:
    """The variable's name as set and its value: the lowercase one when both are set."""
    for spelling in (name, name.upper()):
        if spelling in environ:
            return spelling, environ[spelling]
    return name, None


def _proxy_variable(environ: Mapping[str, str], name: str) -> Proxy | None:
    spelling, value = _variable(environ, name)
    if not value or not value.strip():
        return None
    return parse_proxy_url(value, source=spelling)
