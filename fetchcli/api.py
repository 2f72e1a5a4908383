"""fetchcli from Python: `fetch(urls, **options)` and `afetch(urls, **options)` yield the records
the command line writes as JSON lines, made by the same engine under the same Config.

Options are the long flags in snake_case (`concurrency=50`, `max_time=10`, `headers=["X-A: 1"]`,
`rate="600/m"`, `state="state.db"`); text is parsed as on the command line, and a bad value
raises ValueError naming the option, before anything is fetched. `urls` is read lazily, in a
thread, no further ahead than the records not yet taken allow: memory follows `concurrency`,
not the length of the list, and a slow consumer slows the fetching down. Neither Typer nor rich
is imported on this path.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from fetchcli.consumer import ConsumerFactory
from fetchcli.errors import UsageError
from fetchcli.input.sources import from_strings
from fetchcli.models import Record, Result, Target
from fetchcli.output.save import saver_for
from fetchcli.run import engine
from fetchcli.session import Session
from fetchcli.settings.build import OptionError, config_from
from fetchcli.settings.model import Config
from fetchcli.settings.spec import BY_NAME

__all__ = ["afetch", "fetch"]

_AHEAD = 1024  # records that may wait for the caller, besides those in flight
_HANDOFF = 64  # of them, handed to the caller's thread


def afetch(urls: Iterable[str | dict[str, Any]], **options: Any) -> AsyncIterator[Record]:
    """Fetch `urls` concurrently; an async iterator of records (dicts, as the JSON lines).
    Each item is a URL, or a request as a JSON request line holds it (`{"url": ...,
    "method": "POST", "json": {...}, "id": 7}`).

    Raises ValueError for a bad option at once. Leaving the loop early stops the fetching."""
    return _records(urls, _session(options))


def fetch(urls: Iterable[str | dict[str, Any]], **options: Any) -> Iterator[Record]:
    """Fetch `urls` concurrently; an iterator of records (dicts, as the JSON lines).

    Runs its own event loop in a thread of its own, also when this one already runs a loop
    (a notebook). Raises ValueError for a bad option at once."""
    return _blocking(afetch(urls, **options))


def _session(options: dict[str, Any]) -> Session:
    for option in options:
        why = BY_NAME[option].api if option in BY_NAME else None
        if why is not None:  # what the command line writes or decides for a person
            raise ValueError(f"{option}: not an option of fetchcli.fetch ({why})")
    try:
        session = Session(config_from((), {**options, "format": "jsonl"}))
    except OptionError as exc:
        raise ValueError(f"{exc.option}: {exc.problem}") from None
    except UsageError as exc:
        raise _value_error(exc) from None
    for warning in session.warnings:
        warnings.warn(warning, RuntimeWarning, stacklevel=3)
    return session


def _value_error(exc: UsageError) -> ValueError:
    """ "--save: cannot write to 'DIR': ..." -> "save: ..."."""
    flag_name, _, problem = str(exc).partition(": ")
    return ValueError(f"{flag_name.removeprefix('--').replace('-', '_')}: {problem}")


async def _records(urls: Iterable[str | dict[str, Any]], session: Session) -> AsyncIterator[Record]:
    config = session.config
    try:
        session.open_state()
    except UsageError as exc:
        raise _value_error(exc) from None
    ready: asyncio.Queue[Record | None] = asyncio.Queue()
    room = _Room(_AHEAD + 2 * config.pool.concurrency)

    def emit(result: Result) -> None:
        ready.put_nowait(session.record(result))

    run = asyncio.create_task(
        engine.run(
            room.admitted(from_strings(_checked(urls), config)),
            config,
            emit,
            window=session.window,
            consumer_for=_saver(config),
            conditional=session.conditional,
            blocking_input=True,  # the caller's iterable may block: read in a thread
            freeze=False,
        )
    )
    run.add_done_callback(lambda _: ready.put_nowait(None))
    try:
        while (record := await ready.get()) is not None:
            room.release()
            yield record
        await run  # its error, if it failed
    except UsageError as exc:  # the state file failed mid-run (a full disk)
        raise _value_error(exc) from None
    finally:
        room.close()
        if not run.done():
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
        try:
            session.close()
        except UsageError as exc:
            raise _value_error(exc) from None


def _saver(config: Config) -> ConsumerFactory | None:
    saver = saver_for(config.output)
    return None if saver is None else saver.open


def _checked(urls: Iterable[str | dict[str, Any]]) -> Iterator[str | dict[str, Any]]:
    if isinstance(urls, str):
        raise TypeError("urls: an iterable of URLs, not one string")
    for url in urls:
        if not isinstance(url, str | dict):
            raise TypeError(
                f"urls: each is a URL (str) or a request (dict), not {type(url).__name__}"
            )
        yield url


class _Room:
    """How many more targets may be taken from the caller's iterable: one per record the
    caller has not taken yet. Acquired in the input thread, released on the loop."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._slots = threading.Semaphore(size)
        self._closed = threading.Event()

    def admitted(self, targets: Iterator[Target]) -> Iterator[Target]:
        for target in targets:
            self._slots.acquire()
            if self._closed.is_set():
                return
            yield target

    def release(self) -> None:
        self._slots.release()

    def close(self) -> None:
        self._closed.set()
        self._slots.release(self._size)  # wake the input thread if it waits for room


def _blocking(records: AsyncIterator[Record]) -> Iterator[Record]:
    """Drive an async iterator from synchronous code: its event loop runs in a thread of its
    own for the whole iteration, so fetches go on (and deadlines mean what they say) while
    the caller works on a record. At most _HANDOFF records wait for the caller; past that the
    loop stops taking records, and the input stops being read (_Room)."""
    pump = _Pump(records)
    try:
        while True:
            kind, value = pump.handoff.get()
            if kind == "record":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        pump.stop()


class _Pump:
    """The thread that runs the loop and hands records over to the caller's thread."""

    def __init__(self, records: AsyncIterator[Record]) -> None:
        self.handoff: queue.Queue[tuple[str, Any]] = queue.Queue(_HANDOFF)
        self._records = records
        self._task: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None
        started = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._pump(started),), name="fetchcli", daemon=True
        )
        self._thread.start()
        started.wait()

    async def _pump(self, started: threading.Event) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._task = (asyncio.get_running_loop(), task)
        started.set()
        try:
            async for record in self._records:
                await self._hand_over(("record", record))
            await self._hand_over(("end", None))
        except asyncio.CancelledError:
            pass  # the caller left early
        except BaseException as exc:  # raised in the caller's thread
            await self._hand_over(("error", exc))

    async def _hand_over(self, item: tuple[str, Any]) -> None:
        try:
            self.handoff.put_nowait(item)
        except queue.Full:  # the caller is behind: wait for room without stopping the loop
            await asyncio.to_thread(self.handoff.put, item)

    def stop(self) -> None:
        """Cancel the run if it is still going, and wait for the thread to end."""
        assert self._task is not None
        loop, task = self._task
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop has just ended
                loop.call_soon_threadsafe(task.cancel)
        while self._thread.is_alive():  # a hand-over may wait for room: make some
            with contextlib.suppress(queue.Empty):
                self.handoff.get_nowait()
            self._thread.join(0.01)
