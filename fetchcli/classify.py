"""The one place that knows httpx, ssl and socket exceptions: each becomes an ErrorKind.

httpx.HTTPError
├── RequestError
│   ├── TransportError
│   │   ├── TimeoutException ........ timeout   (Connect/Read/Write/PoolTimeout)
│   │   ├── NetworkError ............ connect   (ConnectError: dns / tls when the cause says so)
│   │   ├── ProtocolError ........... protocol  (Local/RemoteProtocolError)
│   │   ├── ProxyError .............. connect
│   │   └── UnsupportedProtocol ..... invalid-url
│   ├── DecodingError ............... protocol
│   └── TooManyRedirects ............ redirects
└── HTTPStatusError ................. other (fetchcli never raises it)
InvalidURL .......................... invalid-url
ssl.SSLError anywhere in the chain .. tls
socket.gaierror in the chain ........ dns
DecodeError (a body that won't decode) protocol
WriteFailed (a body we could not write) io
EMFILE/ENFILE in the chain .......... io        (out of descriptors: local, not the URL's fault)
"""

from __future__ import annotations

import socket
import ssl

import httpx

from fetchcli import descriptors
from fetchcli.body import WriteFailed
from fetchcli.decode import DecodeError
from fetchcli.errors import exception_chain
from fetchcli.models import ErrorKind

# Every httpx exception class, each mapped on purpose; a test checks none is missing.
HTTPX_KINDS: dict[type[BaseException], ErrorKind] = {
    httpx.InvalidURL: ErrorKind.INVALID_URL,
    httpx.UnsupportedProtocol: ErrorKind.INVALID_URL,
    httpx.TooManyRedirects: ErrorKind.REDIRECTS,
    httpx.ConnectTimeout: ErrorKind.TIMEOUT,
    httpx.ReadTimeout: ErrorKind.TIMEOUT,
    httpx.WriteTimeout: ErrorKind.TIMEOUT,
    httpx.PoolTimeout: ErrorKind.TIMEOUT,
    httpx.TimeoutException: ErrorKind.TIMEOUT,
    httpx.ConnectError: ErrorKind.CONNECT,
    httpx.ReadError: ErrorKind.CONNECT,
    httpx.WriteError: ErrorKind.CONNECT,
    httpx.CloseError: ErrorKind.CONNECT,
    httpx.NetworkError: ErrorKind.CONNECT,
    httpx.ProxyError: ErrorKind.CONNECT,
    httpx.RemoteProtocolError: ErrorKind.PROTOCOL,
    httpx.LocalProtocolError: ErrorKind.PROTOCOL,
    httpx.ProtocolError: ErrorKind.PROTOCOL,
    httpx.DecodingError: ErrorKind.PROTOCOL,
    httpx.TransportError: ErrorKind.CONNECT,
    httpx.RequestError: ErrorKind.OTHER,
    httpx.HTTPStatusError: ErrorKind.OTHER,
    httpx.HTTPError: ErrorKind.OTHER,
    httpx.CookieConflict: ErrorKind.OTHER,
    httpx.StreamError: ErrorKind.OTHER,
    httpx.StreamConsumed: ErrorKind.OTHER,
    httpx.StreamClosed: ErrorKind.OTHER,
    httpx.ResponseNotRead: ErrorKind.OTHER,
    httpx.RequestNotRead: ErrorKind.OTHER,
}


def classify(exc: BaseException) -> ErrorKind:
    """The error kind for an exception raised while fetching, most specific first."""
    if isinstance(exc, WriteFailed) or descriptors.exhausted(exc):
        return ErrorKind.IO
    if isinstance(exc, DecodeError):
        return ErrorKind.PROTOCOL
    chain = list(exception_chain(exc))
    if any(isinstance(cause, socket.gaierror) for cause in chain):
        return ErrorKind.DNS
    if any(isinstance(cause, ssl.SSLError | ssl.CertificateError) for cause in chain):
        return ErrorKind.TLS
    for cls in type(exc).__mro__:
        if cls in HTTPX_KINDS:
            return HTTPX_KINDS[cls]
    if isinstance(exc, TimeoutError):
        return ErrorKind.TIMEOUT
    if isinstance(exc, OSError):
        return ErrorKind.CONNECT
    return ErrorKind.OTHER


def describe(exc: BaseException) -> str:
    """A one-line message: the most informative text found along the exception chain."""
    if descriptors.exhausted(exc):
        return descriptors.exhausted_message()
    for cause in exception_chain(exc):
        text = " ".join(str(cause).split())
        if text:
            return text
    return type(exc).__name__
