"""The run's Judge: extractions, then checks, on every URL that was fetched.

A URL whose fetch failed keeps its own error (nothing is judged on it); one that was fetched and
fails a check gets error kind `check`, the message naming each failed check and what it saw,
and `checks` in its record listing them. With checks, the status is one of them: the statuses
--expect-status names (a 404 it expects is a success), else `status < 400`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fetchcli.judging.checks import (
    BodyCheck,
    CertificateCheck,
    Check,
    ExpressionCheck,
    HeaderCheck,
    SlowCheck,
    StatusCheck,
    reads_body,
)
from fetchcli.judging.spec import JudgeSpec, parse_statuses
from fetchcli.judging.view import Seen
from fetchcli.models import ErrorInfo, ErrorKind, Result

if TYPE_CHECKING:
    from fetchcli.judging.extract import Extractor

_NOT_MODIFIED = 304  # --state's answer: no body to judge, only the status and headers


class Judge:
    def __init__(self, checks: Sequence[Check], extractors: Sequence[Extractor]) -> None:
        self._checks = tuple(checks)
        self._without_body = tuple(check for check in checks if not reads_body(check))
        self._extractors = tuple(extractors)
        needs: set[str] = set()
        for check in checks:
            needs |= check.needs
        for extractor in extractors:
            needs |= extractor.needs
        self.needs_body = bool(needs & {"body", "json"})
        # A URL's `checks` when every check holds: the fetcher builds its Result with these,
        # so that a pass (most URLs of a monitored list) needs no second Result.
        self.passed: tuple[str, ...] | None = () if self._checks else None
        self.needs_headers = "headers" in needs

    @classmethod
    def from_spec(cls, spec: JudgeSpec) -> Judge:
        checks: list[Check] = []
        checks += [HeaderCheck(name, pattern) for name, pattern in spec.expect_header]
        checks += [BodyCheck(pattern, expected=True) for pattern in spec.expect_body]
        checks += [BodyCheck(pattern, expected=False) for pattern in spec.reject_body]
        if spec.slow is not None:
            checks.append(SlowCheck(spec.slow))
        if spec.cert_days is not None:
            checks.append(CertificateCheck(spec.cert_days))
        checks += [ExpressionCheck(text) for text in spec.check]
        if spec.expect_status is not None:
            checks.insert(0, StatusCheck(parse_statuses(spec.expect_status), spec.expect_status))
        elif checks:
            checks.insert(0, StatusCheck(((100, 399),), name="status < 400"))
        return cls(checks, _extractors(spec))

    def judge(
        self, result: Result, headers: Sequence[tuple[str, str]], body: bytes | None
    ) -> Result:
        """`result` with its extractions and the verdict of the checks."""
        if result.error is not None or result.status is None:
            nothing = tuple((extractor.name, None) for extractor in self._extractors)
            return result.judged(self.passed, nothing if self._extractors else None, result.error)
        seen = Seen(result, headers, body)
        has_body = result.status != _NOT_MODIFIED
        extract = None
        if self._extractors:
            for extractor in self._extractors:
                value = extractor.value(seen) if has_body or "headers" in extractor.needs else None
                seen.extract[extractor.name] = value
            extract = tuple(seen.extract.items())
        # A 304 has no body to judge: the checks that read one are left out.
        checks = self._checks if has_body else self._without_body
        failed = [(check.name, why) for check in checks if (why := check.failure(seen)) is not None]
        if not failed:
            return result.judged(self.passed, extract, None)
        message = "; ".join(f"{name}: {why}" for name, why in failed)
        names = tuple(name for name, _ in failed)
        return result.judged(names, extract, ErrorInfo(ErrorKind.CHECK, message))


def _extractors(spec: JudgeSpec) -> list[Extractor]:
    """--extract's, their module (an HTML parser, JSONPath) imported only when one is asked."""
    if not spec.extract:
        return []
    from fetchcli.judging.extract import Extractor

    return [Extractor(name, text) for name, text in spec.extract]
