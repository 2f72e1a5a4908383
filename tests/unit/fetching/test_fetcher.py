"""Fetcher: retries, waits, cooldowns and deadlines over respx with an injected clock; no
exception ever escapes fetch()."""

from __future__ import annotations

import asyncio
import errno
import random
from dataclasses import replace

import httpx
import pytest
import respx

from fetchcli.fetching.fetcher import Fetcher, default_headers
from fetchcli.http.client import make_client
from fetchcli.models import Result, Target
from fetchcli.settings.model import Config, PoolConfig, RetryConfig, TimeoutConfig
from tests.fakes import FakeTime

pytestmark = pytest.mark.anyio


def _client(config: Config, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    return make_client(config, transport, headers=default_headers(config))


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_called=False)


async def _fetch(router, *urls, retries=3, method="GET", time=None, log=None, **config_changes):
    config = Config(retry=RetryConfig(retries=retries, retry_backoff=0.5, retry_max_wait=60))
    config = replace(config, request=replace(config.request, method=method), **config_changes)
    time = time or FakeTime()
    async with make_client(
        config, httpx.MockTransport(router.async_handler), headers=default_headers(config)
    ) as client:
        fetcher = Fetcher(
            client, config, clock=time.clock, sleep=time.sleep, wall=lambda: 0.0,
            rng=random.Random(3), log=log,
        )  # fmt: skip
        return [await fetcher.fetch(Target(url, "arg", None)) for url in urls], time


async def test_503_then_200_is_retried(router) -> None:
    """A 503 is retried with backoff; the record counts both attempts."""
    router.get("https://a.test/").mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    [result], time = await _fetch(router, "https://a.test/")
    assert (result.status, result.attempts, result.error) == (200, 2, None)
    assert len(time.sleeps) == 1 and 0 <= time.sleeps[0] <= 0.5


async def test_retry_after_seconds_is_honoured(router) -> None:
    """Retry-After: 7 waits exactly 7 seconds."""
    router.get("https://a.test/").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    )
    [result], time = await _fetch(router, "https://a.test/")
    assert result.status == 200
    assert time.sleeps == [7.0]


async def test_retry_after_is_capped_by_max_wait(router) -> None:
    """A Retry-After longer than --retry-max-wait waits only that long."""
    router.get("https://a.test/").mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "3600"}), httpx.Response(200)]
    )
    config = Config(retry=RetryConfig(retries=1, retry_max_wait=2.0))
    time = FakeTime()
    async with make_client(
        config, httpx.MockTransport(router.async_handler), headers=default_headers(config)
    ) as client:
        fetcher = Fetcher(client, config, clock=time.clock, sleep=time.sleep, wall=lambda: 0.0)
        result = await fetcher.fetch(Target("https://a.test/", "arg", None))
    assert result.status == 200
    assert time.sleeps == [2.0]


async def test_retries_run_out_and_the_last_answer_stands(router) -> None:
    """Every attempt 503: the record is the last 503, attempts = retries + 1."""
    router.get("https://a.test/").respond(503, text="busy")
    [result], time = await _fetch(router, "https://a.test/", retries=2)
    assert (result.status, result.attempts, result.snippet) == (503, 3, "busy")
    assert len(time.sleeps) == 2


async def test_backoff_grows_exponentially(router) -> None:
    """Waits before attempts 2..5 stay under 0.5, 1, 2, 4 seconds."""
    router.get("https://a.test/").mock(side_effect=httpx.ConnectError("refused"))
    [result], time = await _fetch(router, "https://a.test/", retries=4)
    assert result.error is not None and result.error.kind == "connect"
    assert result.attempts == 5
    assert all(w <= 0.5 * 2**i for i, w in enumerate(time.sleeps))


async def test_post_is_retried_only_when_never_sent(router) -> None:
    """POST: a connect error is retried, a 503 or a read timeout is not."""
    router.post("https://a.test/connect").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(201)]
    )
    router.post("https://a.test/busy").respond(503)
    router.post("https://a.test/slow").mock(side_effect=httpx.ReadTimeout("slow"))
    results, _ = await _fetch(
        router,
        "https://a.test/connect",
        "https://a.test/busy",
        "https://a.test/slow",
        method="POST",
    )
    assert [(r.status, r.attempts) for r in results] == [(201, 2), (503, 1), (None, 1)]


async def test_reused_connection_closed_by_server_is_retried(router) -> None:
    """'Server disconnected without sending a response' on a GET is retried."""
    router.get("https://a.test/").mock(
        side_effect=[
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.Response(200),
        ]
    )
    [result], _ = await _fetch(router, "https://a.test/")
    assert (result.status, result.attempts) == (200, 2)


async def test_cooldown_pauses_the_next_url_to_the_same_origin(router) -> None:
    """A 429 with Retry-After on one URL pauses the next request to that origin too."""
    router.get("https://a.test/1").respond(429, headers={"Retry-After": "5"})
    router.get("https://a.test/2").respond(200)
    router.get("https://b.test/").respond(200)
    results, time = await _fetch(
        router, "https://a.test/1", "https://b.test/", "https://a.test/2", retries=0
    )
    assert [r.status for r in results] == [429, 200, 200]
    assert time.sleeps == [5.0]  # only a.test/2 waited; b.test went straight through


async def test_max_time_covers_attempts_and_waits(router) -> None:
    """--max-time ends a URL whose retries and waits outlast it, with kind 'deadline'."""

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200)

    router.get("https://a.test/").mock(side_effect=hang)
    config = Config(timeouts=TimeoutConfig(max_time=0.05))
    async with make_client(
        config, httpx.MockTransport(router.async_handler), headers=default_headers(config)
    ) as client:
        result = await Fetcher(client, config).fetch(Target("https://a.test/", "arg", None))
    assert result.error is not None and result.error.kind == "deadline"


async def test_verbose_logs_every_attempt(router) -> None:
    """-v: one line per attempt, the retries saying why and how long they wait."""
    router.get("https://a.test/").mock(side_effect=[httpx.Response(502), httpx.Response(200)])
    lines: list[str] = []
    await _fetch(router, "https://a.test/", log=lines.append)
    assert len(lines) == 2
    assert "HTTP 502; retry 1 of 3 in" in lines[0]
    assert lines[1].endswith("attempt 2)")


async def test_rate_applies_to_retries_too(router) -> None:
    """--rate spaces every request start, retries included."""
    router.get("https://a.test/").mock(side_effect=[httpx.ConnectError("x"), httpx.Response(200)])
    config_pool = PoolConfig(rate=2.0)
    [result], time = await _fetch(router, "https://a.test/", pool=config_pool)
    assert result.status == 200
    assert sum(time.sleeps) == pytest.approx(0.5)  # backoff, then the rest of the 0.5 s gap


class _ShortOfDescriptors(httpx.AsyncBaseTransport):
    """Runs out of descriptors `times` times (as a socket() call would), then answers 200.
    Not respx: its side effects drop the exception's cause, which is what is tested here."""

    def __init__(self, times: int) -> None:
        self.times = times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.times <= 0:
            return httpx.Response(200)
        self.times -= 1
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError as exc:
            raise httpx.ConnectError("Cannot connect", request=request) from exc


async def _fetch_short_of_descriptors(times: int, retries: int) -> tuple[Result, FakeTime]:
    config = Config(retry=RetryConfig(retries=retries))
    time = FakeTime()
    async with make_client(
        config, _ShortOfDescriptors(times), headers=default_headers(config)
    ) as client:
        fetcher = Fetcher(client, config, clock=time.clock, sleep=time.sleep)
        return await fetcher.fetch(Target("https://a.test/", "arg", None)), time


async def test_out_of_descriptors_waits_and_goes_on() -> None:
    """EMFILE is this process's shortage, not the URL's failure: the same attempt is made again
    after a short wait, and does not count as a retry (even with --retries 0)."""
    result, time = await _fetch_short_of_descriptors(2, retries=0)
    assert (result.status, result.attempts, result.error) == (200, 1, None)
    assert len(time.sleeps) == 2


async def test_out_of_descriptors_for_a_minute_is_an_io_error() -> None:
    """When no descriptor frees for a minute the URL fails with kind io, naming the limit, never
    as a network error."""
    result, time = await _fetch_short_of_descriptors(10**6, retries=3)
    assert result.error is not None and result.error.kind == "io"
    assert "open-file limit (ulimit -n)" in result.error.message
    assert 60 <= sum(time.sleeps) <= 61


class _BareTimeout(httpx.AsyncBaseTransport):
    """A transport that raises what no httpx transport should: a bare TimeoutError."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise TimeoutError


@pytest.mark.parametrize("max_time", [None, 30.0])
async def test_no_exception_escapes_fetch(max_time: float | None) -> None:
    """A bare TimeoutError that is not --max-time's (with or without a deadline running) is a
    record of kind timeout, never an exception out of fetch()."""
    config = Config(timeouts=TimeoutConfig(max_time=max_time))
    async with _client(config, _BareTimeout()) as client:
        result = await Fetcher(client, config).fetch(Target("https://a.test/", "arg", None))
    assert result.error is not None and result.error.kind == "timeout"
