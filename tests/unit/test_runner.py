"""The runner's own decisions: how much waits behind a slow URL, and how output failures end a
run (a closed reader quietly, a full disk with one usage error)."""

from __future__ import annotations

import io
from dataclasses import replace

import httpx
import pytest
import respx

from fetchcli.errors import UsageError
from fetchcli.run.reorder import HELD_BYTES
from fetchcli.runner import run
from fetchcli.session import window_for
from fetchcli.settings.model import Config, Format, Order, OutputConfig, PoolConfig
from fetchcli.streams import Streams


@pytest.mark.parametrize(
    ("format", "order", "window"),
    [
        (Format.TABLE, Order.INPUT, None),  # sorted when drawn
        (Format.JSONL, Order.COMPLETION, None),
        (Format.JSONL, Order.INPUT, (HELD_BYTES, None)),
        (Format.BODY, Order.INPUT, (HELD_BYTES, 400)),  # bodies also bounded in number
    ],
)
def test_window_follows_format_and_order(format: Format, order: Order, window: object) -> None:
    """Records wait behind a slow URL up to a weight; bodies also up to 8 x -c of them."""
    config = Config(
        pool=PoolConfig(concurrency=50), output=OutputConfig(format=format, order=order)
    )
    found = window_for(config)
    assert (None if found is None else (found.max_bytes, found.max_items)) == window


def _transport() -> httpx.MockTransport:
    router = respx.Router()
    router.get(url__startswith="https://a.test/").respond(200, text="ok")
    return httpx.MockTransport(router.async_handler)


def _config(**output: object) -> Config:
    urls = tuple(f"https://a.test/{n}" for n in range(3))
    return Config(sources=urls, output=replace(OutputConfig(), **output))  # type: ignore[arg-type]


class _Closed(io.BytesIO):
    def write(self, data: bytes) -> int:  # type: ignore[override]
        raise BrokenPipeError


class _Full(io.BytesIO):
    def write(self, data: bytes) -> int:  # type: ignore[override]
        raise OSError(28, "No space left on device")


def test_a_reader_that_left_ends_the_run_quietly() -> None:
    """stdout closed by its reader (`| head`): no error, nothing on stderr, noted in the summary."""
    stderr = io.StringIO()
    summary = run(_config(), Streams(io.BytesIO(), _Closed(), stderr), transport=_transport())
    assert summary.stdout_closed
    assert stderr.getvalue() == ""


def test_output_that_cannot_be_written_is_one_usage_error() -> None:
    """A full disk under stdout stops the run with one message, not a traceback per record."""
    with pytest.raises(UsageError, match="cannot write output: No space left on device"):
        run(_config(), Streams(io.BytesIO(), _Full(), io.StringIO()), transport=_transport())
