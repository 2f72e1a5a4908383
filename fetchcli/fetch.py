"""One URL, start to end: the `--max-time` deadline, the attempts, the Result.

`Fetcher.fetch()` never raises for anything the network or a server does: every failure becomes
a Result with an `ErrorInfo` from `classify`. Layers, as httpx layers `send`: `fetch()` (deadline,
Result) -> `_attempts()` (retries and waits) -> `Attempter.attempt()` (hops and the body).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import httpx

from fetchcli import descriptors
from fetchcli.attempt import Attempter, ConsumerFactory, RetryableStatus, Trace
from fetchcli.classify import classify, describe
from fetchcli.client import close_idle_connections
from fetchcli.config import Config
from fetchcli.limits import HostGate, RateLimiter
from fetchcli.models import ErrorInfo, ErrorKind, Result, Target
from fetchcli.retry import backoff, retryable_error
from fetchcli.sanitize import mask_url, sanitize

Log = Callable[[str], None]
Sleep = Callable[[float], Awaitable[None]]


class Fetcher:
    """Fetches Targets over one shared client with one frozen Config.

    `clock`, `sleep`, `wall` and `rng` are injected so that tests never really wait."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: Config,
        *,
        consumer_for: ConsumerFactory | None = None,
        log: Log | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self._log = log
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._attempter = Attempter(
            client,
            config,
            gate=HostGate(config.pool.per_host, clock=clock, sleep=sleep),
            rate=RateLimiter(config.pool.rate, clock=clock, sleep=sleep),
            consumer_for=consumer_for,
            wall=wall,
        )

    async def fetch(self, target: Target) -> Result:
        """Fetch one Target; always a Result, never an exception for a network problem."""
        if target.error is not None:
            return Result(target, error=target.error)
        started = self._clock()
        trace = Trace()
        error = None
        deadline = self._config.timeouts.max_time
        try:
            async with asyncio.timeout(deadline) as timer:
                await self._attempts(target, trace)
        except TimeoutError:
            if not timer.expired():
                raise
            error = ErrorInfo(ErrorKind.DEADLINE, f"--max-time {deadline:g}s passed")
        except Exception as exc:  # noqa: BLE001 - one bad URL must never end a run
            error = ErrorInfo(classify(exc), sanitize(mask_url(describe(exc))))
        if error is None and trace.truncated:
            cap = self._config.output.max_size
            error = ErrorInfo(ErrorKind.TOO_LARGE, f"body exceeds --max-size ({cap} bytes)")
        result = self._result(target, trace, self._clock() - started, error)
        if self._log is not None:
            self._log(self._describe(result, trace))
        return result

    async def _attempts(self, target: Target, trace: Trace) -> None:
        retry, method = self._config.retry, self._config.request.method
        short_of_descriptors = 0.0  # seconds waited for a descriptor to free
        while True:
            trace.attempts += 1
            last = trace.attempts > retry.retries
            try:
                await self._attempter.attempt(target, trace, last=last)
                return
            except RetryableStatus as status:
                wait, why = status.wait, str(status)
            except Exception as exc:
                if descriptors.exhausted(exc):
                    # This process's shortage, not the URL's failure: the same attempt again
                    # once other requests have given some back; else kind io, never retried.
                    if trace.body_started or short_of_descriptors >= _DESCRIPTOR_WAIT_MAX:
                        raise
                    trace.attempts -= 1
                    await close_idle_connections(self._client)
                    pause = min(_DESCRIPTOR_PAUSE_MAX, _DESCRIPTOR_PAUSE + short_of_descriptors)
                    short_of_descriptors += pause
                    await self._sleep(pause)
                    continue
                kind = classify(exc)
                final = last or trace.body_started
                if final or not retryable_error(exc, method, dns_or_tls=kind in _NO_RETRY):
                    raise
                wait, why = None, f"{kind}: {describe(exc)}"
            if wait is None:
                wait = backoff(trace.attempts, retry.backoff, retry.max_wait, self._rng)
            if self._log is not None:
                self._log(
                    f"{method} {_shown(target.url)} -> {sanitize(mask_url(why))}; "
                    f"retry {trace.attempts} of {retry.retries} in {wait:.2f}s"
                )
            await self._sleep(wait)

    def _result(
        self, target: Target, trace: Trace, elapsed: float, error: ErrorInfo | None
    ) -> Result:
        response = trace.response
        if response is None:
            return Result(target, elapsed=elapsed, attempts=trace.attempts, error=error)
        headers = None
        if self._config.output.include_headers:
            headers = tuple(response.headers.multi_items())
        return Result(
            target,
            final_url=str(response.url),
            status=response.status_code,
            reason=response.reason_phrase,
            http_version=response.http_version,
            elapsed=elapsed,
            bytes=trace.body_bytes,
            content_type=response.headers.get("content-type"),
            snippet=trace.snippet,
            attempts=trace.attempts,
            redirects=trace.redirects,
            truncated=trace.truncated,
            saved_to=trace.saved_to,
            error=error,
            headers=headers,
        )

    def _describe(self, result: Result, trace: Trace) -> str:
        """The -v line for the last attempt."""
        record = result.to_record()
        outcome = (
            f"{record['status']} {record['reason'] or ''}".strip()
            if result.error is None
            else f"{result.error.kind}: {record['error']['message']}"
        )
        return (
            f"{self._config.request.method} {record['url']} -> {outcome} "
            f"({result.elapsed:.3f}s, attempt {trace.attempts})"
        )


_NO_RETRY = (ErrorKind.DNS, ErrorKind.TLS)
_DESCRIPTOR_PAUSE, _DESCRIPTOR_PAUSE_MAX = 0.02, 0.5  # pauses grow by what was waited so far
_DESCRIPTOR_WAIT_MAX = 60.0  # then the URL fails with kind `io`, naming the open-file limit


def _shown(url: str) -> str:
    return sanitize(mask_url(url))
