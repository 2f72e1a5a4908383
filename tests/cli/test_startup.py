"""A one-off fetch costs what it must: the modules it imports, and no TLS context for http."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server import TestServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]

# What the one-off run is checked for, in the process that ran it: each name imported or not,
# and how many TLS contexts were made (counted by wrapping ssl.SSLContext.__new__).
_PROBE = """
import json, ssl, sys
made = []
new = ssl.SSLContext.__new__
def counted(cls, *args, **kwargs):
    made.append(cls)
    return new(cls, *args, **kwargs)
ssl.SSLContext.__new__ = counted
from fetchcli.cli import main
status = main(sys.argv[1:])
names = ("pydantic", "aiohttp", "httpcore", "h2", "rich.console", "prometheus_client", "sqlite3",
         "aiodns", "pycares", "fetchcli.output.table", "cel.cel", "jsonpath_rfc9535",
         "cryptography", "fetchcli.judging.judge", "html.parser", "fetchcli.dryrun",
         "fetchcli.output.save", "fetchcli.output.failed", "fetchcli.output.metrics",
         "rich.cells", "rich", "csv", "fetchcli.http.transports.curl.errors",
         "fetchcli.input.records", "fetchcli.http.certificates", "fetchcli.output.bodies",
         "fetchcli.output.spool")
print(json.dumps({"status": status, "contexts": len(made),
                  "imported": sorted(n for n in names if n in sys.modules)}), file=sys.stderr)
"""


def _one_off(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "-q", "-f", "jsonl", *args],
        capture_output=True,
        timeout=60,
    )
    return json.loads(done.stderr.decode().splitlines()[-1])


def test_a_one_off_http_fetch_imports_no_pydantic_and_makes_no_tls_context(
    server: TestServer,
) -> None:
    """typer 0.29 imported pydantic for every start; aiohttp and httpcore are other
    transports; rich's console draws on a terminal, its table code only a table; c-ares is
    for names (the server's URL is an address); --metrics and --state are not asked, nor any
    check, extraction or --tls-info (CEL, JSONPath, cryptography, the handshake's records),
    bodies to stdout (-f body and its spool), --dry-run, --save,
    --failed-out, and no progress line (rich's cell widths); -q shows no summary (rich's byte
    sizes) and JSON lines need no csv; nothing failed (libcurl's error table) and nothing is
    merged (reading records back)."""
    probe = _one_off(f"{server.url}/ok")
    assert probe == {"status": 0, "contexts": 0, "imported": []}


_COLLECTOR_PROBE = """
import gc, json, sys
import typer.main
import fetchcli.runner
seen = {}
def noted(name, real):
    def call(*args, **kwargs):
        seen[name] = gc.isenabled()
        return real(*args, **kwargs)
    return call
typer.main.get_command = noted("starting", typer.main.get_command)
fetchcli.runner.run = noted("running", fetchcli.runner.run)
from fetchcli.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, **seen, "after": gc.isenabled()}), file=sys.stderr)
"""


def test_the_collector_is_off_while_starting_and_on_for_the_run(server: TestServer) -> None:
    """Start-up's collections (5 % of a one-off) are skipped; a long run's garbage is not."""
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTOR_PROBE, "-q", f"{server.url}/ok"],
        capture_output=True,
        timeout=60,
    )
    probe = json.loads(done.stderr.decode().splitlines()[-1])
    assert probe == {"status": 0, "starting": False, "running": True, "after": True}


def test_shorthand_checks_import_no_expression_language(server: TestServer) -> None:
    """A cron monitor's --expect-status and --expect-body are Python regular expressions:
    neither CEL, JSONPath nor an HTML parser is loaded for them."""
    probe = _one_off("--expect-status", "2xx", "--expect-body", "hello", f"{server.url}/ok")
    assert probe["status"] == 0
    assert not {"cel.cel", "jsonpath_rfc9535", "html.parser"} & set(probe["imported"])


def test_every_dataclass_has_a_docstring() -> None:
    """Python 3.11's @dataclass writes a missing docstring from inspect.signature at every
    start (21 classes without one cost about a millisecond of each run)."""
    missing = []
    for path in sorted((ROOT / "fetchcli").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef) or ast.get_docstring(node) is not None:
                continue
            if any("dataclass" in ast.unparse(decorator) for decorator in node.decorator_list):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert missing == []


def test_the_expression_fields_name_every_record_field() -> None:
    """judging/fields.py names the record's fields itself (--help then loads no models): they
    are the fields a record has, in its order."""
    from fetchcli.judging.fields import RECORD_FIELDS as named
    from fetchcli.models import RECORD_FIELDS

    assert named == RECORD_FIELDS


def test_help_loads_neither_the_models_nor_the_run() -> None:
    """--help reads the option table: no record models, no httpx, no event loop, no expression
    parsers and no JSON (--print-config's and the run's)."""
    probe = (
        "import sys\nfrom fetchcli.cli import main\nmain(['--help'])\n"
        "names = ('fetchcli.models', 'httpx', 'asyncio', 'fetchcli.runner',\n"
        "         'fetchcli.judging.expressions', 'json')\n"
        "print(sorted(n for n in names if n in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    assert b"Usage: fetchcli" in done.stdout
    assert done.stderr.decode().splitlines()[-1] == "[]"
