"""One URL, start to end: the `--max-time` deadline, the attempts and the waits between them,
and the Result.

`Fetcher.fetch()` never raises for anything the network or a server does: every failure becomes
a Result with an `ErrorInfo`. Layers, as httpx layers `send`, each returning a value:
`fetch()` (the Result) -> `_attempts()` (retries and waits, the last Outcome) ->
`Attempter.attempt()` (hops and the body, one Outcome).
"""

from __future__ import annotations

import asyncio
import datetime
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

from fetchcli._version import __version__
from fetchcli.consumer import BodyMeter, Conditional, ConsumerFactory, Log
from fetchcli.fetching import descriptors
from fetchcli.fetching.attempt import Attempter, Keep, Outcome, method_for
from fetchcli.fetching.classify import TIMEOUT_WORDS
from fetchcli.fetching.deadline import DeadlinePassed, deadline_after, within
from fetchcli.fetching.decode import ACCEPT_ENCODING
from fetchcli.fetching.politeness import HostGate, RateLimiter
from fetchcli.fetching.retry import backoff, retryable_failure
from fetchcli.http.client import close_idle_connections
from fetchcli.http.messages import head_fields
from fetchcli.http.timing import PHASES, REMOTE_IP, TLS, Phases
from fetchcli.models import ErrorInfo, ErrorKind, Result, Target, Timing, TlsInfo
from fetchcli.sanitize import shown
from fetchcli.settings.model import Config

if TYPE_CHECKING:
    from fetchcli.http.certificates import Handshake
    from fetchcli.judging.judge import Judge

Sleep = Callable[[float], Awaitable[None]]

_DESCRIPTOR_PAUSE, _DESCRIPTOR_PAUSE_MAX = 0.02, 0.5  # pauses grow by what was waited so far
_DESCRIPTOR_WAIT_MAX = 60.0  # then the URL fails with kind `io`, naming the open-file limit


class Fetcher:
    """Fetches Targets over one shared client with one frozen Config.

    `gate` and `rate` replace the per-origin limits and the rate limiter (a worker process
    shares them with the others); `clock`, `sleep`, `wall` and `rng` are injected so that tests
    never really wait."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: Config,
        *,
        consumer_for: ConsumerFactory | None = None,
        conditional: Conditional | None = None,
        keep: Keep | None = None,
        log: Log | None = None,
        gate: HostGate | None = None,
        rate: RateLimiter | None = None,
        bandwidth: RateLimiter | None = None,
        meter: BodyMeter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self._keep = keep or Keep(digest=conditional is not None)
        self._judge = _judge_for(config)
        self._presumed = self._judge.passed if self._judge is not None else None  # see _judged
        if self._judge is not None and self._judge.needs_body:
            self._keep = self._keep._replace(body=True)
        self._log = log
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._attempter = Attempter(
            client,
            config,
            gate=gate or HostGate(config.pool.per_host, clock=clock, sleep=sleep),
            rate=rate or RateLimiter(config.pool.rate, clock=clock, sleep=sleep),
            bandwidth=bandwidth or RateLimiter(config.pool.limit_rate, clock=clock, sleep=sleep),
            consumer_for=consumer_for,
            conditional=conditional,
            keep=self._keep,
            wall=wall,
            clock=clock,
            meter=meter,
        )
        self._timed = config.output.timings
        self._wall = wall

    async def fetch(self, target: Target) -> Result:
        """Fetch one Target; always a Result, never an exception for a network problem."""
        if target.error is not None:
            return Result(target, error=target.error)
        started = self._clock()
        deadline = deadline_after(self._config.timeouts.max_time)
        attempts, outcome = await self._attempts(target, deadline)
        result = self._result(target, outcome, attempts, self._clock() - started)
        if self._judge is not None:
            result = self._judged(result, outcome)
        if self._log is not None:
            self._log(self._describe(result))
        return result

    async def _attempts(self, target: Target, deadline: float | None) -> tuple[int, Outcome]:
        """Attempts until one succeeds or no retry is left; how many, and the last Outcome."""
        retries = self._config.retry.retries
        attempts, short_of_descriptors = 0, 0.0
        while True:
            attempts += 1
            outcome = await self._attempter.attempt(
                target, may_retry=attempts <= retries, deadline=deadline
            )
            if outcome.error is not None and _out_of_descriptors(outcome, short_of_descriptors):
                # This process's shortage, not the URL's failure: the same attempt again once
                # other requests have given some back (else kind io, never retried).
                attempts -= 1
                await close_idle_connections(self._client)
                wait = min(_DESCRIPTOR_PAUSE_MAX, _DESCRIPTOR_PAUSE + short_of_descriptors)
                short_of_descriptors += wait
            else:
                retry_wait = self._retry_wait(target, outcome, attempts)
                if retry_wait is None:
                    return attempts, outcome
                wait = retry_wait
            try:
                async with within(deadline):
                    await self._sleep(wait)
            except DeadlinePassed as exc:
                return attempts, replace(outcome, error=exc, retry=False)

    def _retry_wait(self, target: Target, outcome: Outcome, attempts: int) -> float | None:
        """How long to wait before trying again; None when the URL is done."""
        retry, method = self._config.retry, method_for(target, self._config)
        if outcome.retry:
            assert outcome.response is not None
            wait, why = outcome.retry_after, f"HTTP {outcome.response.status_code}"
        elif outcome.error is None or outcome.body is not None or attempts > retry.retries:
            return None  # done, or failed after its body started, or out of tries
        else:
            failure = outcome.failure
            assert failure is not None
            if not retryable_failure(failure.retry, method):
                return None
            wait, why = None, f"{failure.kind}: {failure.message}"
        if wait is None:
            wait = backoff(attempts, retry.retry_backoff, retry.retry_max_wait, self._rng)
        if self._log is not None:
            self._log(
                f"{method} {shown(target.url)} -> {shown(why)}; "
                f"retry {attempts} of {retry.retries} in {wait:.2f}s"
            )
        return wait

    def _result(self, target: Target, outcome: Outcome, attempts: int, elapsed: float) -> Result:
        row_timeout = target.request.timeout if target.request is not None else None
        error = _error_of(outcome, self._config, self._keep, row_timeout)
        response, body = outcome.response, outcome.body
        if response is None:  # no answer; after redirects, the failed hop is the final URL
            return Result(
                target,
                method=method_for(target, self._config),
                final_url=outcome.hop_url,
                elapsed=elapsed,
                attempts=attempts,
                redirects=outcome.redirects,
                error=error,
                checks=self._presumed,
                timing=Timing(total=elapsed) if self._timed else None,
            )
        headers = None
        if self._keep.headers:
            headers = tuple(response.headers.multi_items())
        fields = outcome.fields if outcome.fields is not None else head_fields(response.headers)
        extensions = response.extensions
        return Result(
            target,
            method=method_for(target, self._config),
            final_url=str(response.url),
            status=response.status_code,
            reason=response.reason_phrase,
            http_version=response.http_version,
            elapsed=elapsed,
            bytes=body.bytes if body else 0,
            content_type=fields.get(b"content-type"),
            snippet=body.snippet if body else None,
            attempts=attempts,
            redirects=outcome.redirects,
            truncated=body.truncated if body else False,
            saved_to=body.saved_to if body else None,
            error=error,
            checks=self._presumed,
            headers=headers,
            etag=fields.get(b"etag"),
            last_modified=fields.get(b"last-modified"),
            sha256=body.sha256 if body else None,
            resumed_from=body.resumed_from if body else None,
            remote_ip=extensions.get(REMOTE_IP),
            timing=_timing(outcome, elapsed) if self._timed else None,
            tls=tls_info(extensions.get(TLS), self._wall),
        )

    def _judged(self, result: Result, outcome: Outcome) -> Result:
        """The verdict on `result`, which _result built presuming a pass (`checks` empty): the
        judge returns it as it is when that holds, a new Result otherwise."""
        assert self._judge is not None
        headers: list[tuple[str, str]] = []
        if self._judge.needs_headers and outcome.response is not None:
            headers = outcome.response.headers.multi_items()
        held = outcome.body.held if outcome.body is not None else None
        return self._judge.judge(result, headers, held)

    def _describe(self, result: Result) -> str:
        """The -v line for the last attempt."""
        if result.error is None:
            outcome = f"{result.status} {result.reason or ''}".strip()
        else:
            outcome = f"{result.error.kind}: {result.error.message}"
        return (
            f"{result.method} {shown(result.target.url)} -> {shown(outcome)} "
            f"({result.elapsed:.3f}s, attempt {result.attempts})"
        )


_NO_PHASES = Phases()  # a transport that measured none


def _timing(outcome: Outcome, elapsed: float) -> Timing:
    """The final hop's phases as its transport measured them, its wait for a slot and the
    rate before it, and the URL's whole time."""
    assert outcome.response is not None
    pool, dns, connect, tls, ttfb = outcome.response.extensions.get(PHASES) or _NO_PHASES
    return Timing(outcome.queued + (pool or 0.0), dns, connect, tls, ttfb, elapsed)


def _judge_for(config: Config) -> Judge | None:
    """The run's Judge; its module (CEL, JSONPath, an HTML parser behind it) is imported only
    when something is judged."""
    if not config.judge.judges:
        return None
    from fetchcli.judging.judge import Judge

    return Judge.from_spec(config.judge)


def tls_info(handshake: Handshake | None, wall: Callable[[], float]) -> TlsInfo | None:
    """A record's `tls` from what the transport saw of the connection's handshake (the clock
    read only then: days_left is as of now)."""
    if handshake is None:
        return None
    now = wall()
    cert = handshake.certificate
    if cert is None:
        return TlsInfo(handshake.version, handshake.cipher)
    expires = cert.not_after.timestamp()
    return TlsInfo(
        version=handshake.version,
        cipher=handshake.cipher,
        subject=cert.subject,
        issuer=cert.issuer,
        sans=cert.sans,
        not_before=_iso(cert.not_before),
        not_after=_iso(cert.not_after),
        days_left=round((expires - now) / 86400, 2),
        expires=expires,
    )


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _out_of_descriptors(outcome: Outcome, waited: float) -> bool:
    assert outcome.error is not None
    return (
        descriptors.exhausted(outcome.error)
        and outcome.body is None
        and waited < _DESCRIPTOR_WAIT_MAX
    )


def _error_of(
    outcome: Outcome, config: Config, keep: Keep, row_timeout: float | None
) -> ErrorInfo | None:
    """The record's error: what ended the last attempt (naming the redirect it was following),
    else a body cut by --max-size. `row_timeout` is a data row's own, in place of the run's."""
    error = _attempt_error(outcome, config, keep, row_timeout)
    if error is not None and outcome.response is None and outcome.hop_url is not None:
        where = f"redirect {outcome.redirects} to {outcome.hop_url}"
        return ErrorInfo(error.kind, f"{error.message} (at {where})")
    return error


def _attempt_error(
    outcome: Outcome, config: Config, keep: Keep, row_timeout: float | None
) -> ErrorInfo | None:
    if outcome.error is not None:
        failure = outcome.failure
        assert failure is not None
        if failure.kind is ErrorKind.DEADLINE:
            return ErrorInfo(failure.kind, f"--max-time {config.timeouts.max_time:g}s passed")
        if failure.message in TIMEOUT_WORDS:  # say after how long, as the user set it
            seconds = row_timeout or getattr(config.timeouts, failure.message.replace(" ", "_"))
            if seconds is not None:
                return ErrorInfo(failure.kind, f"{failure.message} after {seconds:g}s")
        return failure.info()
    if outcome.body is not None and outcome.body.truncated:
        return ErrorInfo(ErrorKind.TOO_LARGE, f"body exceeds --max-size ({keep.max_size} bytes)")
    return None


def default_headers(config: Config) -> httpx.Headers:
    """User-Agent and Accept-Encoding (-A sets the first), then every -H, which replaces a
    default of the same name; repeated -H names are all sent."""
    request = config.request
    defaults = {
        "user-agent": request.user_agent or f"fetchcli/{__version__}",
        # --continue asks for the file as it is: a range of a compressed form is no range of it
        "accept-encoding": "identity" if config.output.resume else ACCEPT_ENCODING,
    }
    if request.data is not None:
        defaults["content-type"] = "application/x-www-form-urlencoded"  # as curl -d does
    given = {name.lower() for name, _ in request.headers}
    kept = [(name, value) for name, value in defaults.items() if name not in given]
    return httpx.Headers(kept + list(request.headers))
