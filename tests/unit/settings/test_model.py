"""The settings' own rules: pool defaults that follow -c, a Config that never shows a password,
what `--transport auto` means."""

from __future__ import annotations

import pytest

from fetchcli.settings.model import PoolConfig, RequestConfig, Transport, choose_transport


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


@pytest.mark.parametrize("chosen", list(Transport))
def test_auto_transport_is_curl(chosen: Transport) -> None:
    """auto is curl for every run (the least CPU per request, HTTP/2 and HTTP/3 included); a
    transport named is kept."""
    expected = Transport.CURL if chosen is Transport.AUTO else chosen
    assert choose_transport(chosen) is expected
