"""Per-origin slots, cooldowns and the run-wide rate, with a fake clock: nothing really waits."""

from __future__ import annotations

import asyncio

import pytest

from fetchcli.fetching.politeness import HostGate, RateLimiter
from tests.fakes import FakeTime

pytestmark = pytest.mark.anyio


async def test_rate_spaces_starts_evenly() -> None:
    """At 4/s, ten starts are 0.25 s apart from the first: no burst at the beginning."""
    time = FakeTime()
    limiter = RateLimiter(4.0, clock=time.clock, sleep=time.sleep)
    starts = []
    for _ in range(10):
        await limiter.wait()
        starts.append(time.now)
    assert starts == pytest.approx([i * 0.25 for i in range(10)])


async def test_rate_holds_across_concurrent_callers() -> None:
    """Many workers asking at once still get evenly spaced starts."""
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    limiter = RateLimiter(10.0, clock=lambda: 0.0, sleep=record)  # all ask at the same instant
    await asyncio.gather(*(limiter.wait() for _ in range(5)))
    assert sorted(sleeps) == pytest.approx([0.1, 0.2, 0.3, 0.4])


async def test_per_host_limit_holds_and_releases() -> None:
    """With --per-host 2, a third request to the origin waits until one finishes."""
    time = FakeTime()
    gate = HostGate(2, clock=time.clock, sleep=time.sleep)
    origin = ("https", "a.test", 443)
    release = asyncio.Event()
    inside = 0
    peak = 0

    async def request() -> None:
        nonlocal inside, peak
        async with gate.slot(origin):
            inside += 1
            peak = max(peak, inside)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(request()) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert inside == 2
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2
    assert gate.tracked == 0  # nothing in flight: the origin is forgotten


async def test_other_origins_are_not_limited() -> None:
    """The limit is per origin: another host goes through."""
    time = FakeTime()
    gate = HostGate(1, clock=time.clock, sleep=time.sleep)
    async with gate.slot(("https", "a.test", 443)), gate.slot(("https", "b.test", 443)):
        assert gate.tracked == 2


async def test_cooldown_pauses_every_request_to_the_origin() -> None:
    """After a cooldown of 5 s, the next request to that origin waits 5 s; others do not."""
    time = FakeTime()
    gate = HostGate(None, clock=time.clock, sleep=time.sleep)
    origin = ("https", "a.test", 443)
    gate.cool_down(origin, 5.0)
    async with gate.slot(("https", "b.test", 443)):
        assert time.sleeps == []
    async with gate.slot(origin):
        assert time.sleeps == [5.0]
    assert gate.tracked == 0


async def test_state_stays_bounded_over_many_hosts() -> None:
    """A long list of distinct hosts leaves no per-origin state behind."""
    time = FakeTime()
    gate = HostGate(3, clock=time.clock, sleep=time.sleep)
    for i in range(10_000):
        async with gate.slot(("https", f"h{i}.test", 443)):
            pass
    assert gate.tracked == 0


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    """A request cancelled while waiting for a slot (Ctrl-C, --max-time) gives it back."""
    time = FakeTime()
    gate = HostGate(1, clock=time.clock, sleep=time.sleep)
    origin = ("https", "a.test", 443)
    holder_release = asyncio.Event()

    async def holder() -> None:
        async with gate.slot(origin):
            await holder_release.wait()

    async def waiter() -> None:
        async with gate.slot(origin):
            pass

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    holder_release.set()
    second.cancel()  # cancelled in the same instant the slot is handed to it
    await asyncio.gather(first, second, return_exceptions=True)
    assert gate.tracked == 0
    async with asyncio.timeout(1):
        await waiter()  # the slot is free again
