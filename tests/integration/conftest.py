"""Every integration test runs once per transport: the contract holds on each."""

from __future__ import annotations

import pytest

from tests.conftest import CliResult, RunCli


@pytest.fixture(params=["aiohttp", "httpcore", "curl"])
def run_cli(request: pytest.FixtureRequest, run_cli: RunCli) -> RunCli:
    def run(*args: str, **options: object) -> CliResult:
        return run_cli("--transport", request.param, *args, **options)

    return run
