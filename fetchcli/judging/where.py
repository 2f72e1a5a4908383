"""--where EXPR: which records go to stdout, judged on the record as written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fetchcli.judging.expressions import ExpressionError, compile_expression
from fetchcli.judging.fields import WHERE_FIELDS

Record = dict[str, Any]


def record_filter(text: str) -> Callable[[Record], bool]:
    """A test of records: True where the expression is true. A record it cannot be evaluated
    on (`error.kind` on a record without an error) does not pass."""
    expression = compile_expression(text, WHERE_FIELDS)
    names = sorted(expression.names)

    def holds(record: Record) -> bool:
        try:
            return expression.evaluate({name: record.get(name) for name in names}) is True
        except ExpressionError:
            return False

    return holds
