"""The file names of saved bodies: from the URL, or from the server's Content-Disposition
(--content-disposition), each made safe the same way (no directory, no control characters, no
leading dot, not over 255 bytes) and given `-1`, `-2`... when taken (output/save.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from fetchcli.sanitize import sanitize

MAX_NAME_BYTES = 255
_UNSAFE = re.compile(r"[^\w.\-=+,@]+")  # \w is Unicode-aware: letters of any script stay


def filename_for(url: str) -> str:
    """A readable, deterministic, safe file name for a URL: host, path and query joined by `_`.

    >>> filename_for("https://example.com/docs/page.html?lang=en")
    'example.com_docs_page.html_lang=en'
    >>> filename_for("https://example.com/")
    'example.com'
    >>> filename_for("http://h/../../etc/passwd"), filename_for("http://h/%2e%2e%2f%2e%2e/x")
    ('h_etc_passwd', 'h_x')
    """
    parts = urlsplit(url)
    host = parts.hostname or "unknown-host"
    if parts.port:
        host = f"{host}_{parts.port}"
    pieces = [host, *unquote(parts.path).replace("\\", "/").split("/"), unquote(parts.query)]
    words = [_clean(piece) for piece in pieces]
    name = "_".join(word for word in words if word)
    return _shorten(name, url)


def _clean(piece: str) -> str:
    """One path segment: no controls, no separators, no `.` or `..`, no leading dot."""
    word = _UNSAFE.sub("_", sanitize(piece)).strip("_")
    return word.lstrip(".")


def _shorten(name: str, url: str) -> str:
    """At most MAX_NAME_BYTES bytes, leaving room for a `-NN` suffix; a long name keeps its
    extension and gains a hash of the whole URL so that shortened names stay distinct."""
    budget = MAX_NAME_BYTES - 8
    if len(name.encode()) <= budget:
        return name
    stem, extension = _split_extension(name)
    digest = hashlib.blake2b(url.encode(), digest_size=6).hexdigest()
    tail = f"-{digest}" + (f".{extension}" if extension else "")
    head = stem.encode()[: budget - len(tail.encode())].decode(errors="ignore")
    return head + tail


def _split_extension(name: str) -> tuple[str, str]:
    """`page.html` -> (`page`, `html`); a dot inside a host or a long tail is no extension.

    >>> _split_extension("a.b_page.tar"), _split_extension("127.0.0.1_8080_ok")
    (('a.b_page', 'tar'), ('127.0.0.1_8080_ok', ''))
    """
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension.isalnum() and len(extension) <= 10:
        return stem, extension
    return name, ""


def candidates(name: str) -> Callable[[int], str]:
    """The n-th name to try: `name`, then `stem-1.ext`, `stem-2.ext`, ...

    >>> [candidates("page.html")(n) for n in range(3)], candidates("x")(2)
    (['page.html', 'page-1.html', 'page-2.html'], 'x-2')
    """
    stem, extension = _split_extension(name)

    def nth(n: int) -> str:
        if n == 0:
            return name
        return f"{stem}-{n}" + (f".{extension}" if extension else "")

    return nth


def disposition_name(value: str | None) -> str | None:
    """The file name a Content-Disposition gives (RFC 6266: `filename*` before `filename`,
    decoded by the standard library's email parser), made safe as URL-derived names are: no
    directory, no control characters, no leading dot, not too long. None when there is none.

    >>> disposition_name("attachment; filename*=UTF-8''caf%C3%A9.txt; filename=cafe.txt")
    'café.txt'
    >>> disposition_name('attachment; filename="../../etc/passwd"'), disposition_name("inline")
    ('passwd', None)
    """
    if not value:
        return None
    message = EmailMessage()
    try:
        message["Content-Disposition"] = value
        name = message.get_filename()
    except Exception:  # a hostile header: the email package's errors are many; use the URL's
        return None
    if not name:
        return None
    cleaned = _clean(str(name).replace("\\", "/").rsplit("/", 1)[-1])
    return _shorten(cleaned, value) if cleaned else None
