"""The retry policy as pure functions: what is retried, backoff bounds, Retry-After."""

from __future__ import annotations

import email.utils
import random
import socket
import ssl

import httpx
import pytest

from fetchcli.fetching.classify import Retry, classify
from fetchcli.fetching.retry import backoff, retry_after, retryable_failure, retryable_status


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retry_statuses_for_idempotent_methods(status: int) -> None:
    """429, 502, 503 and 504 are retried for GET, never for POST or PATCH (it was sent)."""
    assert retryable_status(status, "GET")
    assert retryable_status(status, "put")
    assert not retryable_status(status, "POST")
    assert not retryable_status(status, "PATCH")


@pytest.mark.parametrize("status", [200, 301, 400, 404, 500, 501])
def test_other_statuses_are_final(status: int) -> None:
    """Anything else is the answer."""
    assert not retryable_status(status, "GET")


@pytest.mark.parametrize(
    ("exc", "get", "post"),
    [
        (httpx.ConnectError("refused"), True, True),
        (httpx.ConnectTimeout("slow"), True, True),
        (httpx.PoolTimeout("busy"), True, True),
        (httpx.ReadTimeout("slow"), True, False),
        (httpx.WriteTimeout("slow"), True, False),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), True, False),
        (httpx.ReadError("reset"), True, False),
        (httpx.LocalProtocolError("bad"), False, False),
        (httpx.TooManyRedirects("loop"), False, False),
        (ValueError("bug"), False, False),
    ],
)
def test_which_errors_are_retried(exc: Exception, get: bool, post: bool) -> None:
    """Connect errors always; maybe-sent errors only for idempotent methods; others never.
    The decision comes from the one classification of the exception."""
    assert retryable_failure(classify(exc).retry, "GET") is get
    assert retryable_failure(classify(exc).retry, "POST") is post


@pytest.mark.parametrize(
    "cause",
    [
        socket.gaierror(-2, "Name or service not known"),
        ssl.SSLCertVerificationError(1, "certificate verify failed"),
    ],
)
def test_dns_and_tls_failures_are_not_retried(cause: BaseException) -> None:
    """A name that does not resolve or a bad certificate is not worth a second try, even when
    it arrives as a connect error (which alone would be retried)."""
    try:
        raise httpx.ConnectError("x") from cause
    except httpx.ConnectError as exc:
        failure = classify(exc)
    assert failure.retry is Retry.NEVER
    assert not retryable_failure(failure.retry, "GET")


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    """Each wait is in [0, base * 2**(n-1)], capped; jitter spreads the waits."""
    rng = random.Random(7)
    for attempt in range(1, 8):
        waits = [backoff(attempt, 0.5, 60, rng) for _ in range(200)]
        ceiling = min(60, 0.5 * 2 ** (attempt - 1))
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8
        assert min(waits) < ceiling * 0.2


def test_backoff_never_overflows() -> None:
    """A huge attempt number clamps to the cap instead of raising OverflowError."""
    assert 0 <= backoff(10_000, 0.5, 30, random.Random(1)) <= 30


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("2.5", 2.5),
        (" 30 ", 30.0),
        ("-3", None),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    """Delay-seconds is read as a number; anything unreadable is ignored."""
    assert retry_after(value, now=1000.0) == expected


def test_retry_after_http_date() -> None:
    """An HTTP date gives the seconds from now until then; a past date gives 0."""
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 90, usegmt=True)
    earlier = email.utils.formatdate(now - 90, usegmt=True)
    assert retry_after(later, now) == pytest.approx(90, abs=1)
    assert retry_after(earlier, now) == 0.0
