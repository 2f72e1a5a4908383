"""What a Content-Type (or, without one, the first bytes) says about a body: text or binary."""

from __future__ import annotations

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
