"""The run's one httpx.AsyncClient, built from the frozen Config: pool limits, timeouts, default
headers, one SSL context and one Resolver, over the chosen transport; and `Sender`, the short
way fetchcli sends a request through that client."""

from __future__ import annotations

import base64
import os
import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx

from fetchcli import __version__
from fetchcli.config import Config, Transport
from fetchcli.net.decode import ACCEPT_ENCODING
from fetchcli.net.dns import Resolver
from fetchcli.net.proxy import ProxyPolicy
from fetchcli.net.urls import parse_url


def make_client(
    config: Config, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one client of a run. `transport` replaces the network (tests pass a mock).

    httpx is given no proxy and no environment: with one it would mount a stock transport of
    its own for the proxied URLs, beside the run's (its own pool and bound, no Resolver, no
    aiohttp). The run's transport follows the ProxyPolicy instead."""
    pool, timeouts = config.pool, config.timeouts
    limits = httpx.Limits(
        max_connections=pool.connections,
        max_keepalive_connections=pool.keepalive,
        keepalive_expiry=pool.keepalive_expiry,
    )
    verify = tls_verify(config)
    client = httpx.AsyncClient(
        limits=limits,
        timeout=httpx.Timeout(
            connect=timeouts.connect_timeout,
            read=timeouts.read_timeout,
            write=timeouts.write_timeout,
            pool=timeouts.pool_timeout,
        ),
        http2=pool.http2,
        trust_env=False,
        headers=default_headers(config),
        follow_redirects=False,  # attempt.py follows redirects itself, hop by hop
        transport=transport or _transport(config, verify, limits),
    )
    # One jar shared by unrelated URLs would leak cookies between them and grow without bound
    # on a long list; like curl, fetchcli keeps no cookies.
    client._cookies = _NoCookies()  # httpx is pinned below 0.29, where this is the one jar
    return client


def _transport(
    config: Config, verify: ssl.SSLContext | bool, limits: httpx.Limits
) -> httpx.AsyncBaseTransport:
    """The chosen transport, with the run's one Resolver and one ProxyPolicy (--proxy and the
    environment's proxy variables, read here once)."""
    resolver = Resolver(config.timeouts.connect_timeout)
    proxies = ProxyPolicy.from_environ(os.environ, config.request.proxy)
    if config.pool.transport is Transport.CURL:
        from fetchcli.net.curl_transport import CurlTransport

        cacert = config.request.cacert
        return CurlTransport(
            limits=limits,
            resolver=resolver,
            cafile=None if cacert is None else str(cacert),
            insecure=config.request.insecure,
            http2=config.pool.http2,
            proxies=proxies,
        )
    if config.pool.transport is Transport.AIOHTTP:
        from fetchcli.net.aiohttp_transport import AiohttpTransport  # 0.1 s to import

        return AiohttpTransport(verify=verify, limits=limits, resolver=resolver, proxies=proxies)
    from fetchcli.net.httpcore_transport import make_transport

    return make_transport(
        verify=verify,
        limits=limits,
        http2=config.pool.http2,
        resolver=resolver,
        proxies=proxies,
    )


class DirectStream(httpx.AsyncByteStream):
    """A transport's own body stream, whose errors are httpx exceptions that already carry
    their request: read as it is, without Response.aiter_raw's chunker, byte count and
    request context around every body (a tenth of fetchcli's time per small response)."""


def raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body's bytes as they arrive, as Response.aiter_raw gives them."""
    stream = response.stream
    if isinstance(stream, DirectStream):
        response.is_stream_consumed = True
        return stream.__aiter__()
    return response.aiter_raw()


class RedirectRefused(Exception):
    """A redirect fetchcli will not follow (another scheme than http and https)."""


class _NoCookies(httpx.Cookies):
    """Keeps no cookies, and skips the 0.1 ms per response httpx spends offering them to a jar
    (it builds urllib request/response stand-ins and an email.Message of the headers)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class Sender:
    """Builds and sends requests through the client's own parts, without `AsyncClient.send`.

    `send` wraps every request in an auth flow, event hooks, a cookie jar, a redirect loop and a
    timing stream: a fifth of fetchcli's time per request, for features it does not use (it
    keeps no cookies and follows redirects itself). What a flag sets still comes from the
    client: its one transport (with the pool limits, TLS settings and proxy rules), the
    timeouts, the default headers; httpx builds the redirect requests; and
    credentials in a URL become Basic auth as the client's auth flow would make them.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._timeout = client.timeout.as_dict()

    def request(
        self, method: str, url: str, *, content: bytes | None, authorization: str | None
    ) -> httpx.Request:
        request = httpx.Request(
            method,
            parse_url(url),
            headers=self._client.headers,
            content=content,
            extensions={"timeout": self._timeout},
        )
        if authorization is not None:
            request.headers["Authorization"] = authorization
        return request

    async def send(self, request: httpx.Request) -> httpx.Response:
        """One hop: the response with its body not read yet."""
        url = request.url
        # As httpx's auth flow does for URL credentials; -H Authorization and -u come first.
        if (url.username or url.password) and "authorization" not in request.headers:
            request.headers["Authorization"] = basic_auth(url.username, url.password)
        response = await self._client._transport_for_url(url).handle_async_request(request)
        response.request = request
        return response

    def redirect(self, request: httpx.Request, response: httpx.Response) -> httpx.Request | None:
        """The request a redirect response asks for, built by httpx's rules; None if it is not
        a redirect."""
        if not response.has_redirect_location:
            return None
        location = response.headers["location"]
        scheme = urlsplit(location).scheme.lower() if ":" in location else ""
        if scheme and scheme not in ("http", "https"):
            # Refused before httpx builds it: httpx would give `file:///etc/passwd` a host.
            raise RedirectRefused(f"redirect to unsupported scheme {scheme!r}: {location[:200]}")
        return self._client._build_redirect_request(request, response)


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def tls_verify(config: Config) -> ssl.SSLContext | bool:
    """False for -k; a context trusting --cacert; else True: each transport's own default
    context, made once (aiohttp's at import, httpx's with the transport)."""
    if config.request.insecure:
        return False
    if config.request.cacert is not None:
        return ssl.create_default_context(cafile=str(config.request.cacert))
    return True


def default_headers(config: Config) -> httpx.Headers:
    """User-Agent and Accept-Encoding (-A sets the first), then every -H, which replaces a
    default of the same name; repeated -H names are all sent."""
    request = config.request
    defaults = {
        "user-agent": request.user_agent or f"fetchcli/{__version__}",
        "accept-encoding": ACCEPT_ENCODING,
    }
    if request.data is not None:
        defaults["content-type"] = "application/x-www-form-urlencoded"  # as curl -d does
    given = {name.lower() for name, _ in request.headers}
    kept = [(name, value) for name, value in defaults.items() if name not in given]
    return httpx.Headers(kept + list(request.headers))


async def close_idle_connections(client: httpx.AsyncClient) -> None:
    """Give back the descriptors of idle keep-alive connections, on transports that can."""
    close_idle = getattr(client._transport, "close_idle", None)  # ours do; a mock need not
    if close_idle is not None:
        await close_idle()
