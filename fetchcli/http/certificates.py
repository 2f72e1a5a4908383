"""--tls-info: what a TLS connection was opened with, as its transport hands it over (TLS
version, cipher, the leaf certificate), the certificate parsed with `cryptography` (imported
only when asked for) once per certificate seen."""

from __future__ import annotations

import datetime
import functools
from typing import Any

from fetchcli.slots import frozen


@frozen
class Certificate:
    """The fields of a leaf certificate that records show."""

    subject: str
    issuer: str
    sans: tuple[str, ...]  # DNS names and IP addresses
    not_before: datetime.datetime  # aware, UTC
    not_after: datetime.datetime


@frozen
class Handshake:
    """What one connection's TLS handshake settled."""

    version: str | None  # "TLSv1.3"
    cipher: str | None  # "TLS_AES_256_GCM_SHA384"
    certificate: Certificate | None  # the leaf; None when it could not be read


@functools.lru_cache(maxsize=1024)  # one entry per certificate: many URLs share each
def from_der(der: bytes) -> Certificate | None:
    from cryptography import x509

    try:
        return _certificate(x509.load_der_x509_certificate(der))
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def from_pem(pem: str) -> Certificate | None:
    from cryptography import x509

    try:
        return _certificate(x509.load_pem_x509_certificate(pem.encode("ascii", "replace")))
    except ValueError:
        return None


def _certificate(cert: Any) -> Certificate:
    from cryptography import x509

    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(  # in the certificate's order
            str(name.value) for name in names if isinstance(name, x509.DNSName | x509.IPAddress)
        )
    except x509.ExtensionNotFound:
        sans = ()
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sans=sans,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def from_ssl_object(ssl_object: Any) -> Handshake | None:
    """The handshake of an ssl.SSLObject (httpcore's and aiohttp's connections)."""
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    return Handshake(
        version=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        certificate=from_der(der) if der else None,
    )
