"""The settings' own rules: pool defaults that follow -c, a Config that never shows a password,
what `--transport auto` means."""

from __future__ import annotations

import pytest

from fetchcli.settings.model import FEW_URLS, PoolConfig, RequestConfig, Transport, choose_transport


def test_pool_defaults_follow_concurrency() -> None:
    """max-connections defaults to 2 x concurrency, max-keepalive to max-connections."""
    assert PoolConfig(concurrency=7).connections == 14
    assert PoolConfig(concurrency=7).keepalive == 14
    assert PoolConfig(concurrency=7, max_connections=3).keepalive == 3
    assert PoolConfig(max_keepalive=0).keepalive == 0


def test_request_repr_hides_the_password() -> None:
    """A Config printed in a traceback or log never shows the -u password."""
    assert "s3cret" not in repr(RequestConfig(user=("alice", "s3cret")))
    assert "s3cret" not in repr(RequestConfig(proxy="http://alice:s3cret@proxy.local:3128"))


@pytest.mark.parametrize(
    ("sources", "http2", "chosen"),
    [(("urls.txt",), False, Transport.AIOHTTP),  # a list: the faster transport
     (("https://a.test/",), False, Transport.HTTPCORE),  # a one-off: no 0.1 s aiohttp import
     (tuple(f"https://a.test/{n}" for n in range(FEW_URLS)), False, Transport.AIOHTTP),
     (("urls.txt",), True, Transport.HTTPCORE)],  # only httpcore speaks HTTP/2
)  # fmt: skip
def test_auto_transport(sources: tuple[str, ...], http2: bool, chosen: Transport) -> None:
    assert choose_transport(Transport.AUTO, http2=http2, sources=sources) is chosen
    assert choose_transport(Transport.CURL, http2=http2, sources=sources) is Transport.CURL
