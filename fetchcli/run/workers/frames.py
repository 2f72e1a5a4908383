"""What the parent and its worker processes say to each other over one socket pair each.

Frames travel in batches: a 4-byte length, then a pickled list of tuples whose first item names
each frame. A batch holds what one turn of the sender's event loop produced, so a busy run
costs one system call and one pickle per turn, not per URL. Both ends are fetchcli processes
forked from one parent; records travel as tuples of their fields, which pickle much faster
than the dataclasses.

Parent -> worker:
  ("T", url, source, line, validators, request)  a URL to fetch (--state's conditional
                                        headers, or None; its data row's RowRequest, or None)
  ("D", origin, seconds)                 another worker was told to cool down on `origin`
Worker -> parent, for the worker's n-th URL (0-based, in the order they were sent):
  ("B", n, status, content_type, disposition)  its final body starts
  ("C", n, chunk)                       a decoded piece of it
  ("F", n, complete)                    its body ended
  ("R", n, fields)                      its Result, every field after `target`, in order
  ("D", origin, seconds)                a 429/503 with Retry-After: every worker should cool down
  ("L", text)                           a -v line
"""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
import struct
from collections.abc import Callable
from multiprocessing.sharedctypes import Synchronized
from typing import Any, BinaryIO

from fetchcli.models import Result, Target

Frame = tuple[Any, ...]
_LENGTH = struct.Struct(">I")
_RESULT_FIELDS = tuple(field.name for field in dataclasses.fields(Result))[1:]


def encode(frames: list[Frame]) -> bytes:
    payload = pickle.dumps(frames, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


def read_batch(stream: BinaryIO) -> list[Frame] | None:
    """The next batch from a blocking stream; None at its end (a cut batch is an end too)."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    frames: list[Frame] = pickle.loads(payload)
    return frames


async def next_batch(reader: asyncio.StreamReader) -> list[Frame] | None:
    """The next batch from an asyncio stream; None at its end."""
    try:
        header = await reader.readexactly(_LENGTH.size)
        (size,) = _LENGTH.unpack(header)
        payload = await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    frames: list[Frame] = pickle.loads(payload)
    return frames


def result_fields(result: Result) -> tuple[Any, ...]:
    return tuple(getattr(result, name) for name in _RESULT_FIELDS)


def result_from(target: Target, fields: tuple[Any, ...]) -> Result:
    return Result(target, *fields)


class Outbox:
    """Frames to send, sent together once the event loop's turn ends (`write` takes the
    encoded batch: a blocking socket write in a worker, the transport's buffer in the parent)."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._frames: list[Frame] = []

    def send(self, frame: Frame) -> None:
        if not self._frames:
            asyncio.get_running_loop().call_soon(self.flush)
        self._frames.append(frame)

    def flush(self) -> None:
        if self._frames:
            frames, self._frames = self._frames, []
            self._write(encode(frames))


class SharedParts:
    """What the parent makes before forking and every worker shares: the --rate and
    --limit-rate clocks, and what the parent wants back besides Results."""

    def __init__(
        self,
        rate_next: Synchronized[float] | None,
        *,
        bodies: bool,
        validators: bool,
        bytes_next: Synchronized[float] | None = None,
    ) -> None:
        self.rate_next = rate_next
        self.bytes_next = bytes_next
        self.bodies = bodies
        self.validators = validators
