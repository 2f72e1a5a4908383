"""What judging costs per request: fetchcli on the one-host list of a 512-byte JSON health
document (10,000 URLs on the local nginx of bench.py), client pinned to one core, with and
without checks and extraction, in one run.

  - no flags (the baseline, and the proof that nothing without them got slower: compare with
    docs/benchmarks-cores.md's `fetchcli -c 20`)
  - two shorthand checks: `--expect-status 2xx --expect-body RE`, and the issue's case, the
    same with `--timings`
  - two CEL checks, one of them on the parsed body: `--check 'status == 200'
    --check 'json.status == "UP"'`
  - one extraction: `--extract version=json:$.build.version`

Rounds are interleaved; every run is verified (each URL 200 with 512 bytes and no error, nginx
served one request per URL). Writes docs/benchmarks-judging.md.

  benchmarks/.venv/bin/python benchmarks/judging.py [--runs N] [--count N]
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import bench
import cores

DOCUMENT = "health.json"
SIZE = 512

CONTENDERS = [
    cores.Contender("no checks", cores.ONE_CORE, cores._fetchcli("-c", "20"), cores.parse_jsonl),
    cores.Contender(
        '--expect-status 2xx --expect-body \'"status": "UP"\'',
        cores.ONE_CORE,
        cores._fetchcli("-c", "20", "--expect-status", "2xx", "--expect-body", '"status": "UP"'),
        cores.parse_jsonl,
    ),
    cores.Contender(
        '--expect-status 2xx --expect-body \'"status": "UP"\' --timings',
        cores.ONE_CORE,
        cores._fetchcli(
            "-c", "20", "--expect-status", "2xx", "--expect-body", '"status": "UP"', "--timings"
        ),
        cores.parse_jsonl,
    ),
    cores.Contender(
        "--check 'status == 200' --check 'json.status == \"UP\"'",
        cores.ONE_CORE,
        cores._fetchcli("-c", "20", "--check", "status == 200", "--check", 'json.status == "UP"'),
        cores.parse_jsonl,
    ),
    cores.Contender(
        "--extract version=json:$.build.version",
        cores.ONE_CORE,
        cores._fetchcli("-c", "20", "--extract", "version=json:$.build.version"),
        cores.parse_jsonl,
    ),
]


def write_document(www: Path) -> None:
    """A health document of exactly SIZE bytes, as a service's /health might answer."""
    document = {"status": "UP", "build": {"version": "1.4.2"}, "checks": [], "pad": ""}
    text = json.dumps(document)
    document["pad"] = "x" * (SIZE - len(text))
    www.joinpath(DOCUMENT).write_text(json.dumps(document))
    assert www.joinpath(DOCUMENT).stat().st_size == SIZE


def report(count: int, results: list[cores.Result], runs: int) -> list[str]:
    base = results[0].median("cpu") / count * 1e6
    lines = [
        "# What judging costs",
        "",
        f"Written by `benchmarks/judging.py` on {time.strftime('%Y-%m-%d')}: {count:,} URLs of a "
        f"{SIZE}-byte JSON document on one local nginx (pinned to CPU {bench.SERVER_CPU}), "
        f"fetchcli `-c 20` pinned to CPU {cores.ONE_CORE}, median of {runs} interleaved "
        f"rounds, Python {platform.python_version()}, {os.cpu_count()} cores. Every run "
        "verified (each URL 200 with 512 bytes and no error, one request per URL).",
        "",
        "| flags | req/s median | CPU µs/request | against no checks | verified |",
        "|---|---:|---:|---:|---|",
    ]
    for result in results:
        cpu = result.median("cpu") / count * 1e6
        lines.append(
            f"| {result.contender.name} | {result.rate(count):,.0f} | {cpu:.0f} | "
            f"{cpu / base:.2f}× | {len(result.good())}/{len(result.runs)} |"
        )
    return lines


def main() -> None:
    args = cores.one_host_arguments(__doc__, "benchmarks-judging.md")
    bench.start_nginx()
    try:
        write_document(bench.WORK / "www")
        listing = bench.WORK / f"health-{args.count}.txt"
        listing.write_text(
            "".join(f"http://127.0.0.1:{bench.PORT}/{DOCUMENT}?i={i}\n" for i in range(args.count))
        )
        results = cores.measure(CONTENDERS, listing, args.count, args.runs)
    finally:
        bench.stop_nginx()
    cores.publish(report(args.count, results, args.runs), args.out, results)


if __name__ == "__main__":
    main()
