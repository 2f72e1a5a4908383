"""Terminal safety: escapes and controls stripped whole, markup literal, passwords masked."""

from __future__ import annotations

import pytest

from fetchcli.sanitize import collapse_whitespace, mask_url, sanitize


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("a\x1b[31mred\x1b[0m b", "ared b"),
        ("a\x9b31mb", "ab"),
        ("\x1b]0;title\x07after", "after"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bPdevice\x1b\\ok", "ok"),
        ("x\x1b[2J\x1b[Hy", "xy"),
        ("lone\x1b", "lone"),
        ("bell\x07 nul\x00 del\x7f c1\x85", "bell nul del c1"),
        ("tab\tnew\nline\rret", "tab new line ret"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("\x1b]0;never terminated", ""),
    ],
)
def test_escape_sequences_and_controls_are_removed_whole(text: str, clean: str) -> None:
    """CSI, OSC, DCS, C0, C1, DEL and bidi overrides go, with their parameters."""
    assert sanitize(text) == clean


@pytest.mark.parametrize("text", ["[bold red]x[/bold red]", "café 漢字 🙂", "50% [link=x]y[/link]"])
def test_ordinary_text_and_markup_stay_as_they_are(text: str) -> None:
    """Printable text, unicode and rich markup are left literally."""
    assert sanitize(text) == text


def test_collapse_whitespace() -> None:
    """Runs of whitespace fold to one space, ends trimmed."""
    assert collapse_whitespace(" a \n\n b\t\tc ") == "a b c"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://alice:s3cret@example.com/x", "https://alice:****@example.com/x"),
        ("http://u:p@h:8080/", "http://u:****@h:8080/"),
        (
            "error for 'https://u:p@h/' and http://v:q@g/",
            "error for 'https://u:****@h/' and http://v:****@g/",
        ),
        ("https://user@example.com/", "https://user@example.com/"),
        ("https://example.com/a@b", "https://example.com/a@b"),
        ("no url here: a@b", "no url here: a@b"),
    ],
)
def test_mask_url(text: str, masked: str) -> None:
    """Passwords become ****, wherever the URL stands in the text; nothing else changes."""
    assert mask_url(text) == masked
