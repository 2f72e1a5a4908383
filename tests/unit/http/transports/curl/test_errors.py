"""libcurl's error codes: each one mapped on purpose to the httpx exception the rest expects."""

from __future__ import annotations

import errno

import httpx
import pycurl
import pytest

from fetchcli.fetching.classify import classify
from fetchcli.http.transports.curl.errors import error_for, mapped_codes

REQUEST = httpx.Request("GET", "https://example.test/")


def test_every_libcurl_code_is_mapped_on_purpose() -> None:
    """A libcurl upgrade that adds a code fails here until someone decides what it means."""
    codes = {name for name in dir(pycurl) if name.startswith("E_")}
    assert set(mapped_codes()) == codes


@pytest.mark.parametrize(
    ("code", "message", "os_errno", "connected", "kind", "words"),
    [
        (pycurl.E_COULDNT_CONNECT, "Failed to connect", errno.ECONNREFUSED, False, "connect",
         "connection refused"),
        (pycurl.E_OPERATION_TIMEDOUT, "Connection timed out", 0, False, "timeout",
         "connect timeout"),
        (pycurl.E_OPERATION_TIMEDOUT, "Operation timed out", 0, True, "timeout", "read timeout"),
        (pycurl.E_RECV_ERROR, "Recv failure", errno.ECONNRESET, True, "connect",
         "connection reset by peer"),
        (pycurl.E_PEER_FAILED_VERIFICATION,
         "SSL certificate problem: self-signed certificate", 0, False, "tls",
         "certificate verify failed: self-signed certificate"),
        (pycurl.E_SSL_CONNECT_ERROR,
         "OpenSSL/3.6.5: error:0A00010B:SSL routines::wrong version number", 0, False, "tls",
         "TLS handshake failed: wrong version number (is the port plain HTTP?)"),
        (pycurl.E_GOT_NOTHING, "Empty reply from server", 0, True, "protocol",
         "server closed the connection without answering"),
        (pycurl.E_PARTIAL_FILE, "transfer closed", 0, True, "protocol",
         "server closed the connection before the end of the body"),
    ],
)  # fmt: skip
def test_failures_read_as_on_the_other_transports(
    code: int, message: str, os_errno: int, connected: bool, kind: str, words: str
) -> None:
    """The kind and the words a record gets are those the aiohttp and httpcore paths give."""
    error = error_for(code, message, REQUEST, os_errno=os_errno, connected=connected)
    failure = classify(error)
    assert (str(failure.kind), failure.message) == (kind, words)


def test_a_descriptor_shortage_is_told_apart() -> None:
    """EMFILE under a connect failure is the process's shortage (kind io, waited for)."""
    error = error_for(pycurl.E_COULDNT_CONNECT, "socket", REQUEST, os_errno=errno.EMFILE,
                      connected=False)  # fmt: skip
    assert str(classify(error).kind) == "io"
