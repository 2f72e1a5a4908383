"""A transfer's backpressure: libcurl is paused while its reader lags, at _PAUSE_AT bytes held,
or at _PAUSE_MIN once all the transfers together hold HELD_MAX: slow readers at a high
--concurrency hold an eighth of what they would at 1 MiB each."""

from __future__ import annotations

import asyncio

import httpx
import pycurl
import pytest

from fetchcli.http.transports.curl import transfer as module
from fetchcli.http.transports.curl.transfer import Transfer


class FakeCurl:
    def __init__(self) -> None:
        self.resumed = 0

    def pause(self, how: int) -> None:
        assert how == pycurl.PAUSE_CONT
        self.resumed += 1


class FakeMulti:
    """The Driver a transfer reports to; counts what its transfers hold."""

    def __init__(self) -> None:
        self.held = 0

    def stop(self, transfer: Transfer) -> None:
        pass

    def collect(self) -> None:
        pass

    def watch_reads(self, transfer: Transfer, timeout: float) -> None:
        pass

    def unwatch_reads(self, transfer: Transfer, timeout: float) -> None:
        pass


def _transfer(multi: FakeMulti) -> tuple[Transfer, FakeCurl]:
    curl = FakeCurl()
    request = httpx.Request("GET", "http://a.test/")
    made = Transfer(curl, request, None, asyncio.get_running_loop())  # type: ignore[arg-type]
    made.multi = multi
    return made, curl


def _fill(transfer: Transfer, size: int, chunk: int = 16 * 1024) -> int:
    """Writes `chunk`-byte pieces until libcurl is told to pause, or `size` bytes are in."""
    written = 0
    while written < size:
        if transfer.on_write(b"x" * chunk) == pycurl.WRITEFUNC_PAUSE:
            return written
        written += chunk
    return written


@pytest.mark.anyio
async def test_one_slow_reader_pauses_its_transfer_at_the_per_transfer_bound() -> None:
    multi = FakeMulti()
    transfer, curl = _transfer(multi)
    held = _fill(transfer, 8 * 1024 * 1024)
    assert held == module._PAUSE_AT and transfer.paused and multi.held == held
    assert len(transfer.take()) == held
    assert not transfer.paused and curl.resumed == 1 and multi.held == 0


@pytest.mark.anyio
async def test_many_slow_readers_hold_no_more_than_the_shared_bound_together() -> None:
    """50 transfers whose readers all lag: about 36 MiB held in all, not 50 MiB; each paused
    one goes on once its reader takes what it holds."""
    multi = FakeMulti()
    transfers = [_transfer(multi)[0] for _ in range(50)]
    for _ in range(3):  # libcurl writes to each in turn, as their sockets are ready
        for transfer in transfers:
            _fill(transfer, 8 * 1024 * 1024)
    assert multi.held <= 40 * 1024 * 1024  # 32 MiB, then 256 KiB for each of the rest
    assert multi.held == sum(transfer.held for transfer in transfers)
    assert all(transfer.paused for transfer in transfers)
    first = transfers[0]
    taken = len(first.take())
    assert taken > 0 and not first.paused and first.held == 0
    assert multi.held == sum(transfer.held for transfer in transfers)


@pytest.mark.anyio
async def test_a_transfer_that_holds_little_is_never_paused_by_the_others() -> None:
    """Its reader waits for it (or takes little at a time): pausing it would only make the
    reader wake for less, or never."""
    multi = FakeMulti()
    multi.held = 100 * 1024 * 1024  # the others hold far more than the bound
    transfer, _ = _transfer(multi)
    assert _fill(transfer, module._PAUSE_MIN, chunk=1024) == module._PAUSE_MIN
    assert not transfer.paused
    assert transfer.on_write(b"x") == pycurl.WRITEFUNC_PAUSE  # now it holds its share


@pytest.mark.anyio
async def test_a_body_cut_short_gives_back_what_it_held() -> None:
    multi = FakeMulti()
    transfer, _ = _transfer(multi)
    _fill(transfer, 64 * 1024)
    stream = module._CurlStream(transfer)
    transfer.release = lambda curl: None
    await stream.aclose()
    assert multi.held == 0
