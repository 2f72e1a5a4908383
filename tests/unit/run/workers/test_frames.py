"""What the parent and its workers say to each other: batches of frames that come back as they
went, from a blocking stream or an asyncio one; a cut batch is the end, not garbage; Results
travel as their fields and come back equal; an Outbox sends one batch per event loop turn."""

from __future__ import annotations

import asyncio
import io
from dataclasses import fields

import pytest

from fetchcli.models import ErrorInfo, ErrorKind, Result, Target, Timing, TlsInfo
from fetchcli.run.workers.frames import (
    Frame,
    Outbox,
    encode,
    next_batch,
    read_batch,
    result_fields,
    result_from,
)

pytestmark = pytest.mark.anyio

TARGET = Target("https://a.test/x", "urls.txt", 7, index=3)
BATCHES: list[list[Frame]] = [
    [("T", "https://a.test/x", "urls.txt", 7, None), ("D", ("https", "a.test", 443), 5.0)],
    [("T", "https://b.test/", "-", None, {"If-None-Match": '"v1"'})],
    [("B", 0, 200, "text/plain"), ("C", 0, b"\x00\xffbody"), ("F", 0, True), ("L", "é -> 200")],
    [],
]


def _every_field_set() -> Result:
    """A Result whose every field differs from its default."""
    return Result(
        TARGET, final_url="https://a.test/y", status=404, reason="Not Found",
        http_version="HTTP/2", elapsed=1.25, bytes=12, content_type="text/html",
        snippet="nope", attempts=3, redirects=1, truncated=True, saved_to="/tmp/a",
        error=ErrorInfo(ErrorKind.TOO_LARGE, "body over --max-size"),
        headers=(("x-a", "1"), ("x-a", "2")), etag='"e"', last_modified="Mon", sha256="ab",
        checks=("status == 200",), extract=(("version", {"a": [1, "x"]}),),
        remote_ip="127.0.0.1", timing=Timing(queue=0.1, dns=0.2, total=1.25),
        tls=TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", "CN=a.test", sans=("a.test",)),
        method="POST", resumed_from=100,
    )  # fmt: skip


def test_batches_come_back_as_they_went_from_a_blocking_stream() -> None:
    stream = io.BytesIO(b"".join(encode(batch) for batch in BATCHES))
    assert [read_batch(stream) for _ in BATCHES] == BATCHES
    assert read_batch(stream) is None  # and the end is said as None


@pytest.mark.parametrize("cut", [1, 3, 4, 5, -1])
def test_a_cut_batch_is_the_end(cut: int) -> None:
    """A worker killed mid-write leaves part of a batch: the reader sees the end, never a
    half-read frame (cut inside the length, right after it, and inside the payload)."""
    whole = encode(BATCHES[0])
    stream = io.BytesIO(encode(BATCHES[1]) + whole[:cut])
    assert read_batch(stream) == BATCHES[1]
    assert read_batch(stream) is None


async def test_batches_come_back_as_they_went_from_an_asyncio_stream() -> None:
    reader = asyncio.StreamReader()
    data = b"".join(encode(batch) for batch in BATCHES)
    for start in range(0, len(data), 7):  # in pieces that split lengths and frames alike
        reader.feed_data(data[start : start + 7])
    reader.feed_data(encode(BATCHES[0])[:-2])
    reader.feed_eof()
    assert [await next_batch(reader) for _ in BATCHES] == BATCHES
    assert await next_batch(reader) is None  # the cut one at the end


def test_a_result_travels_as_its_fields_and_comes_back_equal() -> None:
    """Every field after the target, in order, through a real batch: the Result the parent
    rebuilds equals the worker's, whatever field is added to Result later."""
    result = _every_field_set()
    defaults = Result(TARGET)
    assert all(
        getattr(result, field.name) != getattr(defaults, field.name)
        for field in fields(Result)
        if field.name != "target"
    ), "the test's Result should set every field"
    [(kind, number, sent)] = read_batch(io.BytesIO(encode([("R", 0, result_fields(result))])))
    assert (kind, number) == ("R", 0)
    assert result_from(TARGET, sent) == result


async def test_an_outbox_sends_one_batch_per_loop_turn() -> None:
    """Frames sent in one turn of the loop go out as one batch, in order; the next turn's in
    another; nothing goes out while the turn lasts."""
    written: list[bytes] = []
    outbox = Outbox(written.append)
    outbox.send(("L", "one"))
    outbox.send(("L", "two"))
    assert written == []
    flushed = asyncio.Event()
    asyncio.get_running_loop().call_soon(flushed.set)  # after the outbox's own call_soon
    await flushed.wait()
    outbox.send(("L", "three"))
    outbox.flush()  # the end of a run says so itself
    outbox.flush()  # and an empty outbox writes nothing
    stream = io.BytesIO(b"".join(written))
    assert [read_batch(stream) for _ in written] == [[("L", "one"), ("L", "two")], [("L", "three")]]
    assert len(written) == 2
