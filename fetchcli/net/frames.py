"""What the parent and its worker processes say to each other over one socket pair each.

A frame is a 4-byte length and a pickled tuple whose first item names it. Both ends are
fetchcli processes forked from one parent, so pickle carries the models as they are.

Parent -> worker:
  ("T", target, validators)      a Target to fetch (--state's conditional headers, or None)
  ("D", origin, seconds)         another worker was told to cool down on `origin`
Worker -> parent, for the worker's n-th target (0-based, in the order they were sent):
  ("B", n, status, content_type) its final body starts
  ("C", n, chunk)                a decoded piece of it
  ("F", n, complete)             its body ended
  ("R", n, result)               its Result
  ("D", origin, seconds)         a 429/503 with Retry-After: every worker should cool down
  ("L", text)                    a -v line
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from typing import Any, BinaryIO

Frame = tuple[Any, ...]
_LENGTH = struct.Struct(">I")


def encode(frame: Frame) -> bytes:
    payload = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


def read_frame(stream: BinaryIO) -> Frame | None:
    """The next frame from a blocking stream; None at its end (a cut frame is an end too)."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    frame: Frame = pickle.loads(payload)
    return frame


async def next_frame(reader: asyncio.StreamReader) -> Frame | None:
    """The next frame from an asyncio stream; None at its end."""
    try:
        header = await reader.readexactly(_LENGTH.size)
        (size,) = _LENGTH.unpack(header)
        payload = await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    frame: Frame = pickle.loads(payload)
    return frame


class BlockingSender:
    """Writes frames to a socket from the event loop's thread, blocking when the reader is
    behind: a worker that outruns its parent waits, as one process waits for its stdout."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send(self, frame: Frame) -> None:
        self._sock.sendall(encode(frame))
