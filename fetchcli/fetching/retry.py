"""The retry policy as pure functions: what to retry, how long to wait, what Retry-After says.

No clock and no sleeping here: the caller passes `now` and a random generator, so tests decide
time and chance.
"""

from __future__ import annotations

import email.utils
import random

from fetchcli.fetching.classify import Retry

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Statuses whose Retry-After also pauses every other request to the same origin.
COOLDOWN_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


def retryable_status(status: int, method: str) -> bool:
    """429, 502, 503, 504 are retried, but a non-idempotent request that got an answer is not.

    >>> retryable_status(503, "GET"), retryable_status(503, "POST"), retryable_status(500, "GET")
    (True, False, False)
    """
    return status in RETRY_STATUSES and method.upper() in IDEMPOTENT_METHODS


def retryable_failure(retry: Retry, method: str) -> bool:
    """A failure that left the request unsent is retried whatever the method; one that may have
    reached the server only for idempotent methods.

    >>> retryable_failure(Retry.UNSENT, "POST"), retryable_failure(Retry.IDEMPOTENT, "POST")
    (True, False)
    """
    if retry is Retry.UNSENT:
        return True
    return retry is Retry.IDEMPOTENT and method.upper() in IDEMPOTENT_METHODS


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempt-1))].

    >>> backoff(1, 0.5, 60, random.Random(1)) <= 0.5, backoff(500, 0.5, 60, random.Random(1)) <= 60
    (True, True)
    """
    exponent = min(max(attempt - 1, 0), 64)  # 2**64 * base is past any cap, and never overflows
    ceiling = min(cap, base * 2.0**exponent)
    return rng.uniform(0, ceiling)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date; None if absent
    or unreadable. `now` is the wall clock (time.time()).

    >>> retry_after("120", 0), retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40), retry_after("x", 0)
    (120.0, 60.0, None)
    """
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text)) if text.replace(".", "", 1).isdigit() else _until(text, now)
    except (TypeError, ValueError, OverflowError):
        return None


def _until(http_date: str, now: float) -> float:
    when = email.utils.parsedate_to_datetime(http_date)
    return max(0.0, when.timestamp() - now)
