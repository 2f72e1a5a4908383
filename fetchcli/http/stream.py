"""A transport's own body stream, which fetchcli reads as it is: both transports' streams are
DirectStreams, and `raw_chunks` reads any response's body."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx


class DirectStream(httpx.AsyncByteStream):
    """A transport's own body stream, whose errors are httpx exceptions that already carry
    their request: read as it is, without Response.aiter_raw's chunker, byte count and
    request context around every body (a tenth of fetchcli's time per small response)."""

    def __aiter__(self) -> AsyncGenerator[bytes, None]:  # each transport's is a generator
        raise NotImplementedError


def raw_chunks(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The body's bytes as they arrive, as Response.aiter_raw gives them."""
    stream = response.stream
    if isinstance(stream, DirectStream):
        response.is_stream_consumed = True
        return stream.__aiter__()
    return response.aiter_raw()  # type: ignore[return-value]  # a generator, typed wider


async def close_response(response: httpx.Response) -> None:
    """Response.aclose(), without the request context it opens around a DirectStream's
    close (whose errors carry their request already)."""
    stream = response.stream
    if not isinstance(stream, DirectStream):
        await response.aclose()
    elif not response.is_closed:
        response.is_closed = True
        await stream.aclose()
