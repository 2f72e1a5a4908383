"""What a check or an extraction looks at for one URL, each field made only when one asks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from fetchcli.mime import charset_of, codec_of
from fetchcli.models import Result, merged_headers
from fetchcli.sanitize import shown

_STRINGS = ("url", "final_url", "reason", "content_type")  # made safe as the records make them
_NUMBERS = ("status", "http_version", "elapsed", "bytes", "redirects", "attempts")


class Seen:
    """One fetched URL: its Result, the final response's headers and the body held for it."""

    def __init__(
        self, result: Result, headers: Sequence[tuple[str, str]], body: bytes | None
    ) -> None:
        self.result = result
        self._headers = headers
        self._raw = body
        self._made: dict[str, Any] = {}
        self.extract: dict[str, Any] = {}

    def field(self, name: str) -> Any:
        if name not in self._made:
            self._made[name] = self._make(name)
        return self._made[name]

    def fields(self, names: Iterable[str]) -> dict[str, Any]:
        return {name: self.field(name) for name in names}

    @property
    def body_bytes(self) -> bytes:
        return self._raw or b""

    def _make(self, name: str) -> Any:
        result = self.result
        if name == "url":
            return shown(result.target.url)
        if name in _STRINGS:
            value = getattr(result, name)
            return None if value is None else shown(value)
        if name in _NUMBERS:
            return getattr(result, name)
        if name == "headers":
            return merged_headers(self._headers)
        if name == "body":
            return self.body_bytes.decode(codec_of(charset_of(result.content_type)), "replace")
        if name == "json":
            return _parsed(self.body_bytes)
        if name == "extract":
            return self.extract
        if name == "remote_ip":
            return result.remote_ip
        if name == "timing":
            return None if result.timing is None else result.timing.to_record()
        if name == "tls":
            return None if result.tls is None else result.tls.to_record()
        raise KeyError(name)


def _parsed(body: bytes) -> Any:
    """The body as JSON, or None: a check on a body that is not JSON fails, never crashes."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
        return None
