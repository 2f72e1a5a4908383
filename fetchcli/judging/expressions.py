"""CEL expressions (--check, --where) and JSONPath queries (--extract json:), compiled once.

CEL is what Prometheus' blackbox_exporter and Kubernetes chose for such checks. The Rust-backed
`common-expression-language` evaluates one in ~30 µs where cel-python takes ~580 µs (measured
beside the project: four checks over one record); each library is imported only when an
option names it.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Names a macro binds (`[1, 2].exists(x, x > 1)`): CEL reports them as variables too.
_BOUND = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


class Expression:
    """One compiled expression and the fields it reads."""

    def __init__(self, text: str, allowed: frozenset[str]) -> None:
        self.text = text
        try:
            self._program = _cel().compile(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} does not compile: {_why(exc)}") from None
        bound = set(_BOUND.findall(text))
        self.names = frozenset(self._program.variables()) - bound
        unknown = sorted(self.names - allowed)
        if unknown:
            raise ValueError(
                f"{text!r} names {unknown[0]!r}, which is not a field (--list-fields lists them)"
            )

    def evaluate(self, fields: dict[str, Any]) -> Any:
        """The value, or raises ExpressionError naming what went wrong."""
        try:
            return self._program.execute(fields)
        except Exception as exc:  # the library's errors are ValueError, KeyError, TypeError...
            raise ExpressionError(_why(exc)) from None


class ExpressionError(Exception):
    """An expression that compiled but could not be evaluated on this record."""


def compile_expression(text: str, allowed: Iterable[str]) -> Expression:
    return _compiled(text, frozenset(allowed))


@functools.lru_cache(maxsize=256)  # the option check, --where, the run's checks: one compile
def _compiled(text: str, allowed: frozenset[str]) -> Expression:
    return Expression(text, allowed)


def json_path(text: str) -> Any:
    """A compiled JSONPath query (RFC 9535); ValueError naming the problem."""
    import jsonpath_rfc9535  # 70 ms: only for --extract json:

    try:
        return jsonpath_rfc9535.compile(text)
    except jsonpath_rfc9535.JSONPathError as exc:
        raise ValueError(f"bad JSONPath {text!r}: {exc}") from None


def brief(value: Any, limit: int = 60) -> str:
    """A value as a failure message shows it: JSON, cut at `limit` characters.

    >>> brief(503), brief("x" * 80)[-4:], brief({"status": "DOWN"})
    ('503', 'x...', '{"status": "DOWN"}')
    """
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # a circular structure cannot come from JSON; say what it is
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _why(exc: Exception) -> str:
    """The first line of a CEL error, without the library's preamble."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"no key {text}"
    line = text.splitlines()[0]
    if "ERROR: <input>:" in line:
        line = "at " + line.split("ERROR: <input>:", 1)[1].strip()
    return line if len(line) <= 160 else line[:157] + "..."


@functools.cache
def _cel() -> Any:
    """The `cel` package's Rust extension. The package's own `__init__` also imports its
    REPL (typer, prompt_toolkit, rich: ~450 ms), which fetchcli never uses, so the extension
    is loaded alone, under the name the package gives it (a later `import cel` reuses it)."""
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    spec = importlib.util.find_spec("cel")  # finds the package without running it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"cel{suffix}"
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
                module_spec = importlib.util.spec_from_loader("cel.cel", loader)
                assert module_spec is not None
                module = importlib.util.module_from_spec(module_spec)
                loader.exec_module(module)
                sys.modules["cel.cel"] = module
                return module
    import cel  # another layout: the package as it is

    return cel
