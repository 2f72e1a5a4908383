"""The one place that knows httpx, ssl and socket exceptions: each becomes an ErrorKind, and
whether it may be retried.

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
DeadlinePassed (--max-time) ......... deadline
DecodeError (a body that won't decode) protocol
RedirectRefused (to ftp:, file:...) .. redirects
ChecksumMismatch (not the body expected) checksum
RangeRefused (a 206 that does not fit) protocol
WriteFailed (a body we could not write) io
EMFILE/ENFILE in the chain .......... io        (out of descriptors: local, not the URL's fault)
"""

from __future__ import annotations

import os
import re
import socket
import ssl
from enum import Enum
from typing import NamedTuple

import httpx

from fetchcli.consumer import WriteFailed
from fetchcli.errors import exception_chain
from fetchcli.fetching import descriptors
from fetchcli.fetching.deadline import DeadlinePassed
from fetchcli.fetching.decode import DecodeError
from fetchcli.http.errors import BAD_CHUNKS, BAD_HEAD, BODY_CUT, DISCONNECTED, PROTOCOL_WORDS
from fetchcli.http.sender import RedirectRefused
from fetchcli.models import ErrorInfo, ErrorKind


class Retry(Enum):
    """When a failure may be tried again (the contract's retry rules)."""

    NEVER = "never"
    UNSENT = "unsent"  # the request never left: any method
    IDEMPOTENT = "idempotent"  # it may have reached the server: idempotent methods only


class Failure(NamedTuple):
    """An exception, classified once: its kind, a one-line message, and whether to retry it."""

    kind: ErrorKind
    message: str
    retry: Retry = Retry.NEVER

    def info(self) -> ErrorInfo:
        return ErrorInfo(self.kind, self.message)


_K, _R = ErrorKind, Retry
# Every httpx exception class, each mapped on purpose (a test checks none is missing); looked
# up along the exception's class hierarchy, most specific first. A reused keep-alive connection
# that the server had closed surfaces as RemoteProtocolError or ReadError: retried when safe.
HTTPX_KINDS: dict[type[BaseException], tuple[ErrorKind, Retry]] = {
    httpx.InvalidURL: (_K.INVALID_URL, _R.NEVER),
    httpx.UnsupportedProtocol: (_K.INVALID_URL, _R.NEVER),
    httpx.TooManyRedirects: (_K.REDIRECTS, _R.NEVER),
    httpx.ConnectTimeout: (_K.TIMEOUT, _R.UNSENT),
    httpx.PoolTimeout: (_K.TIMEOUT, _R.UNSENT),
    httpx.ReadTimeout: (_K.TIMEOUT, _R.IDEMPOTENT),
    httpx.WriteTimeout: (_K.TIMEOUT, _R.IDEMPOTENT),
    httpx.TimeoutException: (_K.TIMEOUT, _R.NEVER),
    httpx.ConnectError: (_K.CONNECT, _R.UNSENT),
    httpx.ReadError: (_K.CONNECT, _R.IDEMPOTENT),
    httpx.WriteError: (_K.CONNECT, _R.IDEMPOTENT),
    httpx.CloseError: (_K.CONNECT, _R.NEVER),
    httpx.NetworkError: (_K.CONNECT, _R.NEVER),
    httpx.ProxyError: (_K.CONNECT, _R.NEVER),
    httpx.RemoteProtocolError: (_K.PROTOCOL, _R.IDEMPOTENT),
    httpx.LocalProtocolError: (_K.PROTOCOL, _R.NEVER),
    httpx.ProtocolError: (_K.PROTOCOL, _R.NEVER),
    httpx.DecodingError: (_K.PROTOCOL, _R.NEVER),
    httpx.TransportError: (_K.CONNECT, _R.NEVER),
    httpx.RequestError: (_K.OTHER, _R.NEVER),
    httpx.HTTPStatusError: (_K.OTHER, _R.NEVER),
    httpx.HTTPError: (_K.OTHER, _R.NEVER),
    httpx.CookieConflict: (_K.OTHER, _R.NEVER),
    httpx.StreamError: (_K.OTHER, _R.NEVER),
    httpx.StreamConsumed: (_K.OTHER, _R.NEVER),
    httpx.StreamClosed: (_K.OTHER, _R.NEVER),
    httpx.ResponseNotRead: (_K.OTHER, _R.NEVER),
    httpx.RequestNotRead: (_K.OTHER, _R.NEVER),
}


def classify(exc: BaseException) -> Failure:
    """What an exception raised while fetching means, the most specific finding first."""
    kind, retry = _kind(exc)
    return Failure(kind, describe(exc), retry)


def _kind(exc: BaseException) -> tuple[ErrorKind, Retry]:
    if isinstance(exc, DeadlinePassed):
        return ErrorKind.DEADLINE, Retry.NEVER
    if isinstance(exc, WriteFailed):  # its own kind: io, checksum (ChecksumMismatch)...
        return exc.kind, Retry.NEVER
    if descriptors.exhausted(exc):
        return ErrorKind.IO, Retry.NEVER
    if isinstance(exc, DecodeError):
        return ErrorKind.PROTOCOL, Retry.NEVER
    if isinstance(exc, RedirectRefused):
        return ErrorKind.REDIRECTS, Retry.NEVER
    chain = list(exception_chain(exc))
    # A name that does not resolve or a certificate that does not verify will not change a
    # second later: never retried.
    if any(isinstance(cause, socket.gaierror) for cause in chain):
        return ErrorKind.DNS, Retry.NEVER
    if any(isinstance(cause, ssl.SSLError | ssl.CertificateError) for cause in chain):
        return ErrorKind.TLS, Retry.NEVER
    for cls in type(exc).__mro__:
        if cls in HTTPX_KINDS:
            return HTTPX_KINDS[cls]
    if isinstance(exc, TimeoutError):
        return ErrorKind.TIMEOUT, Retry.NEVER
    if isinstance(exc, OSError):
        return ErrorKind.CONNECT, Retry.NEVER
    return ErrorKind.OTHER, Retry.NEVER


def describe(exc: BaseException) -> str:
    """One plain line saying what went wrong, in the same words on every transport: the root
    cause where one is known (`connection refused`, `name not found`, `read timeout`), never a
    library's internals (object reprs, cancel scopes, `ssl:default`)."""
    if descriptors.exhausted(exc):
        return descriptors.exhausted_message()
    if isinstance(exc, WriteFailed | DecodeError | RedirectRefused):  # ours: they say it
        return " ".join(str(exc).split())
    chain = list(exception_chain(exc))
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return str(cause.strerror or cause)
    for cause in chain:
        if getattr(cause, "verify_message", None):  # OpenSSL's own reason for refusing it
            return f"certificate verify failed: {cause.verify_message}"  # type: ignore[attr-defined]
    tls = [cause for cause in chain if isinstance(cause, ssl.SSLError | ssl.CertificateError)]
    if tls:
        # OpenSSL's own error is the one with a `reason`; aiohttp's wrapper (also an
        # SSLError) carries its own text around it.
        cause = next((c for c in tls if getattr(c, "reason", None)), tls[-1])
        return f"TLS handshake failed: {tls_words(cause)}"
    for cls, words in _TIMEOUTS.items():
        if isinstance(exc, cls):
            return words
    for cause in chain:
        if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
            return _lower_first(os.strerror(cause.errno))
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return _protocol_words(str(exc))
    for cause in chain:
        text = " ".join(str(cause).split())
        if text:
            return text
    return type(exc).__name__


_OPENSSL_TEXT = r"^\[[^\]]*\]\s*(?P<words>.*?)\s*(?:\(_ssl\.c:\d+\))?$"  # compiled when needed
# What a TLS failure most often means, where OpenSSL's words do not say it.
_TLS_HINTS = {
    "wrong version number": "is the port plain HTTP?",
    "packet length too long": "is the port plain HTTP?",
    "record layer failure": "is the port plain HTTP?",
}


def tls_words(error: ssl.SSLError | ssl.CertificateError) -> str:
    """OpenSSL's reason in plain words, the same on every transport.

    >>> tls_words(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"))
    'wrong version number (is the port plain HTTP?)'
    """
    text = " ".join(str(error.args[1] if len(error.args) > 1 else error).split())
    match = re.match(_OPENSSL_TEXT, text)
    words = match["words"] if match and match["words"] else ""
    if not words:
        reason = getattr(error, "reason", None)
        words = reason.lower().replace("_", " ") if reason else _lower_first(text)
    hint = _TLS_HINTS.get(words)
    return f"{words} ({hint})" if hint else words


# Exactly these words, whichever transport raised the timeout; fetch.py adds the seconds.
_TIMEOUTS: dict[type[BaseException], str] = {
    httpx.ConnectTimeout: "connect timeout",
    httpx.ReadTimeout: "read timeout",
    httpx.WriteTimeout: "write timeout",
    httpx.PoolTimeout: "pool timeout",
}
TIMEOUT_WORDS = frozenset(_TIMEOUTS.values())


def _protocol_words(text: str) -> str:
    """A protocol error in plain words; both parsers (h11, aiohttp's) say them their own way."""
    lowered = text.lower()
    if text in PROTOCOL_WORDS:
        return text
    if "without sending a response" in lowered or "disconnected" in lowered:
        return DISCONNECTED
    if "complete message body" in lowered or "content length" in lowered:
        return BODY_CUT
    if "chunk" in lowered:
        return BAD_CHUNKS
    return BAD_HEAD


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
