"""What the fetching layer calls back, made by the layers above it: the `BodyConsumer` a body
streams to (stdout in body format, `--save` files), a fan-out to several, the error a local
write raises; the conditional headers of --state, and the -v log."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from fetchcli.models import ErrorInfo, ErrorKind

if TYPE_CHECKING:
    from fetchcli.models import Target

# --state's conditional headers for a Target (If-None-Match, If-Modified-Since).
Conditional = Callable[["Target"], dict[str, str]]
Log = Callable[[str], None]  # one -v line


class WriteFailed(Exception):
    """A local write of a body failed (disk full, permission): error kind `io` for that URL."""


def write_failure(exc: Exception) -> ErrorInfo:
    """A body we could not write (WriteFailed): error kind `io`, in its own words."""
    return ErrorInfo(ErrorKind.IO, " ".join(str(exc).split()) or type(exc).__name__)


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


# Called when the final response's body starts, with its status and Content-Type; None:
# nobody wants the body.
ConsumerFactory = Callable[["Target", int, str | None], BodyConsumer | None]
