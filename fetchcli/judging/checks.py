"""The checks a URL must pass: --check expressions and the shorthands, each with the name a
failure is reported under and what it saw.

A check's `failure()` is None when it holds, else what it saw, as the message says it:
`status == 200: status was 503`. The shorthands are Python (their regular expressions are
Python's, as --extract re: is); --check is CEL.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from fetchcli.judging.expressions import ExpressionError, brief, compile_expression
from fetchcli.judging.fields import CHECK_FIELDS
from fetchcli.judging.spec import StatusRange
from fetchcli.judging.view import Seen

_BODY = frozenset({"body", "json"})


class Check(Protocol):
    name: str  # as `checks` in the records and the metrics name it
    needs: frozenset[str]  # the fields it reads

    def failure(self, seen: Seen) -> str | None: ...


class ExpressionCheck:
    def __init__(self, text: str) -> None:
        self._expression = compile_expression(text, CHECK_FIELDS)
        self.name = text
        self.needs = self._expression.names
        self._names = sorted(self.needs)

    def failure(self, seen: Seen) -> str | None:
        fields = seen.fields(self._names)
        try:
            value = self._expression.evaluate(fields)
        except ExpressionError as exc:
            why = str(exc).split(". ")[0]
            said = self._said(fields)
            return f"{said} (cannot evaluate: {why})" if said else f"cannot evaluate: {why}"
        if value is True:
            return None
        if value is not False:
            said = self._said(fields)
            return f"is {brief(value)}, not a bool" + (f" ({said})" if said else "")
        return self._said(fields) or "false"

    def _said(self, fields: dict[str, Any]) -> str:
        """What the expression saw, as a failure says it: `status was 503, json was null`."""
        return ", ".join(f"{name} was {brief(fields[name])}" for name in self._names)


class StatusCheck:
    needs = frozenset({"status"})

    def __init__(self, ranges: tuple[StatusRange, ...], text: str = "", name: str = "") -> None:
        self._ranges = ranges
        self.name = name or f"--expect-status {text}"

    def failure(self, seen: Seen) -> str | None:
        status = seen.result.status
        if status is not None:
            for low, high in self._ranges:
                if low <= status <= high:
                    return None
        return f"status was {status}"


class BodyCheck:
    """--expect-body (the body must match) or --reject-body (it must not)."""

    needs = _BODY

    def __init__(self, pattern: str, *, expected: bool) -> None:
        self._pattern = re.compile(pattern)
        self._expected = expected
        self.name = f"--{'expect' if expected else 'reject'}-body {pattern}"

    def failure(self, seen: Seen) -> str | None:
        body: str = seen.field("body")
        match = self._pattern.search(body)
        if (match is not None) == self._expected:
            return None
        if match is None:
            return f"no match in {len(body)} characters of body"
        return f"body has {brief(match[0])}"


class HeaderCheck:
    needs = frozenset({"headers"})

    def __init__(self, name: str, pattern: str) -> None:
        self._header = name.lower()
        self._pattern = re.compile(pattern)
        self.name = f"--expect-header {name}: {pattern}"

    def failure(self, seen: Seen) -> str | None:
        value = seen.field("headers").get(self._header)
        if value is None:
            return f"no {self._header} header"
        if self._pattern.search(value):
            return None
        return f"{self._header} was {brief(value)}"


class SlowCheck:
    needs = frozenset({"elapsed"})

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self.name = f"--slow {seconds:g}"

    def failure(self, seen: Seen) -> str | None:
        elapsed = seen.result.elapsed
        return None if elapsed <= self._seconds else f"took {elapsed:.3f}s"


class CertificateCheck:
    """--cert-days N: an https response's certificate must have at least N days left (an
    http one has none to judge)."""

    needs = frozenset({"tls"})

    def __init__(self, days: float) -> None:
        self._days = days
        self.name = f"--cert-days {days:g}"

    def failure(self, seen: Seen) -> str | None:
        tls = seen.result.tls
        if tls is None:
            return (
                None
                if not seen.result.target.url.lower().startswith("https:")
                else ("no TLS information")
            )
        if tls.days_left is None:
            return "the certificate could not be read"
        if tls.days_left >= self._days:
            return None
        return f"the certificate expires in {tls.days_left:g} days ({tls.not_after})"


def reads_body(check: Check) -> bool:
    return bool(check.needs & _BODY)
