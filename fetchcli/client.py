"""The run's one httpx.AsyncClient, built from the frozen Config: pool limits, timeouts, default
headers, one SSL context and one Resolver, over the chosen transport."""

from __future__ import annotations

import ssl

import httpx

from fetchcli import __version__
from fetchcli.config import Config, Transport
from fetchcli.decode import ACCEPT_ENCODING
from fetchcli.dns import Resolver


def make_client(
    config: Config, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one client of a run. `transport` replaces the network (tests pass a mock)."""
    pool, timeouts, request = config.pool, config.timeouts, config.request
    limits = httpx.Limits(
        max_connections=pool.connections,
        max_keepalive_connections=pool.keepalive,
        keepalive_expiry=pool.keepalive_expiry,
    )
    verify = tls_verify(config)
    if transport is None:
        resolver = Resolver(timeouts.connect)
        if pool.transport is Transport.AIOHTTP:
            from fetchcli.transport import AiohttpTransport  # aiohttp takes 0.1 s to import

            transport = AiohttpTransport(
                verify=verify, limits=limits, resolver=resolver, proxy=request.proxy
            )
        else:
            from fetchcli.httpcore_transport import make_transport

            transport = make_transport(
                verify=verify, limits=limits, http2=pool.http2, resolver=resolver
            )
    client = httpx.AsyncClient(
        limits=limits,
        timeout=httpx.Timeout(
            connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool
        ),
        http2=pool.http2,
        verify=verify,  # for the proxy transports httpx mounts itself (--proxy, HTTP_PROXY)
        proxy=request.proxy,
        headers=default_headers(config),
        follow_redirects=False,  # attempt.py follows redirects itself, hop by hop
        transport=transport,
    )
    # One jar shared by unrelated URLs would leak cookies between them and grow without bound
    # on a long list; like curl, fetchcli keeps no cookies.
    client._cookies = _NoCookies()  # httpx is pinned below 0.29, where this is the one jar
    return client


class _NoCookies(httpx.Cookies):
    """Keeps no cookies, and skips the 0.1 ms per response httpx spends offering them to a jar
    (it builds urllib request/response stand-ins and an email.Message of the headers)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


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
