"""One URL: request, redirects, the streamed and capped body, the snippet -> a Result.

`Fetcher.fetch()` never raises for anything the network or a server does: every failure becomes
a Result with an `ErrorInfo` from `errors.classify`. Layers, as httpx layers `send`:
`fetch()` (one URL, timing) -> `_follow()` (redirect hops) -> `_read_body()` (one response).
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from fetchcli.body import BodyConsumer, SizeCap, SnippetCollector
from fetchcli.classify import classify, describe
from fetchcli.config import Config
from fetchcli.decode import Decoder, IdentityDecoder, decoder_for
from fetchcli.models import ErrorInfo, ErrorKind, Result, Target
from fetchcli.sanitize import mask_url, sanitize

Log = Callable[[str], None]
# Called when the final response's body starts, with its status; None: nobody wants the body.
ConsumerFactory = Callable[[Target, int], BodyConsumer | None]

_REDIRECT_DRAIN = 64 * 1024  # read this much of a redirect body to keep the connection; else drop


@dataclass(slots=True)
class _Progress:
    """What is known so far about one URL, so a failure mid-way still reports it."""

    response: httpx.Response | None = None
    redirects: int = 0
    body_bytes: int = 0
    truncated: bool = False
    saved_to: str | None = None


class Fetcher:
    """Fetches Targets over one shared client with one frozen Config."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: Config,
        *,
        consumer_for: ConsumerFactory | None = None,
        log: Log | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._client = client
        self._config = config
        self._consumer_for = consumer_for
        self._log = log
        self._clock = clock
        self._auth = _basic_auth(config.request.user)

    async def fetch(self, target: Target) -> Result:
        """Fetch one Target; always a Result, never an exception for a network problem."""
        if target.error is not None:
            return Result(target, error=target.error)
        started = self._clock()
        progress = _Progress()
        try:
            result = await self._follow(target, progress, started)
        except Exception as exc:  # noqa: BLE001 - one bad URL must never end a run
            result = self._failure(target, progress, started, exc)
        self._log_attempt(result)
        return result

    async def _follow(self, target: Target, progress: _Progress, started: float) -> Result:
        request = self._first_request(target.url)
        max_redirects = self._config.request.max_redirects
        while True:
            response = await self._client.send(request, stream=True)
            progress.response = response
            try:
                next_request = self._redirect_of(request, response)
                if next_request is None:
                    return await self._read_body(target, response, progress, started)
                if progress.redirects >= max_redirects:
                    raise httpx.TooManyRedirects(
                        f"more than {max_redirects} redirects", request=request
                    )
                await _drain(response)
            finally:
                await response.aclose()
            progress.redirects += 1
            request = next_request

    def _first_request(self, url: str) -> httpx.Request:
        request_config = self._config.request
        request = self._client.build_request(
            request_config.method, url, content=request_config.data
        )
        if self._auth is not None:
            request.headers["Authorization"] = self._auth
        return request

    def _redirect_of(
        self, request: httpx.Request, response: httpx.Response
    ) -> httpx.Request | None:
        """The next hop, or None when this response is the final one."""
        if not self._config.request.follow or response.next_request is None:
            return None
        next_request = response.next_request
        # httpx keeps Authorization on an http->https upgrade of the same host; the contract
        # says never to another origin, and a change of scheme or port is another origin.
        if _origin(next_request.url) != _origin(request.url):
            next_request.headers.pop("Authorization", None)
        return next_request

    async def _read_body(
        self, target: Target, response: httpx.Response, progress: _Progress, started: float
    ) -> Result:
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
                progress.body_bytes = cap.count
                if cap.truncated:
                    break
            complete = not cap.truncated
        finally:
            if consumer is not None:
                progress.saved_to = consumer.finish(complete)
        progress.truncated = cap.truncated
        content_type = response.headers.get("content-type")
        error = None
        if cap.truncated:
            error = ErrorInfo(ErrorKind.TOO_LARGE, f"body exceeds --max-size ({cap.limit} bytes)")
        return self._result(
            target,
            progress,
            started,
            snippet=snippet.snippet(content_type, response.charset_encoding),
            error=error,
        )

    def _failure(
        self, target: Target, progress: _Progress, started: float, exc: BaseException
    ) -> Result:
        error = ErrorInfo(classify(exc), sanitize(mask_url(describe(exc))))
        return self._result(target, progress, started, snippet=None, error=error)

    def _result(
        self,
        target: Target,
        progress: _Progress,
        started: float,
        *,
        snippet: str | None,
        error: ErrorInfo | None,
    ) -> Result:
        response = progress.response
        headers = None
        if response is not None and self._config.output.include_headers:
            headers = tuple(response.headers.multi_items())
        return Result(
            target,
            final_url=str(response.url) if response is not None else None,
            status=response.status_code if response is not None else None,
            reason=response.reason_phrase if response is not None else None,
            http_version=response.http_version if response is not None else None,
            elapsed=self._clock() - started,
            bytes=progress.body_bytes,
            content_type=response.headers.get("content-type") if response is not None else None,
            snippet=snippet,
            attempts=1,
            redirects=progress.redirects,
            truncated=progress.truncated,
            saved_to=progress.saved_to,
            error=error,
            headers=headers,
        )

    def _log_attempt(self, result: Result) -> None:
        if self._log is None:
            return
        record = result.to_record()
        outcome = (
            f"{record['status']} {record['reason'] or ''}".strip()
            if result.error is None
            else f"{result.error.kind}: {record['error']['message']}"
        )
        self._log(
            f"{self._config.request.method} {record['url']} -> {outcome} ({result.elapsed:.3f}s)"
        )


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


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port


def _basic_auth(user: tuple[str, str] | None) -> str | None:
    if user is None:
        return None
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode("ascii")
    return f"Basic {token}"
