"""Every exception becomes a deliberate error kind, the most specific first."""

from __future__ import annotations

import inspect
import socket
import ssl

import httpx
import pytest

from fetchcli.consumer import WriteFailed
from fetchcli.fetching.classify import HTTPX_KINDS, classify, describe
from fetchcli.fetching.decode import DecodeError
from fetchcli.models import ErrorKind


def test_every_httpx_exception_is_mapped_on_purpose() -> None:
    """No httpx exception class falls through to a default by accident."""
    exported = {
        getattr(httpx, name)
        for name in httpx.__all__
        if inspect.isclass(getattr(httpx, name)) and issubclass(getattr(httpx, name), Exception)
    }
    assert exported - set(HTTPX_KINDS) == set()


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectTimeout("t"), ErrorKind.TIMEOUT),
        (httpx.ReadTimeout("t"), ErrorKind.TIMEOUT),
        (httpx.PoolTimeout("t"), ErrorKind.TIMEOUT),
        (httpx.ConnectError("refused"), ErrorKind.CONNECT),
        (httpx.ReadError("reset"), ErrorKind.CONNECT),
        (httpx.RemoteProtocolError("closed"), ErrorKind.PROTOCOL),
        (httpx.TooManyRedirects("loop"), ErrorKind.REDIRECTS),
        (httpx.InvalidURL("bad"), ErrorKind.INVALID_URL),
        (httpx.UnsupportedProtocol("gopher"), ErrorKind.INVALID_URL),
        (DecodeError("bad gzip"), ErrorKind.PROTOCOL),
        (WriteFailed("disk full"), ErrorKind.IO),
        (RuntimeError("bug"), ErrorKind.OTHER),
    ],
)
def test_kinds(exc: Exception, kind: ErrorKind) -> None:
    """Each failure maps to the kind the README documents."""
    assert classify(exc).kind is kind


def _chained(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError(str(inner)) from inner
    except httpx.ConnectError as outer:
        return outer


def test_dns_is_found_in_the_cause_chain() -> None:
    """A ConnectError caused by socket.gaierror is 'dns'."""
    error = _chained(socket.gaierror(-2, "Name or service not known"))
    assert classify(error).kind is ErrorKind.DNS


def test_tls_is_found_in_the_cause_chain() -> None:
    """A ConnectError caused by a certificate failure is 'tls'."""
    error = ssl.SSLCertVerificationError(1, "certificate verify failed: unable to get local issuer")
    assert classify(_chained(error)).kind is ErrorKind.TLS


def test_describe_is_one_line_and_never_empty() -> None:
    """Messages fold to one line; an empty message falls back to the cause, then the class."""
    assert describe(httpx.ReadError("a\nb")) == "a b"
    assert describe(_chained(OSError("inner reason"))) == "inner reason"
    assert describe(httpx.ReadError("")) == "ReadError"
