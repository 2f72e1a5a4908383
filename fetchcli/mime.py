"""What a Content-Type (or, without one, the first bytes) says about a body: text or binary,
and in which charset."""

from __future__ import annotations

import codecs
import functools
import re

_TEXT_SUBTYPES = ("json", "xml", "javascript", "ecmascript", "html", "csv", "yaml", "urlencoded")


def is_textual(content_type: str | None, sample: bytes) -> bool:
    """Whether a body of this type is text worth a snippet.

    >>> is_textual("text/html; charset=utf-8", b""), is_textual("image/png", b"")
    (True, False)
    >>> is_textual("application/problem+json", b""), is_textual(None, b"\\x00\\x01")
    (True, False)
    """
    if not content_type:
        return b"\0" not in sample
    mime = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = mime.partition("/")
    return main == "text" or any(word in sub for word in _TEXT_SUBTYPES)


_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


def charset_of(content_type: str | None) -> str | None:
    """The charset a Content-Type names (httpx's own lookup parses the header as an email).

    >>> charset_of('text/html; charset="ISO-8859-1"'), charset_of("text/plain"), charset_of(None)
    ('ISO-8859-1', None, None)
    """
    match = _CHARSET.search(content_type) if content_type else None
    return match[1] if match else None


@functools.lru_cache(maxsize=64)  # a run meets few charsets, on every URL
def codec_of(charset: str | None) -> str:
    """The response's charset if Python knows it, else UTF-8 (decoded with replacement)."""
    if charset:
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8"
