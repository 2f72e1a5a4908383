"""The descriptor budget: what a run needs, and the pool lowered to fit a short limit."""

from __future__ import annotations

import errno
from dataclasses import replace
from pathlib import Path

import httpx

from fetchcli.fetching.classify import classify, describe
from fetchcli.fetching.descriptors import exhausted
from fetchcli.models import ErrorKind
from fetchcli.run.budget import FIXED, fit, needed
from fetchcli.settings.model import Config, OutputConfig, PoolConfig


def _config(concurrency: int, save: bool = False, **pool: int) -> Config:
    output = OutputConfig(save=Path("out") if save else None)
    return Config(pool=PoolConfig(concurrency=concurrency, **pool), output=output)


def test_a_run_that_fits_is_left_alone() -> None:
    """Enough descriptors: the config comes back as it was, with no warning."""
    config = _config(100)
    assert fit(config, needed(config)) == (config, None)


def test_the_idle_headroom_goes_before_the_concurrency() -> None:
    """A limit short of 2 x c: fewer connections, the same concurrency."""
    config, warning = fit(_config(100), FIXED + 150)
    assert (config.pool.concurrency, config.pool.connections) == (100, 150)
    assert warning is not None and "--concurrency" not in warning
    assert "--max-connections 150" in warning


def test_concurrency_is_lowered_when_it_must_be() -> None:
    """With --save each request may hold a socket and a file: both count."""
    config, warning = fit(_config(200, save=True, max_keepalive=300), FIXED + 100)
    assert (config.pool.concurrency, config.pool.connections, config.pool.keepalive) == (
        50,
        50,
        50,
    )
    assert needed(config) <= FIXED + 100
    assert warning == (
        f"the open-file limit is {FIXED + 100}: using --concurrency 50 --max-connections 50 "
        "(raise it with ulimit -n)"
    )


def test_a_tiny_limit_still_leaves_one_request() -> None:
    """Below the fixed part there is still one request in flight, never zero."""
    config, _ = fit(replace(_config(20)), 10)
    assert config.pool.concurrency == config.pool.connections == 1


def test_running_out_of_descriptors_is_io_not_connect() -> None:
    """EMFILE under an httpx error is kind io, with a message that names the open-file limit."""
    error = httpx.ConnectError("All connection attempts failed")
    error.__cause__ = OSError(errno.EMFILE, "Too many open files")
    assert exhausted(error)
    assert classify(error).kind is ErrorKind.IO
    assert "open-file limit (ulimit -n) is" in describe(error)
    assert not exhausted(httpx.ConnectError("refused"))
