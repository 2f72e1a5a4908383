"""--continue: a download that did not finish stays as `NAME.part` in DIR, with what resuming
it needs beside it in `NAME.part.json` (its URL and the ETag or Last-Modified it came with).

The next run asks for the rest (`Range: bytes=N-`, with `If-Range` when there is a validator,
so a changed file comes back whole); a 206 whose Content-Range starts at N is appended, a 200
starts the file over, a 416 for a part that is already whole finishes it. A 206 that starts
anywhere else, or one to a request that asked no range, is kind `protocol` and the part is left
as it was. The file gets its name only when complete (and verified, with a checksum).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from fetchcli.consumer import BodyHead, ChecksumMismatch, RangeRefused, WriteFailed
from fetchcli.models import Target
from fetchcli.output.names import filename_for
from fetchcli.output.publish import link_free_name, verify
from fetchcli.settings.checksums import Checksum

PART = ".part"
_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)


def part_of(directory: Path, target: Target) -> Path:
    return directory / (filename_for(target.url) + PART)


def _sidecar(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def kept(part: Path, url: str) -> tuple[int, dict[str, Any]]:
    """How many bytes of `url` the part holds, and what its sidecar says (0 and {} when there
    is none for that URL)."""
    try:
        meta = json.loads(_sidecar(part).read_text("utf-8"))
        size = part.stat().st_size
    except (OSError, ValueError):
        return 0, {}
    if not isinstance(meta, dict) or meta.get("url") != url:
        return 0, {}
    return size, meta


def resume_headers(directory: Path, target: Target) -> dict[str, str]:
    """What to ask for a target whose download stopped part way: the rest, if unchanged."""
    size, meta = kept(part_of(directory, target), target.url)
    if not size:
        return {}
    headers = {"Range": f"bytes={size}-"}
    validator = meta.get("etag") or meta.get("last_modified")
    if isinstance(validator, str) and validator:
        headers["If-Range"] = validator
    return headers


def resumed(
    directory: Path,
    target: Target,
    head: BodyHead,
    final: str,
    *,
    overwrite: bool,
    checksum: Checksum | None,
) -> PartFile | None:
    """The part file a response continues, starts over or finishes; None for a status that
    saves nothing."""
    part = part_of(directory, target)
    size, _ = kept(part, target.url)
    opened = functools.partial(PartFile, part, target, head, final, overwrite=overwrite,
                               checksum=checksum)  # fmt: skip
    if head.status == 206:
        start = _start_of(head.content_range)
        if not size or start != size:
            asked = f"bytes {size}-" if size else "no range"
            raise RangeRefused(
                f"the server sent {head.content_range or 'a 206 without Content-Range'} "
                f"for {asked}: the part is kept as it was"
            )
        return opened(size)
    if head.status == 416 and size and _total_of(head.content_range) == size:
        return opened(size, whole=True)
    if 200 <= head.status < 300:
        return opened(0)
    return None


def _start_of(content_range: str | None) -> int | None:
    match = _RANGE.fullmatch(content_range.strip()) if content_range else None
    return int(match[1]) if match else None


def _total_of(content_range: str | None) -> int | None:
    match = _UNSATISFIED.fullmatch(content_range.strip()) if content_range else None
    return int(match[1]) if match else None


class PartFile:
    """`NAME.part`, written from `resumed_from` on; renamed into place when whole (with its
    checksum matched: else kept as `NAME.bad`), kept with its sidecar when cut."""

    def __init__(
        self,
        part: Path,
        target: Target,
        head: BodyHead,
        final: str,
        resumed_from: int,
        *,
        overwrite: bool,
        checksum: Checksum | None,
        whole: bool = False,
    ) -> None:
        self.resumed_from = resumed_from
        self._part, self._final, self._overwrite = part, final, overwrite
        self._meta = _sidecar(part)
        self._whole = whole  # a 416 for a part already complete: its body is not the file's
        self._checksum = checksum
        self._digest = hashlib.new(checksum.algorithm) if checksum is not None else None
        try:
            if self._digest is not None and resumed_from:
                _hash_into(self._digest, part)  # the kept prefix first
            self._file = part.open("ab" if resumed_from else "wb")
            if not resumed_from:
                sidecar = {
                    "url": target.url,
                    "etag": head.etag,
                    "last_modified": head.last_modified,
                }
                self._meta.write_text(json.dumps(sidecar), "utf-8")
        except OSError as exc:
            raise WriteFailed(f"cannot write '{part}': {exc.strerror or exc}") from exc

    def feed(self, chunk: bytes) -> None:
        if self._whole:
            return
        if self._digest is not None:
            self._digest.update(chunk)
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise WriteFailed(f"cannot write '{self._part.name}': {exc.strerror or exc}") from exc

    def finish(self, complete: bool) -> str | None:
        try:
            self._file.close()
        except OSError as exc:
            raise WriteFailed(f"cannot write '{self._part.name}': {exc.strerror or exc}") from exc
        if not complete:
            return None  # kept, with its sidecar, for the next --continue
        bad = self._part.with_name(self._part.name.removesuffix(PART) + ".bad")
        try:
            verify(self._checksum, self._digest, self._final, f"kept as '{bad.name}'")
        except ChecksumMismatch:
            os.replace(self._part, bad)
            self._forget()
            raise
        try:
            final = self._publish()
        except OSError as exc:
            raise WriteFailed(f"cannot save '{self._final}': {exc.strerror or exc}") from exc
        self._forget()
        return str(final)

    def _publish(self) -> Path:
        directory = self._part.parent
        if self._overwrite:
            final = directory / self._final
            os.replace(self._part, final)
            return final
        final = link_free_name(self._part, directory, self._final, named=True)
        with contextlib.suppress(FileNotFoundError):  # a rename was the fallback: gone already
            self._part.unlink()
        return final

    def _forget(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._meta.unlink()


def _hash_into(digest: Any, path: Path) -> None:
    with path.open("rb") as kept_bytes:
        while block := kept_bytes.read(1024 * 1024):
            digest.update(block)
