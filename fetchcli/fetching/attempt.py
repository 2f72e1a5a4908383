"""One try at one URL: send, follow redirects hop by hop, stream the final body under the cap.

`Attempter.attempt()` returns what the try came to, an `Outcome`, and raises nothing a server
or the network can cause: an error that ends the try early is part of the Outcome, beside the
last response and whatever of the body arrived. Each hop waits for its origin's slot and the
run's rate before it starts, and every wait and read stops at the URL's deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import field
from typing import NamedTuple

import httpx

from fetchcli.consumer import (
    BodyConsumer,
    BodyHead,
    BodyMeter,
    Conditional,
    ConsumerFactory,
    WriteFailed,
)
from fetchcli.fetching.classify import Failure, classify
from fetchcli.fetching.deadline import within
from fetchcli.fetching.decode import Decoder, IdentityDecoder, decoder_for
from fetchcli.fetching.politeness import HostGate, Origin, RateLimiter
from fetchcli.fetching.retry import COOLDOWN_STATUSES, retry_after, retryable_status
from fetchcli.fetching.snippet import SizeCap, SnippetCollector
from fetchcli.http.messages import head_fields
from fetchcli.http.sender import Sender, basic_auth
from fetchcli.http.stream import close_response, raw_chunks
from fetchcli.mime import charset_of
from fetchcli.models import Target
from fetchcli.settings.model import DEFAULT_MAX_SIZE, DEFAULT_SNIPPET, Config
from fetchcli.slots import frozen

Held = bytes  # (Body.bytes, a count, hides the type's name inside Body)
_REDIRECT_DRAIN = 64 * 1024  # read this much of a redirect body to keep the connection; else drop


class Body(NamedTuple):
    """What reading the final response's body gave."""

    bytes: int = 0
    truncated: bool = False
    snippet: str | None = None
    saved_to: str | None = None
    sha256: str | None = None  # of the decoded body, when --state asks for it
    held: Held | None = None  # the decoded body up to --max-size, when a check reads it
    resumed_from: int | None = None  # --continue: what its part file kept of an earlier try


@frozen
class Outcome:
    """What one attempt came to.

    `response` is the last one seen (closed), or None when the attempt failed on its way to a
    redirect's target (`hop_url`); `body` is set once the final body started (from then on a
    failure is final: bytes may be out already), `error` is what ended the attempt early, and
    `retry` says the final status asks for another try, after `retry_after` seconds if the
    server said."""

    response: httpx.Response | None = None
    redirects: int = 0
    hop_url: str | None = None  # the redirect being followed when the attempt failed
    body: Body | None = None
    error: Exception | None = None
    retry: bool = False
    retry_after: float | None = None
    fields: dict[bytes, str] | None = None  # head_fields() of `response`, once looked up
    queued: float = 0.0  # seconds the final hop waited for its slot and the rate
    failure: Failure | None = field(init=False, default=None)  # `error`, classified once

    def __post_init__(self) -> None:
        if self.error is not None:
            object.__setattr__(self, "failure", classify(self.error))


class Keep(NamedTuple):
    """What to keep of each final response, as the layers above decide it: characters of text
    for the snippet, the cap on decoded body bytes, the headers, a SHA-256 of the body."""

    snippet: int = DEFAULT_SNIPPET
    max_size: int = DEFAULT_MAX_SIZE
    headers: bool = False
    digest: bool = False
    body: bool = False  # hold the decoded body (up to max_size) for the checks


_KEEP_ALL_DEFAULTS = Keep()


class Attempter:
    """Makes one attempt at a URL over the shared client."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: Config,
        *,
        gate: HostGate,
        rate: RateLimiter,
        bandwidth: RateLimiter | None = None,
        consumer_for: ConsumerFactory | None,
        conditional: Conditional | None = None,
        keep: Keep = _KEEP_ALL_DEFAULTS,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        meter: BodyMeter | None = None,
    ) -> None:
        self._meter = meter
        self._clock = clock
        self._bandwidth = bandwidth if bandwidth is not None and bandwidth.limits else None
        self._sender = Sender(client)
        self._keep = keep
        self._conditional = conditional
        self._config = config
        self._gate = gate
        self._rate = rate
        self._consumer_for = consumer_for
        self._wall = wall
        # -H Authorization, then -u, then credentials in the URL (Sender.send), as curl ranks them.
        user, headers = config.request.user, config.request.headers
        given = any(name.lower() == "authorization" for name, _ in headers)
        self._auth = None if user is None or given else basic_auth(*user)
        self._method = config.request.method

    async def attempt(self, target: Target, *, may_retry: bool, deadline: float | None) -> Outcome:
        """One try. With `may_retry`, a retryable status ends it before its body is read."""
        row = target.request
        data = self._config.request.data
        if row is None:
            request = self._sender.request(
                self._method, target.url, content=data, authorization=self._auth
            )
        else:
            request = self._sender.request(
                method_for(target, self._config),
                target.url,
                content=row.body if row.body is not None else data,
                authorization=self._auth,
                headers=row.headers,
                timeout=row.timeout,
            )
        if self._conditional is not None:  # --state: "has it changed since?"
            request.headers.update(self._conditional(target))
        response: httpx.Response | None = None
        redirects = 0
        hop_url: str | None = None
        try:
            while True:
                origin = origin_of(request.url)
                waiting = self._clock()
                async with self._gate.slot(origin, deadline):
                    async with within(deadline):
                        await self._rate.wait()
                        queued = self._clock() - waiting
                        response = await self._sender.send(request)
                    try:
                        hop = self._redirect(request, response, origin, redirects)
                        if hop is None:
                            return await self._final(
                                target, response, redirects, deadline, may_retry, queued
                            )
                        async with within(deadline):
                            await _drain(response)
                    finally:
                        await close_response(response)
                redirects += 1
                request, response, hop_url = hop, None, str(hop.url)
        except Exception as exc:  # the network's or a server's doing: part of the outcome
            return Outcome(response, redirects, hop_url, error=exc)
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # the run is stopping, or --max-time: not this URL's outcome
            # Nobody cancelled this task: a CancelledError from a bug (a library's, or ours).
            # A record says so rather than the URL vanishing from the output.
            bug = RuntimeError(f"cancelled inside: {exc!r}")
            return Outcome(response, redirects, hop_url, error=bug)

    def _redirect(
        self, request: httpx.Request, response: httpx.Response, origin: Origin, redirects: int
    ) -> httpx.Request | None:
        """The next hop, or None when `response` is the final one; raises past --max-redirects."""
        if not self._config.request.follow:
            return None
        hop = self._sender.redirect(request, response)
        if hop is None:
            return None
        limit = self._config.request.max_redirects
        if redirects >= limit:
            raise httpx.TooManyRedirects(f"more than {limit} redirects", request=request)
        # httpx keeps Authorization on an http->https upgrade of the same host; the contract
        # says never to another origin, and a change of scheme or port is another origin.
        if origin_of(hop.url) != origin:
            hop.headers.pop("Authorization", None)
        return hop

    async def _final(
        self,
        target: Target,
        response: httpx.Response,
        redirects: int,
        deadline: float | None,
        may_retry: bool,
        queued: float,
    ) -> Outcome:
        wait = self._retry_after(response)
        if wait is not None and response.status_code in COOLDOWN_STATUSES:
            # Retry-After on a 429/503 pauses every request to the origin, not only this one.
            self._gate.cool_down(origin_of(response.url), wait)
        fields = head_fields(response.headers)
        if may_retry and retryable_status(response.status_code, response.request.method):
            return Outcome(
                response, redirects, retry=True, retry_after=wait, fields=fields, queued=queued
            )
        body, error = await self._read_body(target, response, fields, deadline)
        return Outcome(response, redirects, body=body, error=error, fields=fields, queued=queued)

    def _retry_after(self, response: httpx.Response) -> float | None:
        """The server's Retry-After on an error status, capped at --retry-max-wait."""
        if response.status_code not in COOLDOWN_STATUSES and response.status_code < 500:
            return None
        wait = retry_after(response.headers.get("retry-after"), self._wall())
        return None if wait is None else min(wait, self._config.retry.retry_max_wait)

    async def _read_body(
        self,
        target: Target,
        response: httpx.Response,
        fields: dict[bytes, str],
        deadline: float | None,
    ) -> tuple[Body, Exception | None]:
        """The body, decoded and capped, fed to the snippet and to any consumer; what arrived
        counts even when the read fails part way."""
        keep = self._keep
        decoder = _decoder(response, fields.get(b"content-encoding"))
        snippet = (
            SnippetCollector(keep.snippet) if keep.snippet > 0 and decoder is not None else None
        )
        content_type = fields.get(b"content-type")
        consumer = self._consumer(target, response.status_code, fields)
        cap = SizeCap(keep.max_size)
        digest = hashlib.sha256() if keep.digest else None
        held = bytearray() if keep.body else None
        error: Exception | None = None
        saved_to, complete = None, False
        chunks = _decoded_chunks(response, decoder, self._bandwidth)
        owed = self._announced(fields)
        if deadline is not None:
            chunks = _each_within(chunks, deadline)
        try:
            async for chunk in chunks:
                piece = cap.fit(chunk)
                if snippet is not None:
                    snippet.feed(piece)
                if consumer is not None:
                    consumer.feed(piece)
                if digest is not None:
                    digest.update(piece)
                if held is not None:
                    held += piece
                if self._meter is not None:
                    self._meter.read += len(piece)
                if cap.truncated:
                    break
            complete = not cap.truncated
        except Exception as exc:  # the network's, a decoder's or a consumer's failure
            error = exc
        finally:  # on every way out, Ctrl-C included: a cut body leaves no file behind
            await chunks.aclose()
            if self._meter is not None:  # a body done owes nothing: what it held is what it was
                self._meter.expected += cap.count - (owed or 0)
            if consumer is not None:
                try:
                    saved_to = consumer.finish(complete)
                except WriteFailed as exc:  # the last write, or not the body expected
                    error = error or exc
        text = None if snippet is None else snippet.snippet(content_type, charset_of(content_type))
        sha256 = digest.hexdigest() if digest is not None else None
        kept = bytes(held) if held is not None else None
        resumed_from = getattr(consumer, "resumed_from", None)
        return Body(cap.count, cap.truncated, text, saved_to, sha256, kept, resumed_from), error

    def _consumer(
        self, target: Target, status: int, fields: dict[bytes, str]
    ) -> BodyConsumer | None:
        """Whoever wants this body (stdout, a --save file), told what its head says."""
        if self._consumer_for is None:
            return None
        head = BodyHead(
            status,
            fields.get(b"content-type"),
            fields.get(b"content-disposition"),
            fields.get(b"content-range"),
            fields.get(b"etag"),
            fields.get(b"last-modified"),
        )
        return self._consumer_for(target, head)

    def _announced(self, fields: dict[bytes, str]) -> int | None:
        """The body's Content-Length, counted as owed on the progress line's meter."""
        if self._meter is None:
            return None
        owed = _length(fields)
        if owed is not None:
            self._meter.expected += owed
        return owed


def _length(fields: dict[bytes, str]) -> int | None:
    text = fields.get(b"content-length")
    return int(text) if text is not None and text.isdigit() else None


def method_for(target: Target, config: Config) -> str:
    """The method a target is sent with: its row's, else the run's (-X, or POST with -d); a
    row with a body and no method is a POST, as -d makes one."""
    row, method = target.request, config.request.method
    if row is None:
        return method
    if row.method is not None:
        return row.method
    return "POST" if row.body is not None and method == "GET" else method


def origin_of(url: httpx.URL) -> Origin:
    """(scheme, host, port) with the default port filled in."""
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port


def _decoder(response: httpx.Response, encoding: str | None) -> Decoder | None:
    """None for an encoding we cannot decode under a cap: its raw bytes pass on as they are."""
    if response.is_stream_consumed:
        return IdentityDecoder()  # built in memory (respx, MockTransport): httpx decoded it already
    return decoder_for(encoding)


def _decoded_chunks(
    response: httpx.Response, decoder: Decoder | None, bandwidth: RateLimiter | None = None
) -> AsyncGenerator[bytes, None]:
    """The body as decoded chunks of at most decode.STEP bytes each; with --limit-rate, each
    piece of a read waits its turn (so the transport stops reading meanwhile). A body that
    needs no decoding is the transport's own reads, with no generator of ours around each."""
    if response.is_stream_consumed:
        return _whole(response.content)
    reads = raw_chunks(response) if bandwidth is None else _paced(raw_chunks(response), bandwidth)
    if decoder is None or isinstance(decoder, IdentityDecoder):
        return reads
    return _decoding(reads, decoder)


async def _whole(content: bytes) -> AsyncGenerator[bytes, None]:
    yield content


async def _decoding(
    reads: AsyncGenerator[bytes, None], decoder: Decoder
) -> AsyncGenerator[bytes, None]:
    try:
        async for raw in reads:
            for chunk in decoder.decode(raw):
                yield chunk
        for chunk in decoder.flush():
            yield chunk
    finally:
        await reads.aclose()


# What --limit-rate pays for at a time. A transport's read can hold much more (libcurl's
# transfers hand over up to 1 MiB a read after a pause), and a read is paid for as it arrives,
# so pieces this small keep a burst, and the unpaid last piece of a run, short.
_PACED_PIECE = 64 * 1024


async def _paced(
    reads: AsyncGenerator[bytes, None], bandwidth: RateLimiter
) -> AsyncGenerator[bytes, None]:
    try:
        async for raw in reads:
            for start in range(0, len(raw), _PACED_PIECE):  # a short read is sliced whole
                piece = raw[start : start + _PACED_PIECE]
                await bandwidth.wait(len(piece))
                yield piece
    finally:
        await reads.aclose()


async def _each_within(
    chunks: AsyncGenerator[bytes, None], deadline: float
) -> AsyncGenerator[bytes, None]:
    """Each read under the deadline, not the whole body at once: the bytes so far are kept."""
    try:
        while True:
            async with within(deadline):
                chunk = await anext(chunks, None)
            if chunk is None:
                return
            yield chunk
    finally:
        await chunks.aclose()


async def _drain(response: httpx.Response) -> None:
    """Read a small redirect body so its connection can be reused; a large one is dropped."""
    if response.is_stream_consumed:  # a mock transport may hand over a response already read
        return
    seen = 0
    async for raw in raw_chunks(response):
        seen += len(raw)
        if seen > _REDIRECT_DRAIN:
            return
