"""The pure parsers of option values (`10MB`, `600/m`, `2/8`, `Name: value`...): text in, a
value out, or ValueError with a message meant for the user."""

from __future__ import annotations

import re

from fetchcli.settings.model import MaxFailures, Shard
from fetchcli.settings.urls import url_problem

# Patterns are compiled at their first use (re caches them): most runs give no such flag.
_SIZE = r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$"
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip


def parse_size(text: str) -> int:
    """A byte count: kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.

    >>> parse_size("100MB"), parse_size("1KiB"), parse_size("512"), parse_size("1.5kB")
    (100000000, 1024, 512, 1500)
    """
    match = re.match(_SIZE, text, re.IGNORECASE)
    unit = match[2].lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (try 500kB, 10MB, 1GiB)")
    size = int(float(match[1]) * _SIZE_UNITS[unit])
    if size <= 0:
        raise ValueError(f"must be more than 0: {text!r}")
    return size


_RATE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(text: str) -> float:
    """Requests per second from `10`, `10/s`, `600/m` or `3600/h`.

    >>> parse_rate("600/m"), parse_rate("10"), parse_rate("2.5/s")
    (10.0, 10.0, 2.5)
    """
    count, _, unit = text.strip().partition("/")
    try:
        rate = float(count) / _RATE_UNITS[unit.strip().lower() or "s"]
    except (ValueError, KeyError):
        raise ValueError(f"not a rate: {text!r} (try 10, 10/s, 600/m)") from None
    if not rate > 0 or rate == float("inf"):
        raise ValueError(f"must be more than 0: {text!r}")
    return rate


def parse_shard(text: str, base: int = 1) -> Shard:
    """`I/N`: keep shard I of N, 1 <= I <= N; with `base` 0, 0 <= I < N (the numbering of
    Kubernetes' JOB_COMPLETION_INDEX, or a Slurm array from 0), so an engine's own index goes
    in as it is.

    >>> parse_shard("2/8"), parse_shard("0/8", base=0)
    (Shard(index=2, count=8), Shard(index=1, count=8))
    """
    index, slash, count = text.partition("/")
    try:
        shard = Shard(int(index) - base + 1, int(count))
    except ValueError:
        shard = None
    if not slash or shard is None or not 1 <= shard.index <= shard.count:
        last = "N" if base == 1 else "N-1"
        raise ValueError(f"must be I/N with {base} <= I <= {last}, got {text!r}")
    return shard


_HEADER_NAME = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` into a pair; CR or LF anywhere is refused (header injection).

    >>> parse_header("X-Token:  abc ")
    ('X-Token', 'abc')
    """
    if "\r" in text or "\n" in text:
        raise ValueError(f"contains CR or LF: {text!r}")
    name, colon, value = text.partition(":")
    if not colon or not re.match(_HEADER_NAME, name.strip()):
        raise ValueError(f"must be 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def parse_max_failures(text: str) -> MaxFailures:
    """`N` URLs or `P%` of them.

    >>> parse_max_failures("10"), parse_max_failures("2.5%")
    (MaxFailures(count=10, percent=None), MaxFailures(count=0, percent=2.5))
    """
    number, percent, rest = text.strip().partition("%")
    try:
        if percent and not rest and 0 <= float(number) <= 100:
            return MaxFailures(percent=float(number))
        if not percent and int(number) >= 0:
            return MaxFailures(count=int(number))
    except ValueError:
        pass
    raise ValueError(f"must be a number of URLs (10) or a percentage (5%), got {text!r}")


def parse_user(text: str) -> tuple[str, str]:
    """`USER:PASS` (the password may be empty or contain colons).

    >>> parse_user("alice:s:e:c")
    ('alice', 's:e:c')
    """
    user, colon, password = text.partition(":")
    if not colon or not user:
        raise ValueError("must be USER:PASS")
    return user, password


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\"}


def parse_separator(text: str) -> bytes:
    """Unescape `\\n`, `\\t`, `\\r`, `\\0` and `\\\\`; anything else stays as written.

    >>> parse_separator(r"\\n--\\n"), parse_separator(r"\\0"), parse_separator(r"a\\qb")
    (b'\\n--\\n', b'\\x00', b'a\\\\qb')
    """
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text).encode()


_LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
# The labels of fetchcli's own series (output/metrics.py), and those Prometheus attaches to
# every series it scrapes: a --metrics-label of one of these names would clash with them.
METRICS_OWN_LABELS = ("result", "kind", "code", "reason", "le")
SCRAPE_LABELS = ("job", "instance")


def parse_metrics_label(text: str) -> tuple[str, str]:
    """`KEY=VALUE`, a label for every series of --metrics; KEY a Prometheus label name that
    is not taken, VALUE any text (empty: no such label, as Prometheus reads an empty one).

    >>> parse_metrics_label("site=eu-1"), parse_metrics_label("run=")
    (('site', 'eu-1'), ('run', ''))
    """
    name, equals, value = text.partition("=")
    if not equals:
        raise ValueError(f"must be KEY=VALUE, got {text!r}")
    if not re.fullmatch(_LABEL_NAME, name):
        raise ValueError(
            f"{name!r} is not a Prometheus label name (letters, digits and _, not first a digit)"
        )
    if name.startswith("__"):
        raise ValueError(f"{name!r}: names starting with __ are Prometheus' own")
    if name in METRICS_OWN_LABELS:
        raise ValueError(f"{name!r} is a label of fetchcli's own series: pick another name")
    if name in SCRAPE_LABELS:
        raise ValueError(f"{name!r} is attached by Prometheus when it scrapes: pick another name")
    return name, value


def parse_proxy(text: str) -> str:
    """An http(s) proxy URL, checked; without a scheme it is http, as with curl -x and the
    proxy variables.

    >>> parse_proxy("http://proxy.local:3128"), parse_proxy("proxy.local:3128")
    ('http://proxy.local:3128', 'http://proxy.local:3128')
    """
    if "://" not in text:
        text = f"http://{text}"
    problem = url_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


def parse_method(method: str) -> str:
    """An HTTP method token, upper-cased.

    >>> parse_method("post")
    'POST'
    """
    token = method.upper()
    if not token or not all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in token):
        raise ValueError(f"not an HTTP method: {method!r}")
    return token
