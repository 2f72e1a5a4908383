"""Requests from data against URL lines: 10,000 JSON request rows (POST with a small JSON body)
beside 10,000 plain URL lines (GET) to the same local nginx location, which answers every method
with the same 512 bytes, in one run; fetchcli -c 20 pinned to one core.

Rounds are interleaved; every run is verified (each URL 200 with 512 bytes, nginx served one
request per URL). Writes docs/benchmarks-rows.md.

  benchmarks/.venv/bin/python benchmarks/rows.py [--runs N] [--count N]
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import bench
import cores

URL_LINES = cores.Contender(
    "URL lines (GET)", cores.ONE_CORE, cores._fetchcli("-c", "20"), cores.parse_jsonl
)
JSON_ROWS = cores.Contender(
    "JSON rows (POST, a JSON body, an id)",
    cores.ONE_CORE,
    cores._fetchcli("-c", "20"),
    cores.parse_jsonl,
)


def write_lists(count: int) -> tuple[Path, Path]:
    url = f"http://127.0.0.1:{bench.PORT}/api"
    lines, rows = bench.WORK / f"api-lines-{count}.txt", bench.WORK / f"api-rows-{count}.jsonl"
    lines.write_text("".join(f"{url}?i={i}\n" for i in range(count)))
    rows.write_text(
        "".join(
            json.dumps(
                {
                    "url": f"{url}?i={i}",
                    "method": "POST",
                    "json": {"i": i, "name": f"user {i}"},
                    "id": i,
                }
            )
            + "\n"
            for i in range(count)
        )  # fmt: skip
    )
    return lines, rows


def main() -> None:
    args = cores.one_host_arguments(__doc__, "benchmarks-rows.md", runs=5)
    bench.start_nginx()
    try:
        lines, rows = write_lists(args.count)
        results = {URL_LINES.name: cores.Result(URL_LINES), JSON_ROWS.name: cores.Result(JSON_ROWS)}
        for round_number in range(args.runs):
            for contender, listing in ((URL_LINES, lines), (JSON_ROWS, rows)):
                run = cores.run_once(contender, listing, args.count)
                results[contender.name].runs.append(run)
                shown = run.problem or (
                    f"{args.count / run.wall:,.0f} req/s, "
                    f"{run.cpu / args.count * 1e6:.0f} µs CPU/request"
                )
                print(f"  [round {round_number + 1}] {contender.name}: {shown}", flush=True)
    finally:
        bench.stop_nginx()
    plain, data = results[URL_LINES.name], results[JSON_ROWS.name]
    lines_out = [
        "# Requests from data",
        "",
        f"Written by `benchmarks/rows.py` on {time.strftime('%Y-%m-%d')}: {args.count:,} "
        f"requests to one local nginx location answering 512 bytes (pinned to CPU "
        f"{bench.SERVER_CPU}), fetchcli `-c 20` pinned to CPU {cores.ONE_CORE}, median of "
        f"{args.runs} interleaved rounds, Python {platform.python_version()}. Every run "
        "verified (each request 200 with 512 bytes, one request per line).",
        "",
        "| input | req/s median | CPU µs/request | verified |",
        "|---|---:|---:|---|",
    ]
    for result in (plain, data):
        cpu = result.median("cpu") / args.count * 1e6
        lines_out.append(
            f"| {result.contender.name} | {result.rate(args.count):,.0f} | {cpu:.0f} | "
            f"{len(result.good())}/{len(result.runs)} |"
        )
    ratio = data.rate(args.count) / plain.rate(args.count) if plain.rate(args.count) else 0.0
    lines_out += ["", f"JSON rows reach {ratio:.2f}× the req/s of URL lines (target ≥ 0.9×)."]
    print("\n".join(lines_out))
    args.out.write_text("\n".join(lines_out) + "\n")
    if not plain.good() or not data.good():
        sys.exit(1)


if __name__ == "__main__":
    main()
