"""Shared fixtures: the local test server, an in-process CLI runner, a clean environment."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from fetchcli.cli.app import main
from fetchcli.streams import Streams

if TYPE_CHECKING:
    from tests.server import TestServer

_ENV_PREFIXES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_", "REQUESTS_CA")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A developer's proxy, CA bundle, FETCHCLI_* variables or config file must not change
    what the tests see: the config directory is an empty one of the test's own."""
    for name in list(os.environ):
        if name.upper().startswith((*_ENV_PREFIXES, "FETCHCLI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(autouse=True)
def _stop_started() -> Iterator[None]:
    yield
    from tests.helpers import stop_started

    stop_started()


@pytest.fixture(scope="session")
def _session_server() -> Iterator[TestServer]:
    from tests.server import TestServer

    server = TestServer()
    server.start()
    yield server
    server.stop()


ORIGINS = tuple(f"127.77.{n >> 8}.{n & 255}" for n in range(1, 257))


@pytest.fixture(scope="session")
def origins() -> Iterator[TestServer]:
    """One server on 256 loopback addresses (the whole of 127.0.0.0/8 is local): 256 origins,
    no DNS."""
    from tests.server import TestServer

    with TestServer(hosts=ORIGINS) as server:
        yield server


@pytest.fixture
def server(_session_server: TestServer) -> TestServer:
    """The real HTTP server on 127.0.0.1, with its counters zeroed for this test."""
    _session_server.reset()
    return _session_server


@dataclass
class CliResult:
    code: int
    stdout: bytes
    stderr: str
    records: list[dict[str, Any]] = field(default_factory=list)


def _records(stdout: bytes) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in stdout.splitlines() if line.strip()]
    except ValueError:
        return []


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli() -> RunCli:
    """Run fetchcli in-process with fake streams; by default insist on exit status 0."""

    def run(
        *args: str,
        stdin: bytes = b"",
        expect: int | None = 0,
        stdin_isatty: bool = False,
        stdout_isatty: bool = False,
        stderr_isatty: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        **facts: bool,  # more Streams facts: same_terminal, stdout_to_file, no_color
    ) -> CliResult:
        stdout, stderr = io.BytesIO(), io.StringIO()
        streams = Streams(
            stdin=io.BytesIO(stdin),
            stdout=stdout,
            stderr=stderr,
            stdin_isatty=stdin_isatty,
            stdout_isatty=stdout_isatty,
            stderr_isatty=stderr_isatty,
            width=120 if stdout_isatty else None,
            **facts,
        )
        code = main(list(args), streams, transport=transport)
        result = CliResult(code, stdout.getvalue(), stderr.getvalue(), _records(stdout.getvalue()))
        if expect is not None:
            assert code == expect, f"exit {code}, stderr: {result.stderr}"
        return result

    return run
