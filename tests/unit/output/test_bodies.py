"""BodySink with in-memory streams: one body owns stdout, the rest spool, order is kept."""

from __future__ import annotations

import io

from fetchcli.models import Result, Target
from fetchcli.output.bodies import BodySink
from fetchcli.output.spool import MemoryBudget, Spool, SpoolStore


def _target(index: int) -> Target:
    return Target(f"https://h/{index}", "arg", None, index=index)


def _sink(
    ordered: bool = True, separator: bytes = b"", budget: int = 1 << 20
) -> tuple[BodySink, io.BytesIO]:
    out = io.BytesIO()
    return BodySink(
        out, separator=separator, ordered=ordered, on_closed=lambda: None, memory_budget=budget
    ), out


def test_head_streams_live_and_later_bodies_wait() -> None:
    """In input order the head writes as it arrives; a later body waits for its turn."""
    sink, out = _sink()
    head, later = sink.open(_target(0)), sink.open(_target(1))
    later.feed(b"LATER")
    head.feed(b"he")
    assert out.getvalue() == b"he"  # live, before the head finishes
    head.feed(b"ad")
    sink.write(Result(_target(0)), {})
    assert out.getvalue() == b"headLATER"  # the spool is flushed when its turn comes
    later.feed(b"+more")
    assert out.getvalue() == b"headLATER+more"  # and then it is live


def test_urls_without_a_body_pass_the_turn_on() -> None:
    """An error with no body (no writer) hands stdout to the next URL."""
    sink, out = _sink(separator=b"|")
    second = sink.open(_target(1))
    second.feed(b"B")
    sink.write(Result(_target(0)), {})
    sink.write(Result(_target(1)), {})
    assert out.getvalue() == b"B"


def test_completion_order_first_started_owns_stdout() -> None:
    """In completion order the first body to start streams; a finished one waits whole."""
    sink, out = _sink(ordered=False, separator=b"|")
    first, second = sink.open(_target(0)), sink.open(_target(1))
    first.feed(b"aa")
    second.feed(b"bb")
    sink.write(Result(_target(1)), {})  # second finishes first but first owns stdout
    assert out.getvalue() == b"aa"
    first.feed(b"AA")
    sink.write(Result(_target(0)), {})
    assert out.getvalue() == b"aaAA|bb"


def test_spools_overflow_to_temporary_files_past_the_budget() -> None:
    """Spools share a memory budget; past it they move to a temporary file, bytes intact."""
    budget, store = MemoryBudget(10), SpoolStore()
    spool = Spool(budget, store)
    spool.write(b"12345")
    assert budget.used == 5
    spool.write(b"67890abc")
    assert budget.used == 0  # moved to disk
    written: list[bytes] = []
    spool.drain(written.append)
    assert b"".join(written) == b"1234567890abc"
    assert store.size == 0  # nothing waits: the space is given back
    store.close()


def test_many_spools_share_two_files_and_keep_their_bytes() -> None:
    """Hundreds of bodies waiting at once, written in interleaved pieces, use at most two
    descriptors, and each drains byte for byte; the disk holds about what still waits."""
    store = SpoolStore(rotate_at=4096)
    spools = [Spool(MemoryBudget(0), store) for _ in range(300)]
    for piece in range(5):
        for number, spool in enumerate(spools):
            spool.write(f"<{number}:{piece}>".encode())
    assert store.descriptors <= 2
    for number, spool in enumerate(spools):
        written: list[bytes] = []
        spool.drain(written.append)
        assert b"".join(written) == b"".join(f"<{number}:{p}>".encode() for p in range(5))
        new = Spool(MemoryBudget(0), store)  # meanwhile others keep arriving
        new.write(b"x" * 100)
        new.close()
    assert store.descriptors <= 2
    assert store.size == 0
    store.close()


def test_closed_reader_is_reported_once_and_writes_stop() -> None:
    """A BrokenPipeError on stdout calls on_closed and further output is dropped."""

    class Closed(io.BytesIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            raise BrokenPipeError

    calls: list[bool] = []
    sink = BodySink(Closed(), separator=b"", ordered=True, on_closed=lambda: calls.append(True))
    writer = sink.open(_target(0))
    writer.feed(b"x")
    writer.feed(b"y")
    assert calls == [True]


def test_close_discards_unfinished_spools() -> None:
    """An interrupted run frees every spool (memory and temporary files)."""
    sink, out = _sink(budget=4)
    sink.open(_target(0))
    later = sink.open(_target(1))
    later.feed(b"0123456789")
    sink.close()
    assert sink.budget.used == 0
    assert out.getvalue() == b""


def test_a_nul_byte_makes_text_binary_for_the_snippet() -> None:
    """A text/plain body with a NUL in its head gets no snippet (it would be garbage); without
    one it does."""
    from fetchcli.fetching.snippet import SnippetCollector

    binary = SnippetCollector(40)
    binary.feed(b"GIF89a\x00\x01\x02 looks like text after")
    assert binary.snippet("text/plain", None) is None
    text = SnippetCollector(40)
    text.feed(b"plain words\x07 with a bell")
    assert text.snippet("text/plain", None) == "plain words with a bell"
