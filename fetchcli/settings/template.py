"""--template: an RFC 6570 URL template (uritemplate, imported only for it), checked when the
option is parsed and filled by each input row (input/rows.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fetchcli.slots import frozen

LINE = "_"  # the template variable `{}` becomes (RFC 6570 has no empty name)
# RFC 6570 expressions: an operator, then variables with a prefix length or an explode
# (compiled by re at the first --template, not at every start).
_EXPRESSION = (r"\{([+#./;?&]?)([A-Za-z0-9_.%]+(?::[1-9]\d{0,3}|\*)?"
               r"(?:,[A-Za-z0-9_.%]+(?::[1-9]\d{0,3}|\*)?)*)\}")  # fmt: skip


class MissingValue(ValueError):
    """A row lacks a name the template needs."""


@frozen
class Template:
    """--template, checked and compiled once; `{}` stands for the whole input line."""

    text: str
    names: frozenset[str]
    _compiled: Any

    @classmethod
    def parse(cls, text: str) -> Template:
        """The template, or ValueError saying why it does not parse.

        >>> sorted(Template.parse("https://api.test/users/{id}{?q,page}").names)
        ['id', 'page', 'q']
        """
        from uritemplate import URITemplate  # only for --template

        rewritten = text.replace("{}", "{" + LINE + "}").replace("{+}", "{+" + LINE + "}")
        rest = re.sub(_EXPRESSION, "", rewritten)
        if "{" in rest or "}" in rest:
            raise ValueError(f"{text!r} is not an RFC 6570 template (a brace is unmatched, or "
                             "an expression is not {name}, {+name}, {?a,b}...)")  # fmt: skip
        compiled = URITemplate(rewritten)
        return cls(text, frozenset(compiled.variable_names), compiled)

    def expand(self, values: Mapping[str, Any]) -> str:
        missing = sorted(self.names - set(values))
        if missing:
            shown = "{}" if missing[0] == LINE else "{" + missing[0] + "}"
            raise MissingValue(f"no value for {shown} of --template")
        return str(self._compiled.expand({name: text_of(values[name]) for name in self.names}))


def text_of(value: Any) -> str:
    """A row's value as text: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
