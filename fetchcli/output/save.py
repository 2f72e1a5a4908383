"""`--save DIR`: a file per 2xx body, named from the URL, always inside DIR, never half-written.

A body is written to a hidden temporary file in DIR and given its name only when complete, with
`os.link`, which refuses to replace an existing file: two URLs with the same name, or two runs,
never overwrite each other (the later one gets `-1`, `-2`, ... before the extension).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from fetchcli.consumer import WriteFailed
from fetchcli.sanitize import sanitize

MAX_NAME_BYTES = 255
_UNSAFE = re.compile(r"[^\w.\-=+,@]+")  # \w is Unicode-aware: letters of any script stay
_TEMP_PREFIX = ".fetchcli-"
_TEMP_SUFFIX = ".part"


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


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


class SavedFile:
    """One body being saved: a temporary file in DIR until `finish(complete=True)` names it."""

    def __init__(self, directory: Path, name: str) -> None:
        self._directory = directory
        self._name = name
        try:
            descriptor, temp = _make_temp(directory)
        except OSError as exc:
            raise WriteFailed(f"cannot write in '{directory}': {exc.strerror or exc}") from exc
        self._temp = Path(temp)
        os.fchmod(descriptor, _FILE_MODE)  # mkstemp makes 0600; a saved page is an ordinary file
        self._file = os.fdopen(descriptor, "wb")

    def feed(self, chunk: bytes) -> None:
        try:
            self._file.write(chunk)
        except OSError as exc:
            self._discard()
            raise WriteFailed(f"cannot write '{self._temp}': {exc.strerror or exc}") from exc

    def finish(self, complete: bool) -> str | None:
        if not complete or self._file.closed:
            self._discard()
            return None
        try:
            self._file.close()
            return str(_publish(self._temp, self._directory, self._name))
        except OSError as exc:
            raise WriteFailed(f"cannot save '{self._name}': {exc.strerror or exc}") from exc
        finally:
            self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()


def _make_temp(directory: Path) -> tuple[int, str]:
    return tempfile.mkstemp(dir=directory, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)


def _publish(temp: Path, directory: Path, name: str) -> Path:
    """Give the finished temp file its final name without ever replacing an existing file."""
    nth = candidates(name)
    for n in range(10_000):
        final = directory / nth(n)
        try:
            os.link(temp, final)
            return final
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: check, then rename
            if final.exists():
                continue
            temp.rename(final)
            return final
    raise FileExistsError(f"no free name for '{name}' in '{directory}'")


class Saver:
    """Makes a SavedFile for each 2xx body; other statuses are not saved."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def open(self, url: str, status: int) -> SavedFile | None:
        if not 200 <= status < 300:
            return None
        return SavedFile(self._directory, filename_for(url))


def prepare_directory(directory: Path) -> None:
    """Create DIR if missing; raises OSError when it cannot be created or is not a directory."""
    directory.mkdir(parents=True, exist_ok=True)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(13, "Permission denied")
