"""`Sender`: the short way fetchcli sends one request through the run's client, and the one
redirect rule of its own (no scheme but http and https)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from fetchcli.http.client import redirect_request, transport_of
from fetchcli.http.messages import new_request, new_request_with_body
from fetchcli.http.urls import parse_url


class RedirectRefused(Exception):
    """A redirect fetchcli will not follow (another scheme than http and https)."""


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
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        authorization: str | None,
        headers: Sequence[tuple[str, str]] = (),
        timeout: float | None = None,
    ) -> httpx.Request:
        """A request with the client's headers, then `headers` (a data row's) in place of any
        of the same name, and `timeout` (a row's) for all four timeouts."""
        extensions: dict[str, object] = {"timeout": self._timeout}
        if timeout is not None:
            extensions["timeout"] = dict.fromkeys(("connect", "read", "write", "pool"), timeout)
        if content:
            request = new_request_with_body(
                method, parse_url(url), self._client.headers, extensions, content, headers
            )
            headers = ()  # in it already
        else:
            request = new_request(method, parse_url(url), self._client.headers, extensions)
        if authorization is not None:
            request.headers["Authorization"] = authorization
        for name, value in headers:
            request.headers[name] = value
        return request

    async def send(self, request: httpx.Request) -> httpx.Response:
        """One hop: the response with its body not read yet."""
        url = request.url
        # As httpx's auth flow does for URL credentials; -H Authorization and -u come first.
        if (url.username or url.password) and "authorization" not in request.headers:
            request.headers["Authorization"] = basic_auth(url.username, url.password)
        response = await transport_of(self._client).handle_async_request(request)
        response.request = request
        return response

    def redirect(self, request: httpx.Request, response: httpx.Response) -> httpx.Request | None:
        """The request a redirect response asks for, built by httpx's rules; None if it is not
        a redirect."""
        if not 300 <= response.status_code < 400 or not response.has_redirect_location:
            return None  # most responses: no need for httpx's comparison with five codes
        location = response.headers["location"]
        scheme = urlsplit(location).scheme.lower() if ":" in location else ""
        if scheme and scheme not in ("http", "https"):
            # Refused before httpx builds it: httpx would give `file:///etc/passwd` a host.
            raise RedirectRefused(f"redirect to unsupported scheme {scheme!r}: {location[:200]}")
        return redirect_request(self._client, request, response)


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"
