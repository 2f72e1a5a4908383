"""What is kept of a response body while it streams: the snippet and the size cap.

Nothing here holds more than the snippet's few KiB, whatever the body's size. Other consumers
(stdout in body format, `--save` files) plug in through consumer.BodyConsumer.
"""

from __future__ import annotations

import re

from fetchcli.mime import codec_of, is_textual
from fetchcli.sanitize import collapse_whitespace, sanitize

_SEQUENCE_START = re.compile("[\x1b\x80-\x9f]")
# What keeps sanitize() from being "line breaks become spaces" on text that is otherwise
# printable: escape sequences (ESC, C1) and the separators \x1c-\x1f, which str.split() takes
# for whitespace but sanitize() deletes.
_NOT_PLAIN = re.compile("[\x1b\x1c-\x1f\x80-\x9f]")
# Codecs, by the names codecs.lookup() gives them (as codec_of does), that read printable
# ASCII bytes as the same characters (not UTF-7's "+", UTF-16's pairs, ISO-2022's shifts), and
# the ASCII bytes sanitize() would delete: all but printable ASCII and the whitespace that
# bytes.split() folds as sanitize() and str.split() would.
_ASCII_READERS = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252", "iso8859-15"})
_ASCII_CONTROLS = bytes([*range(0x09), *range(0x0E, 0x20), 0x7F])
_SPACES = bytes.maketrans(b"\t\n\v\f\r", b"     ")


class SnippetCollector:
    """Keeps the first bytes of a body, enough for `chars` characters after whitespace folds."""

    def __init__(self, chars: int) -> None:
        self._chars = chars
        # UTF-8 takes up to 4 bytes a character; the margin absorbs leading whitespace and markup.
        self._budget = 4 * chars + 1024 if chars > 0 else 0
        self._head = bytearray()

    def feed(self, chunk: bytes) -> None:
        room = self._budget - len(self._head)
        if room > 0:
            self._head += chunk[:room]

    def snippet(self, content_type: str | None, charset: str | None) -> str | None:
        """The snippet, or None for binary content or when snippets are off.

        A NUL byte near the start makes a body binary whatever its Content-Type says (as HTTPie
        judges): its "text" would be replacement characters and stripped controls."""
        if self._chars <= 0 or self._head.find(b"\0", 0, 512) >= 0:
            return None
        if not is_textual(content_type, b""):  # the sample's NUL check is the one just made
            return None
        codec = codec_of(charset)
        if codec in _ASCII_READERS:
            plain = _plain_ascii_snippet(self._head, self._chars)
            if plain is not None:
                return plain
        text = self._head.decode(codec, errors="replace")
        return clean_snippet(text, self._chars)


def _plain_ascii_snippet(head: bytearray, chars: int) -> str | None:
    """The snippet of a head that begins in printable ASCII and line breaks (most pages), from
    its bytes: what clean_snippet() would give, without decoding the head or any regex; None
    when the start holds anything else."""
    sample = head[: 2 * chars + 64]
    spaced = sample.translate(_SPACES, _ASCII_CONTROLS)
    if len(spaced) != len(sample) or not sample.isascii():
        return None
    # Prose has no two spaces in a row once line breaks are spaces: nothing to fold but the
    # ends, and splitting into words would cost most of the snippet.
    folded = spaced.strip() if b"  " not in spaced else b" ".join(spaced.split())
    if len(folded) < chars and len(sample) < len(head):
        return None  # mostly whitespace: the rest of the head decides
    return folded[:chars].decode("ascii")


def clean_snippet(text: str, chars: int) -> str:
    """The first `chars` characters of `text` sanitized, whitespace collapsed.

    Sanitizing the whole head is most of a snippet's cost, so a prefix of twice the length goes
    first. sanitize() treats each character alone except escape sequences, and those all start
    with ESC or a C1 character: with none in the prefix, none is cut, and the prefix's result
    begins exactly as the whole text's would.
    """
    prefix = text[: 2 * chars + 64]
    if not _NOT_PLAIN.search(prefix):
        # Most text: printable once whitespace folds, so sanitize() would only have turned its
        # line breaks into the spaces that folding makes anyway.
        folded = " ".join(prefix.split())
        if folded.isprintable() and (len(folded) >= chars or len(prefix) == len(text)):
            return folded[:chars]
    if len(prefix) < len(text) and not _SEQUENCE_START.search(prefix):
        cleaned = collapse_whitespace(sanitize(prefix))
        if len(cleaned) >= chars:
            return cleaned[:chars]
    return collapse_whitespace(sanitize(text))[:chars]


class SizeCap:
    """Counts decoded bytes and says how much of each chunk fits under `--max-size`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.truncated = False

    def fit(self, chunk: bytes) -> bytes:
        room = self.limit - self.count
        if len(chunk) > room:
            self.truncated = True
            chunk = chunk[:room]
        self.count += len(chunk)
        return chunk
