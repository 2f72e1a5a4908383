"""Checksums a saved body must match: `--checksum ALGO=HEX`, a row's `checksum`, and
`--checksums FILE` in the format `sha256sum` and `sha512sum` write (or their `--tag` one)."""

from __future__ import annotations

import re
from pathlib import Path

from fetchcli.slots import frozen

# The hex length of each digest a checksum file may hold without naming its algorithm.
_BY_LENGTH = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
_PLAIN_LINE = r"\\?([0-9a-fA-F]+) [ *](.+)"  # `HEX  NAME` or `HEX *NAME`
_TAGGED_LINE = r"([A-Za-z0-9-]+) \((.+)\) = ([0-9a-fA-F]+)"  # `SHA256 (NAME) = HEX`


@frozen
class Checksum:
    """A digest a body must have: a hashlib algorithm and its value in hex."""

    algorithm: str  # a hashlib name
    hex: str  # lower case

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_checksum(text: str) -> Checksum:
    """`sha256=HEX` or `sha256:HEX`.

    >>> parse_checksum("SHA256:" + "AB" * 32).algorithm
    'sha256'
    """
    algorithm, separator, digest = text.strip().replace("=", ":", 1).partition(":")
    if not separator:
        raise ValueError(f"expected ALGO=HEX (sha256=9f86d0...), got {text!r}")
    return checksum_of(algorithm, digest)


def checksum_of(algorithm: str, digest: str) -> Checksum:
    import hashlib  # OpenSSL's, 2 ms to load: not for --help, which names this parser

    name = algorithm.strip().lower().replace("-", "")
    if name not in hashlib.algorithms_guaranteed or name.startswith("shake"):
        raise ValueError(f"unknown algorithm {algorithm!r} (sha256, sha512, sha1, md5...)")
    digest = digest.strip().lower()
    expected = hashlib.new(name).digest_size * 2
    if len(digest) != expected or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ValueError(f"a {name} checksum is {expected} hex digits, got {digest[:80]!r}")
    return Checksum(name, digest)


def load_checksums(path: Path) -> dict[str, Checksum]:
    """File name -> checksum, from a `sha256sum`-style file (OSError if it cannot be read;
    ValueError naming the line of one that does not parse)."""
    found: dict[str, Checksum] = {}
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            try:
                name, checksum = _entry(line)
            except ValueError as exc:
                raise ValueError(f"line {number}: {exc}") from None
            found[name.rsplit("/", 1)[-1]] = checksum  # `dir/name` lists match by name
    return found


def _entry(line: str) -> tuple[str, Checksum]:
    if tagged := re.fullmatch(_TAGGED_LINE, line):
        return tagged[2], checksum_of(tagged[1], tagged[3])
    plain = re.fullmatch(_PLAIN_LINE, line)
    if plain is None or len(plain[1]) not in _BY_LENGTH:
        raise ValueError(f"expected 'HEX  NAME' as sha256sum writes it, got {line[:80]!r}")
    return plain[2], checksum_of(_BY_LENGTH[len(plain[1])], plain[1])
