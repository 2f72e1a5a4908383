"""--extract NAME=SPEC: one value from each response. A spec that cannot apply (a body that is
not JSON, no match, no such header, no title) gives None, never an error."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from fetchcli.judging.expressions import json_path
from fetchcli.judging.view import Seen
from fetchcli.sanitize import collapse_whitespace, sanitize

_TITLE_BYTES = 256 * 1024  # a <title> is in the head: no need to parse a whole large page


class Extractor:
    def __init__(self, name: str, spec: str) -> None:
        self.name = name
        self._kind, _, self._argument = spec.partition(":")
        if self._kind == "json":
            self._query = json_path(self._argument)
            self._steps = _plain_steps(self._argument)
            self.needs = frozenset({"json"})
        elif self._kind == "re":
            self._pattern = re.compile(self._argument)
            self.needs = frozenset({"body"})
        elif self._kind == "header":
            self._header = self._argument.strip().lower()
            self.needs = frozenset({"headers"})
        else:
            self.needs = frozenset({"body"})

    def value(self, seen: Seen) -> Any:
        if self._kind == "json":
            if self._steps is not None:
                return _walked(self._steps, seen.field("json"))
            return _json_value(self._query, seen.field("json"))
        if self._kind == "re":
            match = self._pattern.search(seen.field("body"))
            if match is None:
                return None
            return match[1] if self._pattern.groups else match[0]
        if self._kind == "header":
            return seen.field("headers").get(self._header)
        return title_of(seen.field("body")[:_TITLE_BYTES])


_PLAIN_PATH = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _plain_steps(path: str) -> tuple[str | int, ...] | None:
    """The names and indices of a path like `$.build.version` or `$.items[0].id`, which
    select what walking them selects (a fifth of the library's time); None for anything else.

    >>> _plain_steps("$.items[0].id"), _plain_steps("$..id")
    (('items', 0, 'id'), None)
    """
    if not _PLAIN_PATH.fullmatch(path):
        return None
    return tuple(name if name else int(index) for name, index in _STEP.findall(path))


def _walked(steps: tuple[str | int, ...], document: Any) -> Any:
    for step in steps:
        if isinstance(step, str) and isinstance(document, dict):
            document = document.get(step)
        elif isinstance(step, int) and isinstance(document, list) and step < len(document):
            document = document[step]
        else:
            return None
        if document is None:
            return None
    return document


def _json_value(query: Any, document: Any) -> Any:
    """A singular query's value (`$.a.b`), else the list of what it selects (`$.items[*].id`)."""
    if document is None:
        return None
    nodes = query.find(document)
    if query.singular_query():
        return nodes[0].value if nodes else None
    return [node.value for node in nodes]


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.done = False
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "title" and not self.done:
            self.inside = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.inside:
            self.inside, self.done = False, True

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.parts.append(data)


def title_of(html: str) -> str | None:
    """The text of an HTML page's <title>, whitespace collapsed; None when there is none.

    >>> title_of("<html><head><title> A &amp; B\\n</title></head>"), title_of("no html")
    ('A & B', None)
    """
    parser = _TitleParser()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser on hostile markup
        pass
    if not parser.parts and not parser.done:
        return None
    return collapse_whitespace(sanitize("".join(parser.parts))).strip() or None
