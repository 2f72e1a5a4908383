"""Giving a finished file its name in DIR without replacing another (a hard link under the
first free name: `name`, `stem-1.ext`, ...), and checking it is the one expected first, as
--save and --continue both publish files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fetchcli.consumer import ChecksumMismatch
from fetchcli.output.names import candidates
from fetchcli.settings.checksums import Checksum


def link_free_name(source: Path, directory: Path, name: str, *, named: bool) -> Path:
    """Link `source` under the first free name (`name`, `stem-1.ext`, ...): a link never
    replaces an existing file."""
    nth = candidates(name)
    for n in range(10_000):
        final = directory / nth(n)
        try:
            link(source, final)
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


def link(source: Path, final: Path) -> None:
    """A hard link that follows `source` if it is a symlink: /proc/self/fd/N names an unnamed
    file only when followed (linkat's AT_SYMLINK_FOLLOW; os.link uses plain link() unless a
    directory descriptor is given)."""
    directory = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(source, final.name, dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)


def verify(checksum: Checksum | None, digest: Any, name: str, fate: str) -> None:
    """Raise ChecksumMismatch when a finished body is not the one expected; `fate` says what
    became of it (`not saved`, `kept as 'x.bad'`)."""
    if checksum is None or digest is None:
        return
    seen = digest.hexdigest()
    if seen != checksum.hex:
        raise ChecksumMismatch(
            f"the {checksum.algorithm} of '{name}' is {seen[:16]}..., "
            f"not {checksum.hex[:16]}...: {fate}"
        )
