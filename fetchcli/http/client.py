"""The run's one httpx.AsyncClient, built from the frozen Config: pool limits, timeouts, the
default headers it is given, one SSL context, one Resolver and one ProxyPolicy, over the chosen
transport."""

from __future__ import annotations

import os
import ssl

import httpx

from fetchcli.http.dns import Resolver
from fetchcli.http.proxy import ProxyPolicy
from fetchcli.settings.model import Config, Transport


def make_client(
    config: Config,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    headers: httpx.Headers,
) -> httpx.AsyncClient:
    """The one client of a run, sending `headers` with every request. `transport` replaces
    the network (tests pass a mock).

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
        headers=headers,
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
        from fetchcli.http.transports.curl.transport import CurlTransport

        cacert = config.request.cacert
        return CurlTransport(
            limits=limits,
            resolver=resolver,
            cafile=None if cacert is None else str(cacert),
            insecure=config.request.insecure,
            http2=config.pool.http2,
            http3=config.pool.http3,
            proxies=proxies,
            timings=config.output.timings,
            tls_info=config.output.tls_info,
        )
    if config.pool.transport is Transport.AIOHTTP:
        from fetchcli.http.transports.aiohttp import AiohttpTransport  # 0.1 s to import

        return AiohttpTransport(
            verify=verify,
            limits=limits,
            resolver=resolver,
            proxies=proxies,
            timings=config.output.timings,
            tls_info=config.output.tls_info,
        )
    from fetchcli.http.transports.httpcore import make_transport

    return make_transport(
        verify=verify,
        limits=limits,
        http2=config.pool.http2,
        resolver=resolver,
        proxies=proxies,
        timings=config.output.timings,
        tls_info=config.output.tls_info,
    )


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


async def close_idle_connections(client: httpx.AsyncClient) -> None:
    """Give back the descriptors of idle keep-alive connections, on transports that can."""
    close_idle = getattr(transport_of(client), "close_idle", None)  # ours do; a mock need not
    if close_idle is not None:
        await close_idle()


# httpx's private parts fetchcli relies on, all here (httpx is pinned below 0.29; each is
# pinned by tests/unit/http/test_internals.py too, so an upgrade that moves one fails there):
# the client's one transport (no mounts: it is given no proxy), its cookie jar (replaced by
# one that keeps nothing), and how it builds the request a redirect asks for. (What a Request
# and its Headers hold is http/messages.py's.)


def transport_of(client: httpx.AsyncClient) -> httpx.AsyncBaseTransport:
    """The run's transport: every URL goes through it."""
    return client._transport


def redirect_request(
    client: httpx.AsyncClient, request: httpx.Request, response: httpx.Response
) -> httpx.Request:
    """The request a redirect response asks for, by httpx's own rules (method, headers,
    body, the Location resolved against the URL)."""
    return client._build_redirect_request(request, response)
