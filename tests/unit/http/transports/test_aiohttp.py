"""The aiohttp transport's side of the one error policy: every aiohttp failure becomes the httpx
exception that classify() and the retry policy expect, by class, not by list order."""

from __future__ import annotations

import inspect

import aiohttp
import httpx
import pytest

from fetchcli.fetching.classify import Retry, classify
from fetchcli.http.transports.aiohttp import EXCEPTIONS, httpx_error_for


def test_every_aiohttp_exception_is_mapped_on_purpose() -> None:
    """No aiohttp exception class falls through to a parent's mapping by accident."""
    exported = {
        obj
        for _, obj in inspect.getmembers(aiohttp, inspect.isclass)
        if issubclass(obj, aiohttp.ClientError)
    }
    assert exported - set(EXCEPTIONS) == set()


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        # subclass pairs where a first-match list would have needed the right order
        (aiohttp.ConnectionTimeoutError(), httpx.ConnectTimeout),  # < ServerTimeoutError
        (aiohttp.ServerTimeoutError(), httpx.ReadTimeout),
        (aiohttp.ClientConnectorError(None, OSError(111, "refused")), httpx.ConnectError),  # < OS
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.ClientHttpProxyError(None, ()), httpx.ProxyError),  # < ClientResponseError
        (aiohttp.ClientResponseError(None, ()), httpx.RemoteProtocolError),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
    ],
)
def test_the_most_specific_class_wins(exc: BaseException, expected: type) -> None:
    """Whatever their place in the map, a subclass gets its own entry, not its parent's."""
    assert httpx_error_for(exc) is expected


def test_a_connection_reset_mid_exchange_is_not_retried_for_post() -> None:
    """A reset while the request was being answered may have reached the server."""
    failure = classify(httpx_error_for(aiohttp.ClientConnectionResetError())("reset"))
    assert failure.retry is Retry.IDEMPOTENT
