"""Per-origin slots, cooldowns and the run-wide rate, with a fake clock: nothing really waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from fetchcli.fetching.attempt import _PACED_PIECE, _paced
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
    """With --per-host 2, a third request to the origin waits until one finishes, and then
    goes in: never more than two at once, the five served in the order they asked."""
    time = FakeTime()
    gate = HostGate(2, clock=time.clock, sleep=time.sleep)
    origin = ("https", "a.test", 443)
    releases = [asyncio.Event() for _ in range(5)]
    asked: list[int] = []
    entered: list[int] = []
    inside = peak = 0
    changed = asyncio.Condition()

    async def note(events: list[int], n: int) -> None:
        async with changed:
            events.append(n)
            changed.notify_all()

    async def until(condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(5), changed:  # a guard: a lost hand-over fails, not hangs
            await changed.wait_for(condition)

    async def request(n: int) -> None:
        nonlocal inside, peak
        await note(asked, n)  # then on into the gate without a pause: it waits there, or enters
        async with gate.slot(origin):
            inside += 1
            peak = max(peak, inside)
            await note(entered, n)
            await releases[n].wait()
            inside -= 1

    tasks = [asyncio.create_task(request(n)) for n in range(5)]
    await until(lambda: len(asked) == 5 and len(entered) >= 2)
    assert (entered, inside) == ([0, 1], 2)
    for n in range(3):
        releases[n].set()  # one leaves: the next in line enters
        await until(lambda n=n: len(entered) >= n + 3)
        assert (entered[-1], inside) == (n + 2, 2)
    for release in releases[3:]:
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
    """A request cancelled (Ctrl-C, --max-time) in the instant the slot is handed to it gives
    the slot back: the next request gets it."""
    time = FakeTime()
    gate = HostGate(1, clock=time.clock, sleep=time.sleep)
    origin = ("https", "a.test", 443)
    release = asyncio.Event()
    steps: list[str] = []
    changed = asyncio.Condition()
    waiting: list[asyncio.Task[None]] = []

    async def step(name: str) -> None:
        async with changed:
            steps.append(name)
            changed.notify_all()

    async def until(name: str) -> None:
        async with asyncio.timeout(5), changed:
            await changed.wait_for(lambda: name in steps)

    async def holder() -> None:
        async with gate.slot(origin):
            await step("holding")
            await release.wait()
        waiting[0].cancel()  # the slot is the waiter's now, and it has not run since

    async def waiter() -> None:
        await step("waiting")  # then on into the gate without a pause, where it waits
        async with gate.slot(origin):
            await step("entered")

    first = asyncio.create_task(holder())
    await until("holding")
    waiting.append(asyncio.create_task(waiter()))
    await until("waiting")
    release.set()
    await asyncio.gather(first, *waiting, return_exceptions=True)
    assert waiting[0].cancelled() and "entered" not in steps
    assert gate.tracked == 0
    async with asyncio.timeout(1):  # a guard: a leaked slot would make this wait for ever
        await waiter()
    assert "entered" in steps


async def test_a_byte_rate_pays_each_read_as_it_comes() -> None:
    """--limit-rate 1000 (bytes a second): the first read goes at once, each later one waits
    until the bytes before it have had their time, so reads of 500, 500, 2000 and 10 bytes
    wait 0, 0.5, 1.0 and 3.0 s: never a burst larger than one read."""
    time = FakeTime()
    bandwidth = RateLimiter(1000.0, clock=time.clock, sleep=time.sleep)
    for size in (500, 500, 2000, 10):
        await bandwidth.wait(size)
    assert time.sleeps == [0.5, 0.5, 2.0]  # waited at 0.5, 1.0 and 3.0
    assert time.now == 3.0 and bandwidth.limits
    assert not RateLimiter(None, clock=time.clock, sleep=time.sleep).limits


async def test_limit_rate_pays_for_a_big_read_piece_by_piece() -> None:
    """libcurl hands over up to 1 MiB in one read after a pause: paid for as one, it would
    pass unpaid at the end of a run (a 4 MB run at 2 MB/s once took 1.7 s, not 2)."""
    time = FakeTime()
    bandwidth = RateLimiter(1_000_000, clock=time.clock, sleep=time.sleep)

    async def one_read() -> AsyncIterator[bytes]:
        yield b"x" * (1024 * 1024)

    pieces = [piece async for piece in _paced(one_read(), bandwidth)]
    assert b"".join(pieces) == b"x" * (1024 * 1024)
    assert max(map(len, pieces)) == _PACED_PIECE
    assert time.now == pytest.approx((1024 * 1024 - _PACED_PIECE) / 1_000_000)
