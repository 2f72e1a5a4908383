"""`--dry-run`: the input read and filtered exactly as a run would, and nothing sent. The
effective URLs go to stdout one per line, in input order; invalid lines are warnings on stderr
with their line numbers, then the number of URLs per host, busiest first."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import urlsplit

from fetchcli.input import sources
from fetchcli.models import Summary
from fetchcli.output.render import Reporter
from fetchcli.sanitize import shown
from fetchcli.settings.model import Config
from fetchcli.streams import Streams

HOSTS_SHOWN = 20  # the busiest; the rest are summed on one line


def _count(number: int, noun: str) -> str:
    """
    >>> _count(1, "URL"), _count(3, "host")
    ('1 URL', '3 hosts')
    """
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def dry_run(config: Config, streams: Streams) -> Summary:
    summary = Summary()
    reporter = Reporter(streams.stderr, is_terminal=streams.stderr_isatty, progress=False)
    hosts: Counter[str] = Counter()
    for target in sources.targets(config, streams.stdin, summary.skipped):
        if target.error is not None:
            where = "argument" if target.line is None else f"line {target.line} of {target.source}"
            reporter.warning(f"{where}: {target.error.kind}: {shown(target.error.message)}")
            continue
        if target.request is None:
            streams.stdout.write(f"{target.url}\n".encode())
        else:  # a data row: the request it expands to, as a line to feed back in
            row = json.dumps(target.request.as_row(target.url), ensure_ascii=False)
            streams.stdout.write(f"{row}\n".encode())
        hosts[urlsplit(target.url).hostname or ""] += 1
        summary.ok += 1
    streams.stdout.flush()
    skipped = sum(summary.skipped.values())
    reporter.line(
        f"fetchcli: dry run: {_count(summary.ok, 'URL')} on {_count(len(hosts), 'host')}"
        + (f", {skipped} skipped" if skipped else "")
        + "; nothing was fetched"
    )
    for host, count in hosts.most_common(HOSTS_SHOWN):
        reporter.line(f"{count:>8}  {shown(host)}")
    if len(hosts) > HOSTS_SHOWN:
        rest = hosts.total() - sum(n for _, n in hosts.most_common(HOSTS_SHOWN))
        reporter.line(f"{rest:>8}  ({len(hosts) - HOSTS_SHOWN} other hosts)")
    return summary
