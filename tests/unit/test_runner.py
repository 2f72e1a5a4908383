"""The runner's own decisions: how output failures end a run (a closed reader quietly, a full
disk with one usage error). How much waits behind a slow URL is the session's:
tests/unit/test_session.py."""

from __future__ import annotations

import io
from dataclasses import replace

import httpx
import pytest
import respx

from fetchcli.errors import UsageError
from fetchcli.runner import run
from fetchcli.settings.model import Config, OutputConfig
from fetchcli.streams import Streams


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
