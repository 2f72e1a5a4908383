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
import secrets
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from fetchcli.consumer import BodyHead, ChecksumMismatch, WriteFailed
from fetchcli.errors import UsageError, cannot_read
from fetchcli.models import Target
from fetchcli.output.names import disposition_name, filename_for
from fetchcli.output.publish import link, link_free_name, verify
from fetchcli.output.resume import PartFile, resumed
from fetchcli.settings.checksums import Checksum, load_checksums, parse_checksum
from fetchcli.settings.model import OutputConfig

_TEMP_PREFIX = ".fetchcli-"
_TEMP_SUFFIX = ".part"


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


class SavedFile:
    """One body being saved: an unnamed file in DIR (O_TMPFILE) until `finish(complete=True)`
    links it under its name, so a killed run leaves nothing behind. Where the filesystem has no
    unnamed files, a hidden `.fetchcli-*.part` file, locked while it is written, so that a
    later run can tell a stale one from a live one (`clean_stale_parts`)."""

    def __init__(
        self,
        directory: Path,
        name: str,
        *,
        overwrite: bool = False,
        checksum: Checksum | None = None,
    ) -> None:
        self._directory = directory
        self._name = name
        self._overwrite = overwrite
        self._checksum = checksum
        self._digest = hashlib.new(checksum.algorithm) if checksum is not None else None
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
        if self._digest is not None:
            self._digest.update(chunk)
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
            verify(self._checksum, self._digest, self._name, "not saved")
        except ChecksumMismatch:
            self._discard()
            raise
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
        return link_free_name(source, self._directory, self._name, named=self._temp is not None)

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


def _linked_part(source: Path, directory: Path) -> Path:
    """The unnamed file given a hidden part name (still locked by us until it is renamed)."""
    for _ in range(100):
        part = directory / f"{_TEMP_PREFIX}{secrets.token_hex(6)}{_TEMP_SUFFIX}"
        try:
            link(source, part)
            return part
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in '{directory}'")


class Saver:
    """Makes a SavedFile for each 2xx body; other statuses are not saved. The name is the
    URL's, or with `disposition` the one the server gives; the checksum the body must match is
    its row's, else `checksum` (one URL), else the one `checksums` lists for the file's name."""

    def __init__(
        self,
        directory: Path,
        *,
        overwrite: bool = False,
        disposition: bool = False,
        checksum: Checksum | None = None,
        checksums: Mapping[str, Checksum] | None = None,
        resume: bool = False,
    ) -> None:
        self._directory = directory
        self._overwrite = overwrite
        self._resume = resume
        self._disposition = disposition
        self._checksum = checksum
        self._checksums = checksums or {}

    def open(self, target: Target, head: BodyHead) -> SavedFile | PartFile | None:
        served = disposition_name(head.disposition) if self._disposition else None
        name, checksum = served or filename_for(target.url), self._expected(target, served)
        if self._resume:  # a 206 and a 416 may continue or finish a part
            return resumed(
                self._directory, target, head, name, overwrite=self._overwrite, checksum=checksum
            )
        if not 200 <= head.status < 300:
            return None
        return SavedFile(self._directory, name, overwrite=self._overwrite, checksum=checksum)

    def _expected(self, target: Target, served: str | None) -> Checksum | None:
        if target.request is not None and target.request.checksum is not None:
            return parse_checksum(target.request.checksum)
        if self._checksum is not None:
            return self._checksum
        if not self._checksums:
            return None
        listed = served or unquote(urlsplit(target.url).path).rsplit("/", 1)[-1]
        return self._checksums.get(listed)


def saver_for(output: OutputConfig) -> Saver | None:
    """The run's Saver (None without --save), its --checksums list read now: a file that
    cannot be read or does not parse stops the run (UsageError) before anything is fetched."""
    if output.save is None:
        return None
    checksums = None
    if output.checksums is not None:
        try:
            checksums = load_checksums(output.checksums)
        except OSError as exc:
            raise cannot_read(output.checksums, exc, "--checksums") from None
        except ValueError as exc:
            raise UsageError(f"--checksums: '{output.checksums}' {exc}") from None
    return Saver(
        output.save,
        overwrite=output.overwrite,
        disposition=output.content_disposition,
        checksum=output.checksum,
        checksums=checksums,
        resume=output.resume,
    )


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
