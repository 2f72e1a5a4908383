"""What --state costs on a long list: three runs of fetchcli over the same list on the local
nginx of bench.py (which sends ETag and Last-Modified, and answers If-None-Match with 304).

  1. without --state (the baseline),
  2. --state on an empty file (the first night: every URL is new),
  3. --state again on that file (the nights after: every URL is asked "changed since?").

Each run is verified: every record is what it should be (200 and the file's bytes, `changed`
true on the first night; 304, no bytes, `changed` false after) and nginx served exactly one
request per URL. Reports wall time, req/s, peak RSS and the state file's size, and the ratio to
the baseline. Writes docs/benchmarks-state.md.

  benchmarks/.venv/bin/python benchmarks/state.py [--count N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import bench

FILE = "512.txt"


@dataclass(frozen=True)
class Measured:
    name: str
    wall: float
    rss_mb: float
    state_mb: float
    problem: str


def expected_record(night: int, record: dict[str, object]) -> bool:
    if night == 2:
        return record["status"] == 304 and record["bytes"] == 0 and record["changed"] is False
    good = record["status"] == 200 and record["bytes"] == bench.SIZES[FILE]
    return good and (night == 0 or record["changed"] is True)


def run(name: str, night: int, listing: Path, count: int, state: Path | None) -> Measured:
    flags = ["-f", "jsonl", "-c", "100", "--max-failures", "100%"]
    if state is not None:
        flags += ["--state", str(state)]
    argv = [str(bench.VENV_BIN / "fetchcli"), "-q", "--no-progress", *flags, str(listing)]
    before = bench.nginx_counters()
    with tempfile.NamedTemporaryFile(dir=bench.WORK) as out:
        started = time.perf_counter()
        proc = subprocess.Popen(["taskset", "-c", bench.CLIENT_CPU, *argv], stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        served = bench.nginx_counters()[1] - before[1] - 1
        good = 0
        with open(out.name) as lines:
            for line in lines:
                good += expected_record(night, json.loads(line))
    problems = []
    if os.waitstatus_to_exitcode(status) != 0:
        problems.append(f"exit {os.waitstatus_to_exitcode(status)}")
    if good != count or served != count:
        problems.append(f"{good} records as expected, {served} served, of {count}")
    state_mb = state.stat().st_size / 1e6 if state is not None else 0.0
    return Measured(name, wall, usage.ru_maxrss / 1024, state_mb, "; ".join(problems))


def report(count: int, results: list[Measured]) -> list[str]:
    base = results[0]
    lines = [
        "# What --state costs",
        "",
        f"Written by `benchmarks/state.py` on {time.strftime('%Y-%m-%d')}: {count:,} URLs of a "
        f"{bench.SIZES[FILE]}-byte file on one local nginx (ETag and Last-Modified on every "
        "response), `fetchcli -c 100 -f jsonl`, one core for the client and one for nginx, "
        f"Python {platform.python_version()}. Every record and nginx's request count verified.",
        "",
        "| run | wall s | req/s | × baseline time | peak RSS MB | state file MB | verified |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in results:
        lines.append(
            f"| {m.name} | {m.wall:.1f} | {count / m.wall:,.0f} | {m.wall / base.wall:.2f} | "
            f"{m.rss_mb:.0f} | {m.state_mb:.0f} | {m.problem or 'yes'} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=bench.ROOT / "docs" / "benchmarks-state.md")
    args = parser.parse_args()
    bench.WORK.mkdir(parents=True, exist_ok=True)
    bench.start_nginx()
    try:
        workload = bench.Workload("state", FILE, args.count)
        workload.write()
        state = bench.WORK / "state.db"
        for leftover in bench.WORK.glob("state.db*"):
            leftover.unlink()
        results = [
            run("without --state", 0, workload.path(), args.count, None),
            run("--state, first run (all new)", 1, workload.path(), args.count, state),
            run("--state, next run (all 304)", 2, workload.path(), args.count, state),
        ]
    finally:
        bench.stop_nginx()
    lines = report(args.count, results)
    print("\n".join(lines))
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
