"""Property-based: no input bytes crash the URL-list reader; sanitized text is always inert;
the table's URL shortening keeps host and port and never overflows its column."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from fetchcli.fetching.snippet import SnippetCollector, clean_snippet
from fetchcli.input.sources import iter_lines
from fetchcli.models import ErrorKind, Timing
from fetchcli.output.table import shorten_middle
from fetchcli.sanitize import collapse_whitespace, mask_url, sanitize

_FORBIDDEN = {chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_reader_never_crashes_and_numbers_lines(data: bytes) -> None:
    """Arbitrary bytes become Targets: valid ones without error, the rest invalid-url."""
    targets = list(iter_lines(io.BytesIO(data), "-", "https"))
    lines = [t.line for t in targets]
    assert lines == sorted(lines)
    assert all(line is not None and 1 <= line <= data.count(b"\n") + 1 for line in lines)
    for target in targets:
        assert target.error is None or target.error.kind is ErrorKind.INVALID_URL
        if target.error is None:
            assert target.url.startswith(("http://", "https://"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["http://a.b/", "ftp://x", "", "# c", "\r", "a.b/c", "\xff"]), max_size=30
    )
)
def test_reader_keeps_line_numbers_of_mixed_lists(lines: list[str]) -> None:
    """Line numbers always point at the line the record came from."""
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    for target in iter_lines(io.BytesIO(data), "f", "https"):
        assert target.line is not None
        original = lines[target.line - 1].strip()
        assert original and not original.startswith("#")


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_sanitized_text_has_no_controls(text: str) -> None:
    """Whatever a server sends, sanitize() output has no ESC, BEL, C0 or C1 character."""
    cleaned = sanitize(text)
    assert not _FORBIDDEN & set(cleaned)
    assert sanitize(cleaned) == cleaned


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="@/?#:"
        ),
        min_size=1,
        max_size=20,
    )
)
def test_masked_urls_never_show_the_password(password: str) -> None:
    """A password in a URL never survives mask_url (URLs hold no whitespace or controls)."""
    url = f"https://user:{password}@example.com/path"
    masked = mask_url(url)
    assert masked == "https://user:****@example.com/path"


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.sampled_from("ab \n\t\x1b[]31m;\x07\x9b\x9c\x00é"), max_size=400),
        # Text without escape sequences, with what str.split() and sanitize() may see differently.
        st.text(
            alphabet=st.sampled_from("ab \n\t\r\x0b\x0c\x1c\x1f\x00\x7f\xa0\u2028\u200e\u3000é"),
            max_size=400,
        ),
    ),
    st.integers(min_value=1, max_value=80),
)
def test_snippet_from_a_prefix_equals_the_snippet_of_the_whole(text: str, chars: int) -> None:
    """The snippet taken from a prefix is exactly the one the whole text would give."""
    assert clean_snippet(text, chars) == collapse_whitespace(sanitize(text))[:chars]


@settings(max_examples=500, deadline=None)
@given(
    st.binary(max_size=600).map(lambda data: data.replace(b"\0", b"")),
    st.one_of(
        st.binary(max_size=400),
        st.lists(
            st.sampled_from(
                [
                    b"ab",
                    b" ",
                    b"\n",
                    b"\r\n",
                    b"\t",
                    b"  ",
                    b"\x1b[1m",
                    b"\x1c",
                    b"\x7f",
                    b"\x0b",
                    b"\xc3\xa9",
                    b"\xff",
                ]
            ),
            max_size=120,
        ).map(b"".join),
    ),
    st.integers(min_value=1, max_value=80),
    st.sampled_from([None, "utf-8", "latin-1", "utf-16", "utf-7", "shift_jis"]),
)
def test_snippet_of_a_body_equals_the_cleaned_decoded_head(
    tail: bytes, start: bytes, chars: int, charset: str | None
) -> None:
    """Whichever way a body's snippet is made (from bytes for plain ASCII), it is the head
    decoded, sanitized and folded: a body that begins in ASCII prose and one that does not."""
    body = (start + tail)[: 4 * chars + 1024]
    collector = SnippetCollector(chars)
    collector.feed(body)
    if b"\0" in body[:512]:
        assert collector.snippet("text/plain", charset) is None
        return
    text = body.decode(charset or "utf-8", errors="replace")
    assert collector.snippet("text/plain", charset) == collapse_whitespace(sanitize(text))[:chars]


_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%", max_size=15)


@st.composite
def _urls(draw: st.DrawFn) -> tuple[str, str, str]:
    """A URL, its `scheme://host:port` and its end (last path segment and query)."""
    scheme = draw(st.sampled_from(["http", "https"]))
    host = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=4)))
    port = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=65535)))
    hostport = host if port is None else f"{host}:{port}"
    segments = draw(st.lists(_SEGMENT, max_size=6))
    query = draw(st.one_of(st.none(), st.text(alphabet="abcdefxyz0123456789=&", max_size=30)))
    end = (segments[-1] if segments else "") + ("" if query is None else f"?{query}")
    path = "/" + "/".join(segments) + ("" if query is None else f"?{query}")
    return f"{scheme}://{hostport}{path}", hostport, end


@settings(max_examples=1000, deadline=None)
@given(_urls(), st.integers(min_value=0, max_value=140))
def test_a_shortened_url_keeps_its_host_and_port(parts: tuple[str, str, str], width: int) -> None:
    """A URL cut for the table never exceeds its column and keeps host and port whole whenever
    they fit, so URLs differing by port never look alike; the scheme too, when it leaves room
    for the end (8 characters of it)."""
    url, hostport, end = parts
    shown = shorten_middle(url, width)
    assert len(shown) <= width
    if width > len(hostport):
        assert hostport in shown
    at = url.index(hostport, url.index("://") + 3)  # (a host of "s" is in "https" too)
    origin = url[: at + len(hostport) + 1]  # scheme://host:port/
    if width > len(origin) + min(len(end), 8):
        assert shown == url or shown.startswith(origin)
    if "…" in shown and width > len(hostport):
        assert url.endswith(shown.rsplit("…", 1)[1])


@given(st.floats(min_value=0, max_value=1e6))
def test_seconds_in_records_are_to_the_microsecond(seconds: float) -> None:
    """Timings and elapsed are written to the microsecond, as round(x, 6) would write them
    (within one microsecond where a value falls half way)."""
    written = Timing(total=seconds).to_record()["total"]
    assert written is not None
    assert abs(written - round(seconds, 6)) <= 1.000001e-6
    assert written == round(written, 6)


@given(st.floats())
def test_any_seconds_can_be_written(seconds: float) -> None:
    """A --merge'd record can hold Infinity or NaN: writing it again never fails."""
    record = Timing(total=seconds).to_record()
    assert isinstance(record["total"], float)
