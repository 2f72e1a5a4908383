"""Incremental decoding with a cap on every step: correct bytes, bounded memory."""

from __future__ import annotations

import gzip
import zlib

import pytest

from fetchcli.fetching.decode import DecodeError, IdentityDecoder, ZlibDecoder, decoder_for

TEXT = b"fetchcli decodes incrementally " * 5000


def _decode(encoding: str, data: bytes, piece: int, step: int = 1000) -> bytes:
    decoder = decoder_for(encoding, step)
    assert decoder is not None
    out = []
    for i in range(0, len(data), piece):
        for chunk in decoder.decode(data[i : i + piece]):
            assert len(chunk) <= step
            out.append(chunk)
    out.extend(decoder.flush())
    return b"".join(out)


@pytest.mark.parametrize("piece", [1, 7, 4096, 10**9])
@pytest.mark.parametrize(
    ("encoding", "data", "expected"),
    [
        ("gzip", gzip.compress(TEXT), TEXT),
        ("x-gzip", gzip.compress(TEXT), TEXT),
        ("gzip", gzip.compress(TEXT) + gzip.compress(b"tail"), TEXT + b"tail"),
        ("gzip", gzip.compress(TEXT) + b"\0" * 8, TEXT),
        ("deflate", zlib.compress(TEXT), TEXT),
        ("deflate", zlib.compress(TEXT)[2:-4], TEXT),
    ],
    ids=["gzip", "x-gzip", "gzip-members", "gzip-padding", "deflate-zlib", "deflate-raw"],
)
def test_bodies_decode_exactly_in_capped_steps(encoding, data, expected, piece) -> None:
    """Whatever the network chunking, the decoded bytes are exact and no step is over the cap."""
    assert _decode(encoding, data, piece) == expected


def test_gzip_bomb_can_be_abandoned_cheaply() -> None:
    """The first 64 KiB of a bomb yields 64 KiB steps; stopping at 1 MB costs nothing more."""
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    decoder = ZlibDecoder(16 + zlib.MAX_WBITS)
    seen = 0
    for chunk in decoder.decode(bomb[: 64 * 1024]):
        assert len(chunk) <= 64 * 1024
        seen += len(chunk)
        if seen >= 1_000_000:
            break
    assert seen >= 1_000_000


def test_corrupt_gzip_raises_decode_error() -> None:
    """A body that is not what its Content-Encoding says raises DecodeError."""
    with pytest.raises(DecodeError):
        list(ZlibDecoder(16 + zlib.MAX_WBITS).decode(b"\x1f\x8b\x08\x00garbage-garbage-garbage"))


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "compress"])
def test_encodings_without_a_capped_decoder(encoding: str) -> None:
    """Encodings fetchcli cannot decode under a cap get no decoder."""
    assert decoder_for(encoding) is None


@pytest.mark.parametrize("encoding", [None, "", "identity", "Identity"])
def test_identity(encoding: str | None) -> None:
    """No encoding passes the network's chunks through untouched."""
    decoder = decoder_for(encoding)
    assert isinstance(decoder, IdentityDecoder)
    assert list(decoder.decode(b"abc")) == [b"abc"]
    assert list(decoder.decode(b"")) == []
