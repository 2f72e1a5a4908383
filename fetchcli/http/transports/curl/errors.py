"""libcurl's error codes as the httpx exceptions the classifier and the retry policy expect,
with the same causes under them as the other transports raise (an OSError with its errno, an
ssl.SSLError with OpenSSL's reason, a socket.gaierror), so that every transport's failures
read in the same words. Every code pycurl knows is mapped on purpose (a test checks)."""

from __future__ import annotations

import os
import re
import ssl
from typing import Any

import httpx
import pycurl

from fetchcli.http.errors import BAD_CHUNKS, BAD_HEAD, BODY_CUT, DISCONNECTED

# What each code becomes; `_OS` ones carry the OS error libcurl saw, `_TLS` ones OpenSSL's.
_OS, _TLS, _TIMEOUT = "os", "tls", "timeout"
_HTTP_CODES: dict[int, tuple[type[httpx.TransportError], str | None]] = {
    pycurl.E_COULDNT_CONNECT: (httpx.ConnectError, _OS),
    pycurl.E_COULDNT_RESOLVE_HOST: (httpx.ConnectError, _OS),  # the Resolver asks first
    pycurl.E_COULDNT_RESOLVE_PROXY: (httpx.ConnectError, _OS),
    pycurl.E_OPERATION_TIMEDOUT: (httpx.ConnectTimeout, _TIMEOUT),
    pycurl.E_SEND_ERROR: (httpx.WriteError, _OS),
    pycurl.E_RECV_ERROR: (httpx.ReadError, _OS),
    pycurl.E_GOT_NOTHING: (httpx.RemoteProtocolError, DISCONNECTED),
    pycurl.E_PARTIAL_FILE: (httpx.RemoteProtocolError, BODY_CUT),
    8: (httpx.RemoteProtocolError, BAD_HEAD),  # CURLE_WEIRD_SERVER_REPLY (pycurl has no name)
    pycurl.E_HTTP2: (httpx.RemoteProtocolError, None),
    92: (httpx.RemoteProtocolError, None),  # CURLE_HTTP2_STREAM
    95: (httpx.RemoteProtocolError, None),  # CURLE_HTTP3 (a QUIC stream or frame gone wrong)
    96: (httpx.ConnectError, None),  # CURLE_QUIC_CONNECT_ERROR
    97: (httpx.ProxyError, None),  # CURLE_PROXY: the proxy refused (a CONNECT not 2xx)
    99: (httpx.ReadError, None),  # CURLE_UNRECOVERABLE_POLL
    100: (httpx.RemoteProtocolError, BAD_HEAD),  # CURLE_TOO_LARGE: a header past libcurl's cap
    pycurl.E_BAD_CONTENT_ENCODING: (httpx.RemoteProtocolError, None),  # never: decoding is off
    pycurl.E_SSL_CONNECT_ERROR: (httpx.ConnectError, _TLS),
    pycurl.E_PEER_FAILED_VERIFICATION: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_CERTPROBLEM: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_CIPHER: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_CACERT: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_CACERT_BADFILE: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_ISSUER_ERROR: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_PINNEDPUBKEYNOTMATCH: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_INVALIDCERTSTATUS: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_PEER_CERTIFICATE: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_SHUTDOWN_FAILED: (httpx.ReadError, _TLS),
    pycurl.E_SSL_ENGINE_INITFAILED: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_ENGINE_NOTFOUND: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_ENGINE_SETFAILED: (httpx.ConnectError, _TLS),
    pycurl.E_SSL_CRL_BADFILE: (httpx.ConnectError, _TLS),
    pycurl.E_USE_SSL_FAILED: (httpx.ConnectError, _TLS),
    pycurl.E_UNSUPPORTED_PROTOCOL: (httpx.UnsupportedProtocol, None),
    pycurl.E_URL_MALFORMAT: (httpx.UnsupportedProtocol, None),
    pycurl.E_URL_MALFORMAT_USER: (httpx.UnsupportedProtocol, None),
    pycurl.E_NO_CONNECTION_AVAILABLE: (httpx.PoolTimeout, None),
    pycurl.E_AGAIN: (httpx.ReadError, None),
    pycurl.E_SEND_FAIL_REWIND: (httpx.WriteError, None),
    pycurl.E_READ_ERROR: (httpx.WriteError, None),  # reading the request body to send
    pycurl.E_UPLOAD_FAILED: (httpx.WriteError, None),
    pycurl.E_HTTP_POST_ERROR: (httpx.WriteError, None),
    pycurl.E_INTERFACE_FAILED: (httpx.ConnectError, None),
    pycurl.E_LOGIN_DENIED: (httpx.ProxyError, None),  # proxy authentication
    pycurl.E_TOO_MANY_REDIRECTS: (httpx.RemoteProtocolError, None),  # never: we follow them
    pycurl.E_RANGE_ERROR: (httpx.RemoteProtocolError, None),
    pycurl.E_HTTP_RANGE_ERROR: (httpx.RemoteProtocolError, None),
    pycurl.E_HTTP_RETURNED_ERROR: (httpx.RemoteProtocolError, None),  # never: FAILONERROR off
    pycurl.E_FILESIZE_EXCEEDED: (httpx.RemoteProtocolError, None),  # never: no MAXFILESIZE
    pycurl.E_CHUNK_FAILED: (httpx.RemoteProtocolError, BAD_CHUNKS),
}
# Codes of libcurl's own misuse, or of protocols fetchcli never asks for (FTP, LDAP, ...): a
# TransportError with libcurl's words, kind `connect` or `other` by the classifier's rules.
_UNEXPECTED = re.compile(
    r"E_(FTP|TFTP|LDAP|TELNET|RTSP|SSH|REMOTE|QUOTE|BAD|MULTI|CONV|FUNCTION|LIBRARY|"
    r"FILE|MALFORMAT|NOT_BUILT|OUT_OF|FAILED_INIT|UNKNOWN|SHARE|WRITE|ABORTED|ALREADY|"
    r"HTTP_NOT_FOUND|HTTP_PORT|OK|CALL_MULTI|OPERATION_TIMEOUTED)"
)


def mapped_codes() -> dict[str, type[httpx.TransportError]]:
    """Every E_ code pycurl knows, by name, and the httpx exception it becomes."""
    codes: dict[str, type[httpx.TransportError]] = {}
    for name in dir(pycurl):
        value = getattr(pycurl, name)
        if not name.startswith("E_") or not isinstance(value, int):
            continue
        if value in _HTTP_CODES:
            codes[name] = _HTTP_CODES[value][0]
        elif _UNEXPECTED.match(name):
            codes[name] = httpx.TransportError
    return codes


def error_for(
    code: int, message: str, request: httpx.Request, *, os_errno: int, connected: bool
) -> httpx.TransportError:
    """The httpx exception for a transfer that ended with libcurl error `code`."""
    kind, words = _HTTP_CODES.get(code, (httpx.TransportError, None))
    cause: BaseException | None = None
    text = words or " ".join(message.split()) or f"libcurl error {code}"
    if words == _TIMEOUT:
        kind, text = (httpx.ReadTimeout, "read timeout") if connected else (kind, "connect timeout")
    elif words == _OS:
        text = " ".join(message.split())
        if os_errno:
            cause = OSError(os_errno, os.strerror(os_errno))
        elif "chunk" in message.lower():
            kind, text = httpx.RemoteProtocolError, BAD_CHUNKS
    elif words == _TLS:
        cause = tls_error(message, refused=code == pycurl.E_PEER_FAILED_VERIFICATION)
        text = str(cause)
    error = kind(text, request=request)
    error.__cause__ = cause
    return error


# libcurl's words for OpenSSL refusing a certificate, before 8.x and since; (10) is its number.
_VERIFY = re.compile(
    r"SSL certificate (?:problem|OpenSSL verify result): (?P<reason>.+?)(?: \(\d+\))?$"
)
_OPENSSL = re.compile(r"error:[0-9A-F]+:[^:]*:[^:]*:(?P<reason>[^,]+)")


def tls_error(message: str, *, refused: bool = False) -> ssl.SSLError:
    """libcurl's TLS message as the ssl module's exception: a certificate refused carries
    OpenSSL's verify message, as Python's own handshake does. Over QUIC libcurl says no reason
    (and after a fallback to TCP its words are the TCP attempt's): `refused` says it is one.

    >>> tls_error("SSL certificate problem: self-signed certificate").verify_message
    'self-signed certificate'
    >>> tls_error("SSL certificate OpenSSL verify result: certificate has expired (10)")
    SSLCertVerificationError(1, 'certificate verify failed: certificate has expired')
    >>> str(tls_error("Failed to connect: Could not connect to server", refused=True))
    "certificate verify failed: the server's certificate was not accepted"
    >>> str(tls_error("OpenSSL/3.6.5: error:0A00010B:SSL routines::wrong version number"))
    '[SSL] wrong version number'
    """
    verify = _VERIFY.search(message)
    if verify is not None or refused:
        reason = verify["reason"] if verify else "the server's certificate was not accepted"
        error: Any = ssl.SSLCertVerificationError(1, f"certificate verify failed: {reason}")
        error.verify_message = reason
        return error  # type: ignore[no-any-return]
    reason = _OPENSSL.search(message)
    words = reason["reason"].strip() if reason else " ".join(message.split())
    return ssl.SSLError(1, f"[SSL] {words}")
