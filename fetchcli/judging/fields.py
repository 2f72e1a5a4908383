"""The names an expression can use: --check's, over what was fetched, and --where's, over the
record written (--list-fields prints both)."""

from __future__ import annotations

# Every record's fields, in order, as models.Result.to_record() writes them (a test holds the
# two equal): named here so that --help, which parses no record, need not import the models.
RECORD_FIELDS = (
    "line", "source", "url", "method", "final_url", "status", "reason", "http_version",
    "remote_ip", "elapsed", "bytes", "content_type", "snippet", "attempts", "redirects",
    "truncated", "saved_to", "error",
)  # fmt: skip

# What --check sees: the response as fetched (strings sanitized as in the records).
CHECK_FIELD_HELP: dict[str, str] = {
    "url": "string: the URL fetched, password masked",
    "final_url": "string: after redirects",
    "status": "int: the final status",
    "reason": "string: its reason phrase",
    "http_version": 'string: "HTTP/1.1", "HTTP/2", "HTTP/3"',
    "elapsed": "double: seconds, first attempt to last byte",
    "bytes": "int: decoded body bytes read",
    "content_type": "string or null",
    "redirects": "int",
    "attempts": "int",
    "headers": 'map: response headers by lower-cased name (repeats joined by ", ")',
    "body": "string: the body as text, up to --max-size (held only when named)",
    "json": "the body parsed as JSON, null when it is not JSON (held only when named)",
    "extract": "map: the --extract values by name",
    "remote_ip": "string or null: the address the response came from",
    "timing": "map or null (with --timings): queue, dns, connect, tls, ttfb, total",
    "tls": "map or null (with --tls-info, https): version, cipher, subject, issuer, sans, "
    "not_before, not_after, days_left",
}
CHECK_FIELDS = frozenset(CHECK_FIELD_HELP)

# Fields a record has only with some options.
_OPTIONAL_RECORD_FIELDS = {
    "checks": "list: the checks that failed (with --check or a shorthand)",
    "extract": "map: the --extract values by name",
    "headers": "map: with --include-headers",
    "changed": "bool: with --state",
    "timing": "map: with --timings",
    "tls": "map: with --tls-info, for an https response",
}
WHERE_FIELD_HELP: dict[str, str] = {
    **dict.fromkeys(RECORD_FIELDS, "as in the records (README: Records)"),
    "error": 'null, or a map {"kind": ..., "message": ...}',
    **_OPTIONAL_RECORD_FIELDS,
}
WHERE_FIELDS = frozenset(WHERE_FIELD_HELP)
OPTIONAL_RECORD_FIELDS = frozenset(_OPTIONAL_RECORD_FIELDS)
RECORD_NAMES = frozenset(RECORD_FIELDS) | OPTIONAL_RECORD_FIELDS


def field_list() -> str:
    """What --list-fields prints."""
    lines = ["--check EXPR (CEL) can use:"]
    lines += [f"  {name:<13} {meaning}" for name, meaning in CHECK_FIELD_HELP.items()]
    lines += ["", "--where EXPR (CEL) can use the record's fields:"]
    lines += [f"  {name:<13} {meaning}" for name, meaning in WHERE_FIELD_HELP.items()]
    return "\n".join(lines) + "\n"
