"""`--save DIR`: a file per 2xx body, named from the URL, always inside DIR, never half-written.

A body is written to an unnamed file in DIR and given its name only when complete, with
`os.link`, which refuses to replace an existing file: two URLs with the same name, or two runs,
never overwrite each other (the later one gets `-1`, `-2`, ... before the extension). With
`--overwrite`, a mirror's files are replaced instead, atomically (a rename).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import secrets
import tempfile
import time
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
    """One body being saved: an unnamed file in DIR (O_TMPFILE) until `finish(complete=True)`
    links it under its name, so a killed run leaves nothing behind. Where the filesystem has no
    unnamed files, a hidden `.fetchcli-*.part` file, locked while it is written, so that a
    later run can tell a stale one from a live one (`clean_stale_parts`)."""

    def __init__(self, directory: Path, name: str, *, overwrite: bool = False) -> None:
        self._directory = directory
        self._name = name
        self._overwrite = overwrite
        self._temp: Path | None = None  # the named part file, on the fallback only
        try:
            descriptor = _unnamed_file(directory)
            if descriptor is None:
                descriptor, temp = tempfile.mkstemp(
                    dir=directory, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX
                )
                self._temp = Path(temp)
                fcntl.flock(descriptor, fcntl.LOCK_EX)  # live: not stale, whatever its age
                os.fchmod(descriptor, _FILE_MODE)  # mkstemp makes 0600; a saved page is not
        except OSError as exc:
            raise WriteFailed(f"cannot write in '{directory}': {exc.strerror or exc}") from exc
        self._file = os.fdopen(descriptor, "wb")

    def feed(self, chunk: bytes) -> None:
        try:
            self._file.write(chunk)
        except OSError as exc:
            self._discard()
            raise WriteFailed(f"cannot write '{self._name}': {exc.strerror or exc}") from exc

    def finish(self, complete: bool) -> str | None:
        if not complete or self._file.closed:
            self._discard()
            return None
        try:
            self._file.flush()
            return str(self._publish())
        except OSError as exc:
            raise WriteFailed(f"cannot save '{self._name}': {exc.strerror or exc}") from exc
        finally:
            self._discard()

    def _publish(self) -> Path:
        """Give the finished file its name: a free one (never replacing a file), or with
        --overwrite its own name, replaced atomically."""
        source = self._temp or Path(f"/proc/self/fd/{self._file.fileno()}")
        if self._overwrite:
            final = self._directory / self._name
            if self._temp is None:  # linked beside it first: rename replaces, link cannot
                self._temp = _linked_part(source, self._directory)
            os.replace(self._temp, final)
            self._temp = None
            return final
        return _link_free_name(source, self._directory, self._name, named=self._temp is not None)

    def _discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temp.unlink()


def _unnamed_file(directory: Path) -> int | None:
    """An unnamed file in `directory` (Linux's O_TMPFILE), or None where the system or the
    filesystem has none, or /proc is missing to give it a name later."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not _HAVE_PROC_FD:
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, 0o666)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise


_HAVE_PROC_FD = os.path.isdir("/proc/self/fd")
# What open(O_TMPFILE) says where the filesystem (or an old kernel) cannot make one.
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


def _link_free_name(source: Path, directory: Path, name: str, *, named: bool) -> Path:
    """Link `source` under the first free name (`name`, `stem-1.ext`, ...): a link never
    replaces an existing file."""
    nth = candidates(name)
    for n in range(10_000):
        final = directory / nth(n)
        try:
            _link(source, final)
            return final
        except FileExistsError:
            continue
        except OSError:
            if not named:
                raise
            if final.exists():  # a file system without hard links: check, then rename
                continue
            source.rename(final)
            return final
    raise FileExistsError(f"no free name for '{name}' in '{directory}'")


def _link(source: Path, final: Path) -> None:
    """A hard link that follows `source` if it is a symlink: /proc/self/fd/N names an unnamed
    file only when followed (linkat's AT_SYMLINK_FOLLOW; os.link uses plain link() unless a
    directory descriptor is given)."""
    directory = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(source, final.name, dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)


def _linked_part(source: Path, directory: Path) -> Path:
    """The unnamed file given a hidden part name (still locked by us until it is renamed)."""
    for _ in range(100):
        part = directory / f"{_TEMP_PREFIX}{secrets.token_hex(6)}{_TEMP_SUFFIX}"
        try:
            _link(source, part)
            return part
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in '{directory}'")


class Saver:
    """Makes a SavedFile for each 2xx body; other statuses are not saved."""

    def __init__(self, directory: Path, *, overwrite: bool = False) -> None:
        self._directory = directory
        self._overwrite = overwrite

    def open(self, url: str, status: int) -> SavedFile | None:
        if not 200 <= status < 300:
            return None
        return SavedFile(self._directory, filename_for(url), overwrite=self._overwrite)


def prepare_directory(directory: Path) -> None:
    """Create DIR if missing and check that a file can be made in it (raises OSError with the
    real reason: a read-only filesystem says so); remove what killed runs left behind."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory):
        pass
    clean_stale_parts(directory)


STALE_AFTER = 60.0  # seconds: a part file this old that nobody holds is a killed run's


def clean_stale_parts(directory: Path, *, now: float | None = None) -> int:
    """Remove `.fetchcli-*.part` files that no live run holds locked and that have not changed
    for STALE_AFTER seconds (left by a run killed outright, on a filesystem without unnamed
    files); how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    for part in directory.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
        try:
            descriptor = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # gone already, or a symlink: not ours
        try:
            if now - os.fstat(descriptor).st_mtime < STALE_AFTER:
                continue
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises while a run holds it
            part.unlink()
            removed += 1
        except OSError:
            continue
        finally:
            os.close(descriptor)
    return removed
