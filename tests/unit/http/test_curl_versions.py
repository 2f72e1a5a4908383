"""HTTP/3 asked of a libcurl built without it is said at once, not per URL."""

from __future__ import annotations

import httpx
import pycurl
import pytest

from fetchcli.errors import UsageError
from fetchcli.http.dns import Resolver
from fetchcli.http.transports.curl import transport


def test_http3_without_quic_in_libcurl_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pycurl whose libcurl lacks HTTP/3 (another build than the wheel's): a one-line
    usage error naming --http3 and the libcurl, before any request."""
    features = pycurl.version_info()[4] & ~pycurl.VERSION_HTTP3
    info = (*pycurl.version_info()[:4], features, *pycurl.version_info()[5:])
    monkeypatch.setattr(pycurl, "version_info", lambda: info)
    limits = httpx.Limits(max_connections=1)
    with pytest.raises(UsageError, match=r"^--http3: this libcurl has no HTTP/3 \(PycURL/"):
        transport.CurlTransport(limits=limits, resolver=Resolver(1.0), http3=True)
    transport.CurlTransport(limits=limits, resolver=Resolver(1.0), http2=True)  # still fine
