"""Where a request's instructions go: fetchcli's layers added one at a time on the one-host list,
each counted by callgrind (instructions of a 2,000-URL run less a one-URL run, per URL, with
PYTHONHASHSEED=0, so the figures repeat whatever else the machine does), on the local nginx of
bench.py, -c 20, the curl transport.

  transport  the curl transport alone (fetchcli's httpx request, the httpx response, the body
             read to its end) driven by 20 bare coroutines
  fetch      engine.run: the feed and workers, the attempt, the body read and snippet, the Result
  record     + Result.to_record()
  json       + the JSON line written and flushed
  input      + reading and checking the list (sources.targets)
  command    the whole `fetchcli -q --no-progress -f jsonl -c 20 LIST`

Writes docs/benchmarks-layers.md. With --timed, also the CPU time per URL of the first and the
last row on one core (10,000 URLs less one, median of 5 interleaved rounds): the clock, which
drifts on this machine, beside the count, which does not.

    benchmarks/.venv/bin/python benchmarks/layers.py [--timed]
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import bench

STAGES = ("transport", "fetch", "record", "json", "input", "command")
CONCURRENCY = 20
BODY_BYTES = bench.SIZES["512.txt"]  # each URL verified: 200 with the whole body


def _transport(urls: list[str]) -> int:
    import httpx

    from fetchcli.http.dns import Resolver
    from fetchcli.http.messages import new_request
    from fetchcli.http.transports.curl.transport import CurlTransport
    from fetchcli.http.urls import parse_url

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    headers = httpx.Headers({"user-agent": "fetchcli", "accept-encoding": "gzip"})
    extensions: dict[str, object] = {
        "timeout": dict.fromkeys(("connect", "read", "write", "pool"), 10)
    }
    pending = iter(urls)
    ok = 0

    async def work(transport: CurlTransport) -> None:
        nonlocal ok
        for url in pending:
            response = await transport.handle_async_request(
                new_request("GET", parse_url(url), headers, extensions)
            )
            size = 0
            async for chunk in response.stream:  # type: ignore[union-attr]
                size += len(chunk)
            await response.stream.aclose()  # type: ignore[union-attr]
            ok += response.status_code == 200 and size == BODY_BYTES

    async def main() -> None:
        transport = CurlTransport(limits=limits, resolver=Resolver())
        await asyncio.gather(*(work(transport) for _ in range(CONCURRENCY)))
        await transport.aclose()

    asyncio.run(main())
    return ok


def _engine(stage: str, listing: Path) -> int:
    from fetchcli.input.sources import targets
    from fetchcli.models import Result, Target
    from fetchcli.output.sinks import JsonlSink
    from fetchcli.run import engine
    from fetchcli.settings.build import config_from

    config = config_from([str(listing)], {"concurrency": CONCURRENCY, "format": "jsonl"})
    if stage == "input":
        found = targets(config, sys.stdin.buffer)
    else:
        urls = listing.read_text().split()
        found = iter([Target(url, str(listing), i + 1, None, i) for i, url in enumerate(urls)])
    sink = JsonlSink(sys.stdout.buffer)  # a file, as the command's stdout is (_run)
    ok = 0

    def emit(result: Result) -> None:
        nonlocal ok
        ok += result.status == 200 and result.bytes == BODY_BYTES
        if stage == "record":
            result.to_record()
        elif stage in ("json", "input"):
            sink.write(result, result.to_record())

    asyncio.run(engine.run(found, config, emit, window=None))
    return ok


def child(stage: str, listing: Path) -> None:
    urls = listing.read_text().split()
    ok = _transport(urls) if stage == "transport" else _engine(stage, listing)
    if ok != len(urls):
        raise SystemExit(f"{stage}: {ok} of {len(urls)} answered 200 with {BODY_BYTES} bytes")


def _argv(stage: str, listing: Path) -> list[str]:
    if stage == "command":
        argv = [str(bench.VENV_BIN / "fetchcli"), "-q", "--no-progress", "-f", "jsonl", "-c"]
        return [*argv, str(CONCURRENCY), str(listing)]
    return [sys.executable, __file__, "--child", stage, str(listing)]


def _run(prefix: list[str], stage: str, listing: Path, env: dict[str, str]) -> str:
    """Runs a stage under `prefix` (valgrind, taskset); its stderr. The command's records are
    checked as the child stages check theirs: every URL 200 with the whole body."""
    out = bench.WORK / f"layers-{stage}-{listing.stem}.jsonl"
    with out.open("wb") as stdout:
        done = subprocess.run(
            [*prefix, *_argv(stage, listing)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
        )
    if stage == "command":
        count = len(listing.read_text().split())
        outcome = bench.parse_jsonl(out, out)
        if (outcome.ok, outcome.bytes) != (count, count * BODY_BYTES):
            raise SystemExit(f"command: {outcome} for {count} URLs of {BODY_BYTES} bytes")
    out.unlink()
    return done.stderr


def instructions(stage: str, listing: Path) -> int:
    out = bench.WORK / f"layers-{stage}-{listing.stem}.callgrind"
    prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    stderr = _run(prefix, stage, listing, {**os.environ, "PYTHONHASHSEED": "0"})
    out.unlink(missing_ok=True)
    found = re.search(r"Collected : (\d+)", stderr)
    assert found is not None, stderr[-500:]
    return int(found[1])


def _cpu_seconds(stage: str, listing: Path) -> float:
    before = os.times()
    _run(["taskset", "-c", bench.CLIENT_CPU], stage, listing, dict(os.environ))
    after = os.times()
    return (
        after.children_user + after.children_system - before.children_user - before.children_system
    )


def timed(lists: dict[int, Path], rounds: int = 5) -> dict[str, float]:
    """µs of CPU per URL for the bare transport and the whole command, on the client's core."""
    seconds: dict[str, list[float]] = {"transport": [], "command": []}
    count = len(lists[10_000].read_text().split())
    for _ in range(rounds):
        for stage, runs in seconds.items():
            whole, start = _cpu_seconds(stage, lists[10_000]), _cpu_seconds(stage, lists[1])
            runs.append((whole - start) / (count - 1) * 1e6)
    return {stage: statistics.median(runs) for stage, runs in seconds.items()}


def main() -> None:
    bench.start_nginx()
    try:
        lists = {}
        for count in (1, 2000, 10_000):
            lists[count] = bench.WORK / f"layers-{count}.txt"
            lists[count].write_text(
                "".join(f"http://127.0.0.1:{bench.PORT}/512.txt?i={i}\n" for i in range(count))
            )
        per_url = {}
        for stage in STAGES:
            per_url[stage] = (
                instructions(stage, lists[2000]) - instructions(stage, lists[1])
            ) / 1999
            print(f"{stage}: {per_url[stage] / 1000:,.0f} k instructions per URL", flush=True)
        cpu = timed(lists) if "--timed" in sys.argv else {}
    finally:
        bench.stop_nginx()
    lines = [
        "# Where a request's instructions go",
        "",
        f"Written by `benchmarks/layers.py` on {time.strftime('%Y-%m-%d')}: callgrind, "
        "instructions of a 2,000-URL run less a one-URL run, per URL, `PYTHONHASHSEED=0`, "
        f"512 B from one local nginx, `-c {CONCURRENCY}`, the curl transport.",
        "",
        "| layers | k instructions per URL | added by the last layer |",
        "|---|---:|---:|",
    ]
    previous = 0.0
    for stage in STAGES:
        lines.append(
            f"| {stage} | {per_url[stage] / 1000:,.0f} | {(per_url[stage] - previous) / 1000:+,.0f} |"
        )
        previous = per_url[stage]
    if cpu:
        lines += [
            "",
            f"On one core (`--timed`: 10,000 URLs less one, median of 5 rounds): the transport "
            f"alone {cpu['transport']:.0f} µs of CPU per URL, the whole command "
            f"{cpu['command']:.0f} µs.",
        ]
    stages = (__doc__ or "").split("\n\n")[1]
    lines += ["", "What each row runs:", "", "```", stages, "```"]
    text = "\n".join(lines) + "\n"
    print(text)
    (bench.ROOT / "docs" / "benchmarks-layers.md").write_text(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
