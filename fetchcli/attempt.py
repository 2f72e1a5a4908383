"""One try at one URL: send, follow redirects hop by hop, stream the final body under the cap.

Each hop waits for its origin's slot and the run's rate before it starts. What is learned is
written into a `Trace`, so a failure half-way still reports the status and bytes it got to.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from fetchcli.body import BodyConsumer, SizeCap, SnippetCollector, charset_of
from fetchcli.client import Sender, basic_auth
from fetchcli.config import Config
from fetchcli.decode import Decoder, IdentityDecoder, decoder_for
from fetchcli.limits import HostGate, Origin, RateLimiter
from fetchcli.models import Target
from fetchcli.retry import COOLDOWN_STATUSES, retry_after, retryable_status

# Called when the final response's body starts, with its status; None: nobody wants the body.
ConsumerFactory = Callable[[Target, int], BodyConsumer | None]

_REDIRECT_DRAIN = 64 * 1024  # read this much of a redirect body to keep the connection; else drop


@dataclass(slots=True)
class Trace:
    """What is known so far about one URL, across its attempts."""

    attempts: int = 0
    response: httpx.Response | None = None
    redirects: int = 0
    body_started: bool = False
    body_bytes: int = 0
    truncated: bool = False
    snippet: str | None = None
    saved_to: str | None = None


class RetryableStatus(Exception):
    """The final response asks for another try (429, 502, 503, 504) and tries remain."""

    def __init__(self, status: int, wait: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.wait = wait  # from Retry-After, if the server said


class Attempter:
    """Makes one attempt at a URL over the shared client."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: Config,
        *,
        gate: HostGate,
        rate: RateLimiter,
        consumer_for: ConsumerFactory | None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._sender = Sender(client)
        self._config = config
        self._gate = gate
        self._rate = rate
        self._consumer_for = consumer_for
        self._wall = wall
        user = config.request.user
        self._auth = None if user is None else basic_auth(*user)

    async def attempt(self, target: Target, trace: Trace, *, last: bool) -> None:
        """One try; raises RetryableStatus (only when not `last`) or the network's exception."""
        trace.response, trace.redirects = None, 0
        request = self._first_request(target.url)
        while True:
            origin = origin_of(request.url)
            async with self._gate.slot(origin):
                await self._rate.wait()
                response = await self._sender.send(request)
                trace.response = response
                try:
                    next_request = self._next_hop(request, response, origin, trace, last=last)
                    if next_request is None:
                        await self._read_body(target, response, trace)
                        return
                    await _drain(response)
                finally:
                    await response.aclose()
            trace.redirects += 1
            request = next_request

    def _first_request(self, url: str) -> httpx.Request:
        request_config = self._config.request
        return self._sender.request(
            request_config.method, url, content=request_config.data, authorization=self._auth
        )

    def _next_hop(
        self,
        request: httpx.Request,
        response: httpx.Response,
        origin: Origin,
        trace: Trace,
        *,
        last: bool,
    ) -> httpx.Request | None:
        """The redirect to follow, None for the final response; raises to retry or give up."""
        wait = self._note_retry_after(response, origin)
        next_request = self._sender.redirect(request, response)
        if self._config.request.follow and next_request is not None:
            max_redirects = self._config.request.max_redirects
            if trace.redirects >= max_redirects:
                raise httpx.TooManyRedirects(
                    f"more than {max_redirects} redirects", request=request
                )
            # httpx keeps Authorization on an http->https upgrade of the same host; the contract
            # says never to another origin, and a change of scheme or port is another origin.
            if origin_of(next_request.url) != origin:
                next_request.headers.pop("Authorization", None)
            return next_request
        if not last and retryable_status(response.status_code, request.method):
            raise RetryableStatus(response.status_code, wait)
        return None

    def _note_retry_after(self, response: httpx.Response, origin: Origin) -> float | None:
        """Retry-After on a 429/503 pauses every request to the origin, not only this one."""
        if response.status_code not in COOLDOWN_STATUSES and response.status_code < 500:
            return None
        wait = retry_after(response.headers.get("retry-after"), self._wall())
        if wait is not None:
            wait = min(wait, self._config.retry.max_wait)
            if response.status_code in COOLDOWN_STATUSES:
                self._gate.cool_down(origin, wait)
        return wait

    async def _read_body(self, target: Target, response: httpx.Response, trace: Trace) -> None:
        trace.body_started = True  # from here on a failure is final: bytes may be out already
        output = self._config.output
        decoder = _decoder(response)
        snippet = SnippetCollector(output.snippet if decoder is not None else 0)
        consumer = self._consumer_for(target, response.status_code) if self._consumer_for else None
        cap = SizeCap(output.max_size)
        complete = False
        try:
            async for chunk in _decoded_chunks(response, decoder):
                piece = cap.fit(chunk)
                snippet.feed(piece)
                if consumer is not None:
                    consumer.feed(piece)
                trace.body_bytes = cap.count
                if cap.truncated:
                    break
            complete = not cap.truncated
        finally:
            trace.truncated = cap.truncated
            if consumer is not None:
                trace.saved_to = consumer.finish(complete)
        content_type = response.headers.get("content-type")
        trace.snippet = snippet.snippet(content_type, charset_of(content_type))


def origin_of(url: httpx.URL) -> Origin:
    """(scheme, host, port) with the default port filled in."""
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port


def _decoder(response: httpx.Response) -> Decoder | None:
    """None for an encoding we cannot decode under a cap: its raw bytes pass on as they are."""
    if response.is_stream_consumed:
        return IdentityDecoder()  # built in memory (respx, MockTransport): httpx decoded it already
    return decoder_for(response.headers.get("content-encoding"))


async def _decoded_chunks(
    response: httpx.Response, decoder: Decoder | None
) -> AsyncIterator[bytes]:
    """The body as decoded chunks of at most decode.STEP bytes each."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for raw in response.aiter_raw():
        if decoder is None:
            yield raw
            continue
        for chunk in decoder.decode(raw):
            yield chunk
    if decoder is not None:
        for chunk in decoder.flush():
            yield chunk


async def _drain(response: httpx.Response) -> None:
    """Read a small redirect body so its connection can be reused; a large one is dropped."""
    if response.is_stream_consumed:  # a mock transport may hand over a response already read
        return
    seen = 0
    async for raw in response.aiter_raw():
        seen += len(raw)
        if seen > _REDIRECT_DRAIN:
            return
