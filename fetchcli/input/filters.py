"""The filter stages of the input, each lazy: --dedupe, --shard and --skip-done keep or drop
Lines, and count what they leave out under their flag's name. A data row is known by its
request key (models.request_key): its URL for a GET without a body, as a URL line is."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from fetchcli.input.line import Line
from fetchcli.models import request_key
from fetchcli.sanitize import mask_url
from fetchcli.settings.model import InputConfig, Shard


def filtered(found: Iterator[Line], options: InputConfig, skipped: Counter[str]) -> Iterator[Line]:
    """--dedupe, --shard and --skip-done as lazy stages."""
    if options.dedupe:
        found = dedupe(found, skipped)
    if options.shard is not None:
        found = in_shard(found, options.shard, skipped)
    if options.skip_done is not None:
        found = skip_done(found, load_done(options.skip_done), skipped)
    return found


def _kept(
    targets: Iterable[Line], keep: Callable[[Line], bool], reason: str, skipped: Counter[str]
) -> Iterator[Line]:
    for target in targets:
        if keep(target):
            yield target
        else:
            skipped[reason] += 1


def dedupe(targets: Iterable[Line], skipped: Counter[str] | None = None) -> Iterator[Line]:
    """Skip exact repeats of a URL. Keeps a 64-bit hash per distinct URL (under 100 bytes in a
    set), not the URL; a false repeat would take some 2**32 distinct URLs."""
    seen: set[int] = set()

    def first_time(target: Line) -> bool:
        key = request_key(target.url, target.request)
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest())
        if digest in seen:
            return False
        seen.add(digest)
        return True

    return _kept(targets, first_time, "dedupe", Counter() if skipped is None else skipped)


def shard_of(url: str, count: int) -> int:
    """The 1-based shard of `url`: a blake2b hash, the same on every machine and run.

    >>> shard_of("https://example.com/", 4)
    4
    """
    digest = hashlib.blake2b(url.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count + 1


def in_shard(
    targets: Iterable[Line], shard: Shard, skipped: Counter[str] | None = None
) -> Iterator[Line]:
    def mine(target: Line) -> bool:
        return shard_of(request_key(target.url, target.request), shard.count) == shard.index

    return _kept(targets, mine, "shard", Counter() if skipped is None else skipped)


def load_done(path: Path) -> set[str]:
    """URLs with a successful record (no error, status < 400) in an earlier JSONL output.

    A missing file is an empty history (the first run of a cron job); lines that do not parse,
    such as one cut short by a crash, are ignored."""
    done: set[str] = set()
    try:
        lines = path.open("rb")
    except FileNotFoundError:
        return done
    with lines:
        for raw in lines:
            url = _successful_url(raw)
            if url is not None:
                done.add(url)
    return done


def _successful_url(raw: bytes) -> str | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("error") is not None:
        return None
    status, url = record.get("status"), record.get("url")
    if not (isinstance(status, int) and status < 400 and isinstance(url, str)):
        return None
    if isinstance(record.get("id"), str | int):  # a row's: done by its id
        return _id_key(record["id"])
    method = record.get("method")
    if isinstance(method, str) and method != "GET":
        return None  # a request with a body: its record cannot tell which body it sent
    return url


def _id_key(value: str | int) -> str:
    """A row's id among the URLs of --skip-done's set (no URL starts with a NUL)."""
    return f"\0id:{value!r}"


def skip_done(
    targets: Iterable[Line], done: set[str], skipped: Counter[str] | None = None
) -> Iterator[Line]:
    """Records hold masked URLs, so compare masked forms."""

    def not_done(target: Line) -> bool:
        if target.error is not None:
            return True
        if target.request is not None and target.request.id is not None:
            return _id_key(target.request.id) not in done
        return mask_url(request_key(target.url, target.request)) not in done

    return _kept(targets, not_done, "skip-done", Counter() if skipped is None else skipped)
