"""What the fetching layer calls back, made by the layers above it: the `BodyConsumer` a body
streams to (stdout in body format, `--save` files), a fan-out to several, the error a local
write raises; the conditional headers of --state, and the -v log."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from fetchcli.models import ErrorInfo, ErrorKind
from fetchcli.slots import mutable

if TYPE_CHECKING:
    from fetchcli.models import Target

# --state's conditional headers for a Target (If-None-Match, If-Modified-Since).
Conditional = Callable[["Target"], dict[str, str]]
Log = Callable[[str], None]  # one -v line


class WriteFailed(Exception):
    """A local write of a body failed (disk full, permission): error kind `io` for that URL."""

    kind = ErrorKind.IO  # what the URL's record says, in this process or a worker's parent


class ChecksumMismatch(WriteFailed):
    """A saved body whose hash is not the one expected: error kind `checksum`, not saved."""

    kind = ErrorKind.CHECKSUM


class RangeRefused(WriteFailed):
    """--continue: a 206 that does not continue the part (or answers no range): the server's
    mistake, error kind `protocol`; the part is left as it was."""

    kind = ErrorKind.PROTOCOL


def write_failure(exc: Exception) -> ErrorInfo:
    """A body we could not write (WriteFailed): error kind `io` (`checksum` for a body that
    was not the one expected, `protocol` for a range that does not fit), in its own words."""
    kind = exc.kind if isinstance(exc, WriteFailed) else ErrorKind.IO
    return ErrorInfo(kind, " ".join(str(exc).split()) or type(exc).__name__)


class BodyConsumer(Protocol):
    """Receives the decoded body of the final response, chunk by chunk.

    `feed` may raise WriteFailed. `finish` is called exactly once, also when the body failed or
    was cut (`complete=False`); it returns the path of a saved file, if it saved one."""

    def feed(self, chunk: bytes) -> None: ...
    def finish(self, complete: bool) -> str | None: ...


class FanOut:
    """Feeds every consumer in turn (stdout and --save together)."""

    def __init__(self, *consumers: BodyConsumer) -> None:
        self._consumers = consumers

    def feed(self, chunk: bytes) -> None:
        for consumer in self._consumers:
            consumer.feed(chunk)

    def finish(self, complete: bool) -> str | None:
        saved = [consumer.finish(complete) for consumer in self._consumers]
        return next((path for path in saved if path is not None), None)

    @property
    def resumed_from(self) -> int | None:
        """--continue's, from the part file among the consumers."""
        kept = (getattr(consumer, "resumed_from", None) for consumer in self._consumers)
        return next((value for value in kept if value is not None), None)


class BodyHead(NamedTuple):
    """What the final response's head says of its body, as the consumers need it."""

    status: int
    content_type: str | None = None
    disposition: str | None = None  # Content-Disposition, for --content-disposition
    content_range: str | None = None  # for --continue: where a 206 starts
    etag: str | None = None  # the validators --continue keeps beside a part
    last_modified: str | None = None


@mutable
class BodyMeter:
    """Body bytes as they arrive, for the progress line: read so far, and what the bodies in
    flight said they would hold (Content-Length), so that large downloads show bytes, rate and
    an ETA by bytes."""

    read: int = 0
    expected: int = 0  # read plus what the bodies in flight still owe


# Called when the final response's body starts; None: nobody wants the body.
ConsumerFactory = Callable[["Target", BodyHead], BodyConsumer | None]
