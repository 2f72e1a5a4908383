"""dispatch: a fixed number of fetches at once over a lazy list, each Result emitted once, in
input order within the window (or as they finish), and what finished written when the run is
cut short."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from fetchcli.models import ErrorInfo, ErrorKind, Result, Target
from fetchcli.run.dispatch import dispatch, held_size
from fetchcli.run.reorder import Window

pytestmark = pytest.mark.anyio
WIDE = Window(max_bytes=1 << 30)


def _targets(count: int, pulled: list[int] | None = None) -> Iterator[Target]:
    for n in range(count):
        if pulled is not None:
            pulled.append(n)
        yield Target(f"https://a.test/{n}", "-", n + 1, index=n)


class Gates:
    """A fetch that finishes a target only once the test opens its gate, and an emit; both
    note what happened, and the test waits for what it expects."""

    def __init__(self) -> None:
        self.gates: dict[int, asyncio.Event] = {}
        self.started: list[int] = []
        self.emitted: list[int] = []
        self.in_flight = 0
        self._noted = asyncio.Event()

    def gate(self, index: int) -> asyncio.Event:
        return self.gates.setdefault(index, asyncio.Event())

    async def fetch(self, target: Target) -> Result:
        self.in_flight += 1
        self.started.append(target.index)
        self._noted.set()
        await self.gate(target.index).wait()
        self.in_flight -= 1
        self._noted.set()
        return Result(target, status=200)

    def emit(self, result: Result) -> None:
        self.emitted.append(result.target.index)
        self._noted.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):  # a guard: fails rather than hangs
            while not condition():
                self._noted.clear()
                await self._noted.wait()


async def test_results_come_out_in_input_order_however_they_finish() -> None:
    """Eight fetches finishing last to first: nothing is written until the first has
    finished, then all of them, first to last, each once."""
    gates = Gates()
    run = asyncio.create_task(
        dispatch(_targets(8), gates.fetch, gates.emit, concurrency=8, window=WIDE)
    )
    await gates.until(lambda: len(gates.started) == 8)
    for index in reversed(range(8)):
        gates.gate(index).set()
        await gates.until(lambda index=index: gates.in_flight == index)
        assert gates.emitted == ([] if index else list(range(8)))
    await run
    assert gates.emitted == list(range(8))


async def test_without_a_window_results_come_as_they_finish() -> None:
    """--order completion: each is written as soon as it finishes."""
    gates = Gates()
    run = asyncio.create_task(
        dispatch(_targets(3), gates.fetch, gates.emit, concurrency=3, window=None)
    )
    await gates.until(lambda: len(gates.started) == 3)
    for index in (2, 0, 1):
        gates.gate(index).set()
        await gates.until(lambda index=index: gates.emitted[-1:] == [index])
    await run
    assert gates.emitted == [2, 0, 1]


async def test_never_more_fetches_at_once_than_the_concurrency() -> None:
    """-c 4 over 100 URLs: four in flight at once, never more; the list is read a bounded
    way ahead of the fetches, not all at once."""
    fetching, peak, pulled = 0, 0, []

    async def fetch(target: Target) -> Result:
        nonlocal fetching, peak
        fetching += 1
        peak = max(peak, fetching)
        assert len(pulled) <= target.index + 4  # taken only as fetches start
        await asyncio.sleep(0)  # a turn for the others, as a real fetch would give them
        fetching -= 1
        return Result(target)

    emitted: list[Result] = []
    await dispatch(_targets(100, pulled), fetch, emitted.append, concurrency=4, window=WIDE)
    assert peak == 4
    assert [result.target.index for result in emitted] == list(range(100))


async def test_a_slow_head_holds_back_no_more_than_the_window() -> None:
    """-f body's window of 10 items: while the first URL hangs, nine more are fetched and no
    eleventh is taken; once it ends, the rest go through in order."""
    gates = Gates()
    for index in range(1, 50):
        gates.gate(index).set()
    window = Window(max_bytes=1 << 30, max_items=10)
    run = asyncio.create_task(
        dispatch(_targets(50), gates.fetch, gates.emit, concurrency=4, window=window)
    )
    await gates.until(lambda: 9 in gates.started and gates.in_flight == 1)  # the window is full
    assert sorted(gates.started) == list(range(10)) and gates.emitted == []
    gates.gate(0).set()
    await run
    assert gates.emitted == list(range(50))


async def test_a_cut_run_still_writes_what_finished_in_order() -> None:
    """Ctrl-C while the first URL hangs: the four that finished behind it are written, in
    order; the hanging one is not."""
    gates = Gates()
    for index in range(1, 5):
        gates.gate(index).set()
    run = asyncio.create_task(
        dispatch(_targets(5), gates.fetch, gates.emit, concurrency=5, window=WIDE)
    )
    await gates.until(lambda: len(gates.started) == 5 and gates.in_flight == 1)
    assert gates.emitted == []
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert gates.emitted == [1, 2, 3, 4]


async def test_a_failing_output_stops_the_run_with_its_own_error() -> None:
    """An emit that fails (a full disk under --records) ends the run with that error itself,
    not wrapped in an exception group."""

    async def fetch(target: Target) -> Result:
        return Result(target)

    def emit(result: Result) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await dispatch(_targets(10), fetch, emit, concurrency=3, window=WIDE)


def test_held_size_grows_with_what_a_result_holds() -> None:
    """A result held for input order is weighed by its texts, error and headers."""
    target = Target("https://a.test/", "-", 1)
    bare = held_size(Result(target))
    snippet = held_size(Result(target, snippet="x" * 1000))
    error = held_size(Result(target, error=ErrorInfo(ErrorKind.OTHER, "y" * 500)))
    headers = held_size(Result(target, headers=(("x-a", "z" * 200),)))
    assert (snippet - bare, error - bare, headers - bare) == (1000, 500, 303)
