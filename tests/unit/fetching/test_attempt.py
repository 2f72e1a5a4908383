"""The Attempter on its own, over respx with a fake clock: each hop waits for its origin and the
rate, what an attempt comes to (its Outcome), and what the body's consumer is given. The flags
as the command line passes them are tests/cli/test_attempt.py."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import httpx
import pytest
import respx

from fetchcli.consumer import BodyMeter
from fetchcli.fetching.attempt import Attempter, Keep, Outcome
from fetchcli.fetching.fetcher import default_headers
from fetchcli.fetching.politeness import HostGate, RateLimiter
from fetchcli.http.client import make_client
from fetchcli.models import Target
from fetchcli.settings.model import Config, PoolConfig, RequestConfig
from tests.fakes import FakeTime

pytestmark = pytest.mark.anyio

TARGET = Target("https://a.test/", "arg", None)
DEFAULTS, KEEP_DEFAULTS = Config(), Keep()


@dataclass
class Consumer:
    """A body consumer that remembers what it was given."""

    chunks: list[bytes] = field(default_factory=list)
    finished: list[bool] = field(default_factory=list)

    def feed(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def finish(self, complete: bool) -> str | None:
        self.finished.append(complete)
        return "saved/here" if complete else None


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_called=False)


async def _attempt(
    router: respx.Router,
    config: Config = DEFAULTS,
    *,
    time: FakeTime | None = None,
    gate: HostGate | None = None,
    consumer: Consumer | None = None,
    keep: Keep = KEEP_DEFAULTS,
    may_retry: bool = False,
    url: str = TARGET.url,
    meter: BodyMeter | None = None,
) -> Outcome:
    time = time or FakeTime()
    gate = gate or HostGate(config.pool.per_host, clock=time.clock, sleep=time.sleep)
    rate = RateLimiter(config.pool.rate, clock=time.clock, sleep=time.sleep)
    transport = httpx.MockTransport(router.async_handler)
    async with make_client(config, transport, headers=default_headers(config)) as client:
        attempter = Attempter(
            client, config, gate=gate, rate=rate, keep=keep, wall=lambda: 0.0, meter=meter,
            consumer_for=None if consumer is None else lambda target, head: consumer,
        )  # fmt: skip
        return await attempter.attempt(replace(TARGET, url=url), may_retry=may_retry, deadline=None)


def _chain(router: respx.Router) -> None:
    router.get("https://a.test/").respond(302, headers={"Location": "https://b.test/1"})
    router.get("https://b.test/1").respond(302, headers={"Location": "/2"})
    router.get("https://b.test/2").respond(200, text="end")


async def test_every_hop_is_a_start_under_the_rate(router) -> None:
    """--rate 4: the three requests of a two-hop chain start 0.25 s apart."""
    _chain(router)
    time = FakeTime()
    outcome = await _attempt(router, Config(pool=PoolConfig(rate=4.0)), time=time)
    assert outcome.response is not None and outcome.response.status_code == 200
    assert outcome.redirects == 2
    assert time.sleeps == [0.25, 0.25]


async def test_a_hop_waits_out_its_own_origins_cooldown(router) -> None:
    """A redirect to an origin cooling down waits for it; the first origin was free."""
    _chain(router)
    time = FakeTime()
    gate = HostGate(None, clock=time.clock, sleep=time.sleep)
    gate.cool_down(("https", "b.test", 443), 5.0)
    outcome = await _attempt(router, time=time, gate=gate)
    assert outcome.error is None and outcome.redirects == 2
    assert time.sleeps == [5.0]  # once: the second hop to b.test finds the cooldown over
    assert gate.tracked == 0


@pytest.mark.parametrize(
    ("start", "location", "kept"),
    [("https://a.test/", "/same", True), ("https://a.test/", "http://a.test/down", False),
     ("http://a.test/", "https://a.test/up", False),  # httpx itself keeps it on this one
     ("https://a.test/", "https://a.test:8443/port", False),
     ("https://a.test/", "https://b.test/other", False)],
)  # fmt: skip
async def test_authorization_stays_with_its_origin(router, start, location, kept) -> None:
    """-u goes to the origin asked for only: another scheme, port or host gets no
    Authorization."""
    router.get(start).respond(302, headers={"Location": location})
    landing = router.route(url=httpx.URL(start).join(location)).respond(200)
    config = Config(request=RequestConfig(user=("alice", "secret")))
    outcome = await _attempt(router, config, url=start)
    assert outcome.redirects == 1
    assert ("authorization" in landing.calls.last.request.headers) is kept


async def test_a_failing_hop_names_the_redirect_it_was_following(router) -> None:
    """The network failing on the way to a redirect's target: no response, the hop's URL,
    the redirects so far, the failure classified."""
    router.get("https://a.test/").respond(302, headers={"Location": "https://b.test/x"})
    router.get("https://b.test/x").mock(side_effect=httpx.ConnectError("refused"))
    outcome = await _attempt(router)
    assert (outcome.response, outcome.hop_url, outcome.redirects) == (None, "https://b.test/x", 1)
    assert outcome.failure is not None and outcome.failure.kind == "connect"


async def test_a_retryable_status_ends_the_attempt_before_its_body(router) -> None:
    """With retries left, a 503 is not read: no body, nobody given it, a retry asked for
    after the server's Retry-After (and the origin cools down meanwhile)."""
    router.get("https://a.test/").respond(503, headers={"Retry-After": "3"}, text="busy")
    time, consumer = FakeTime(), Consumer()
    gate = HostGate(None, clock=time.clock, sleep=time.sleep)
    outcome = await _attempt(router, time=time, gate=gate, consumer=consumer, may_retry=True)
    assert (outcome.retry, outcome.retry_after, outcome.body) == (True, 3.0, None)
    assert consumer.finished == []
    assert gate.tracked == 1  # a.test cools down for every request, not only this one
    last = await _attempt(router, time=time, gate=gate, consumer=consumer, may_retry=False)
    assert time.sleeps == [3.0]
    assert (last.retry, last.body is not None, consumer.finished) == (False, True, [True])


async def test_the_consumer_gets_the_body_up_to_the_cap(router) -> None:
    """--max-size 1000 on a 5000-byte body: 1000 bytes counted, given on, digested, and the
    consumer told the body is incomplete (so it keeps no file)."""
    router.get("https://a.test/").respond(200, content=b"x" * 5000)
    consumer = Consumer()
    keep = Keep(max_size=1000, digest=True)
    outcome = await _attempt(router, consumer=consumer, keep=keep)
    assert outcome.body is not None
    assert (outcome.body.bytes, outcome.body.truncated, outcome.body.saved_to) == (1000, True, None)
    assert b"".join(consumer.chunks) == b"x" * 1000
    assert consumer.finished == [False]
    assert outcome.body.sha256 == hashlib.sha256(b"x" * 1000).hexdigest()


async def test_a_whole_body_is_saved_and_digested(router) -> None:
    """A body under the cap: every byte to the consumer, its file named in the Body, the
    SHA-256 (--state's) of exactly those bytes."""
    body = bytes(range(256)) * 10
    router.get("https://a.test/").respond(200, content=body)
    consumer = Consumer()
    outcome = await _attempt(router, consumer=consumer, keep=Keep(digest=True))
    assert outcome.body is not None
    assert (outcome.body.bytes, outcome.body.saved_to) == (len(body), "saved/here")
    assert b"".join(consumer.chunks) == body
    assert outcome.body.sha256 == hashlib.sha256(body).hexdigest()


async def test_too_many_redirects_end_the_attempt(router) -> None:
    """--max-redirects 1: the second 3xx is an error of kind `redirects`, after one hop."""
    for hop in range(3):
        router.get(f"https://a.test/{hop}").respond(302, headers={"Location": f"/{hop + 1}"})
    config = Config(request=RequestConfig(max_redirects=1))
    outcome = await _attempt(router, config, url="https://a.test/0")
    assert outcome.redirects == 1
    assert outcome.failure is not None and outcome.failure.kind == "redirects"


async def test_the_body_meter_counts_bytes_and_settles_what_a_body_owed(router) -> None:
    """Each body adds its Content-Length to what is expected and its bytes to what was read;
    once it ends, it owes nothing more, whether it came whole or cut by --max-size."""
    router.get("https://a.test/").respond(200, content=b"x" * 5000)
    meter = BodyMeter()
    await _attempt(router, meter=meter)
    assert (meter.read, meter.expected) == (5000, 5000)
    await _attempt(router, meter=meter, keep=KEEP_DEFAULTS._replace(max_size=1000))
    assert (meter.read, meter.expected) == (6000, 6000)
