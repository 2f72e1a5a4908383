"""Make untrusted text safe for a terminal, and hide passwords in URLs.

Everything a server controls (snippets, reasons, headers, URLs, messages) passes through
`sanitize()` before any sink writes it; `mask_url()` hides `user:pass@` everywhere.
"""

from __future__ import annotations

import re

# Whole escape sequences, not just the ESC byte: leaving "[2J" or an OSC title behind is still
# garbage, and an unterminated OSC/DCS swallows the rest of the string as a terminal would.
# This and _CONTROLS are compiled at their first use (re caches them), not at every start: most
# runs never see a control character.
_ESCAPE_SEQUENCE = r"""
      (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                        # CSI, 7- and 8-bit
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)  # OSC DCS SOS PM APC
    | \x1b[ -/]*[0-~]                                         # any other ESC sequence
    """
_ESCAPE_FLAGS = re.DOTALL | re.VERBOSE
_LINE_BREAKS = re.compile(r"[\t\n\r\v\f]")
# C0 and C1 controls, DEL, and the bidi overrides that can make text read differently than it is.
_CONTROLS = r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_URL_AUTHORITY = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<netloc>[^/?#\s]*)")


def sanitize(text: str) -> str:
    """Strip escape sequences and control characters; line breaks and tabs become spaces.

    >>> sanitize("ok \\x1b[31mred\\x1b[0m \\x1b]0;title\\x07done\\x00")
    'ok red done'
    >>> sanitize("[bold]stays literal[/bold]")
    '[bold]stays literal[/bold]'
    """
    if text.isprintable():
        return text
    spaced = _LINE_BREAKS.sub(" ", text)
    if spaced.isprintable():  # only line breaks and tabs (most text): no sequence, no control
        return spaced
    without_sequences = re.sub(_ESCAPE_SEQUENCE, "", text, flags=_ESCAPE_FLAGS)
    return re.sub(_CONTROLS, "", _LINE_BREAKS.sub(" ", without_sequences))


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace become one space; the ends are trimmed.

    >>> collapse_whitespace("  a\\n\\n b\\t c ")
    'a b c'
    """
    return " ".join(text.split())  # str.split() and re's \s agree on what whitespace is


def mask_url(text: str) -> str:
    """Replace the password of every URL in `text` with `****`.

    >>> mask_url("https://alice:s3cret@example.com/x")
    'https://alice:****@example.com/x'
    >>> mask_url("see http://bob@host/ and https://h:8443/")
    'see http://bob@host/ and https://h:8443/'
    """
    if "@" not in text:
        return text
    return _URL_AUTHORITY.sub(_mask_authority, text)


def _mask_authority(match: re.Match[str]) -> str:
    netloc = match["netloc"]
    userinfo, at, host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return match.group(0)
    user = userinfo.split(":", 1)[0]
    return f"{match['scheme']}{user}:****@{host}"


def shown(text: str) -> str:
    """Text as any output may show it: sanitized, passwords masked."""
    return sanitize(mask_url(text))
