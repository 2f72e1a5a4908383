"""Incremental Content-Encoding decoders whose output per step is capped.

httpx decodes each network chunk whole, so one 64 KiB chunk of a gzip bomb becomes ~66 MB at
once. These decoders hand out at most `step` bytes at a time, so a reader that stops at
`--max-size` never holds more than that.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

STEP = 64 * 1024
# Only encodings we can decode with a cap are advertised.
ACCEPT_ENCODING = "gzip, deflate"


class DecodeError(Exception):
    """The body does not decode as its Content-Encoding says."""


class Decoder(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...
    def flush(self) -> Iterator[bytes]: ...


class IdentityDecoder:
    def decode(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


_IDENTITY = IdentityDecoder()


class ZlibDecoder:
    """gzip (several members too) or deflate, zlib-wrapped or raw, in steps of at most `step`."""

    def __init__(self, wbits: int, step: int = STEP) -> None:
        self._wbits = wbits
        self._step = step
        self._inflater = zlib.decompressobj(wbits)
        self._members = 1
        self._seen_output = False
        self._done = False
        self._fed = b""  # input before the first output, replayed if deflate turns out raw

    def decode(self, data: bytes) -> Iterator[bytes]:
        pending = bool(data)
        while pending and not self._done:
            if self._inflater.eof:
                self._next_member()
                continue
            chunk = self._decompress(data)
            if chunk:
                yield chunk
            if self._inflater.eof:
                data = self._inflater.unused_data  # at the end, unconsumed_tail repeats it
                pending = bool(data)
            else:
                data = self._inflater.unconsumed_tail
                # A full step may leave output inside zlib even when all input is consumed.
                pending = bool(data) or len(chunk) == self._step

    def flush(self) -> Iterator[bytes]:
        return self.decode(b"") if self._done else self._drain()

    def _drain(self) -> Iterator[bytes]:
        while not self._done and not self._inflater.eof:
            chunk = self._decompress(b"")
            if not chunk:
                return
            yield chunk

    def _next_member(self) -> None:
        """gzip allows members back to back; deflate has one stream and ignores what follows."""
        if self._wbits < 16:
            self._done = True
            return
        self._members += 1
        self._inflater = zlib.decompressobj(self._wbits)

    def _decompress(self, data: bytes) -> bytes:
        if self._wbits == zlib.MAX_WBITS and not self._seen_output:
            self._fed = (self._fed + data)[:STEP]
        try:
            chunk = self._inflater.decompress(data, self._step)
        except zlib.error as exc:
            chunk = self._recover(data, exc)
        self._seen_output = self._seen_output or bool(chunk)
        return chunk

    def _recover(self, data: bytes, exc: zlib.error) -> bytes:
        if self._wbits == zlib.MAX_WBITS and not self._seen_output:
            # "deflate" is sent both zlib-wrapped and raw: retry the first bytes as raw.
            self._wbits = -zlib.MAX_WBITS
            self._inflater = zlib.decompressobj(self._wbits)
            return self._decompress(self._fed)
        if self._members > 1:
            self._done = True  # padding after the last gzip member is ignored, as gzip(1) does
            return b""
        raise DecodeError(f"cannot decode body: {exc}") from exc


def decoder_for(content_encoding: str | None, step: int = STEP) -> Decoder | None:
    """The decoder for a Content-Encoding header, or None if we cannot decode it.

    >>> type(decoder_for("gzip")).__name__, decoder_for("br")
    ('ZlibDecoder', None)
    """
    if not content_encoding:
        return _IDENTITY  # most bodies: nothing to parse, and the identity decoder keeps no state
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if not encodings:
        return IdentityDecoder()
    if len(encodings) > 1:
        return None  # stacked encodings are too rare to be worth a second capped pipeline
    if encodings[0] in ("gzip", "x-gzip"):
        return ZlibDecoder(16 + zlib.MAX_WBITS, step)
    if encodings[0] == "deflate":
        return ZlibDecoder(zlib.MAX_WBITS, step)
    return None
