"""--tls-info's certificate parsing, on certificates the test makes (trustme, cryptography)."""

from __future__ import annotations

import datetime

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fetchcli.fetching.fetcher import tls_info
from fetchcli.http.certificates import Handshake, from_der, from_pem


def _leaf(ca: trustme.CA, *names: str, **options: datetime.datetime) -> trustme.LeafCert:
    return ca.issue_cert(*names, **options)


def test_a_leaf_certificate_reads_as_the_records_show_it() -> None:
    ca = trustme.CA(organization_name="Example CA")
    not_after = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    leaf = _leaf(ca, "a.example", "10.0.0.1", "b.example", not_after=not_after)
    pem = leaf.cert_chain_pems[0].bytes().decode()
    parsed = from_pem(pem)
    assert parsed is not None and parsed == from_der(
        x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    )
    assert parsed.sans == ("a.example", "10.0.0.1", "b.example")
    assert "O=Example CA" in parsed.issuer and parsed.not_after == not_after
    now = datetime.datetime(2031, 5, 1, 7, 8, 9, tzinfo=datetime.UTC).timestamp()
    info = tls_info(Handshake("TLSv1.3", "TLS_AES_128_GCM_SHA256", parsed), lambda: now)
    assert info is not None
    record = info.to_record()
    assert record["days_left"] == 5.0 and record["not_after"] == "2031-05-06T07:08:09Z"
    assert record["version"] == "TLSv1.3" and record["sans"][0] == "a.example"


def test_a_certificate_without_names_and_with_a_hostile_subject() -> None:
    """No SAN extension: no names. A subject with control characters reaches the record
    without them."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil\x1b[31m.example")])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(1).not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    parsed = from_der(cert.public_bytes(serialization.Encoding.DER))
    assert parsed is not None and parsed.sans == ()
    info = tls_info(Handshake(None, None, parsed), start.timestamp)
    assert info is not None and "\x1b" not in str(info.to_record()["subject"])


def test_bytes_that_are_no_certificate_read_as_none() -> None:
    assert from_der(b"not a certificate") is None
    assert from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") is None
    unread = tls_info(Handshake("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", None), lambda: 0.0)
    assert unread is not None and unread.days_left is None and unread.version == "TLSv1.2"
