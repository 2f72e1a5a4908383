"""Requests per core, and every core: fetchcli beside the hand-written aiohttp client on the
one-host list (10,000 URLs of 512 B on the local nginx of bench.py), in one run.

  1. One core for the client (nginx on the other): fetchcli -c 20 and -c 100 against the
     hand-written aiohttp client at 20 and 100 workers; peak RSS; `fetchcli --version`.
  2. Both cores open to the client (nginx stays pinned to its own): fetchcli --workers 1 and
     --workers 2, -c 20 each; peak RSS summed over the process tree (sampled every 10 ms) and
     PSS (shared pages counted once).

Rounds are interleaved, so drift hits every contender alike. Every run is verified: each URL
answered 200 with 512 bytes and nginx served exactly one request per URL. Writes
docs/benchmarks-cores.md.

  benchmarks/.venv/bin/python benchmarks/cores.py [--runs N] [--count N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bench
from benchlib import WORKERS_SECTION

ONE_CORE, BOTH_CORES = bench.CLIENT_CPU, "0,1"


@dataclass(frozen=True)
class Contender:
    name: str
    cpus: str
    argv: Callable[[Path], list[str]]
    parse: Callable[[Path], tuple[int, int]]  # (URLs answered 200, body bytes)


def _fetchcli(*flags: str) -> Callable[[Path], list[str]]:
    binary = str(bench.VENV_BIN / "fetchcli")
    return lambda listing: [binary, "-q", "--no-progress", "-f", "jsonl", *flags, str(listing)]


def _aiohttp(workers: int) -> Callable[[Path], list[str]]:
    script = str(bench.HERE / "clients" / "aiohttp_workers.py")
    return lambda listing: [sys.executable, script, str(listing), str(workers)]


def parse_jsonl(out: Path) -> tuple[int, int]:
    outcome = bench.parse_jsonl(out, out)
    return outcome.ok, outcome.bytes


def parse_totals(out: Path) -> tuple[int, int]:
    _, ok, total = out.read_text().split()
    return int(ok), int(total)


ONE_CORE_CONTENDERS = [
    Contender("fetchcli -c 20", ONE_CORE, _fetchcli("-c", "20"), parse_jsonl),
    Contender("fetchcli -c 100", ONE_CORE, _fetchcli("-c", "100"), parse_jsonl),
    # Each transport on its own: what `auto` picks from.
    *(
        Contender(
            f"fetchcli -c 20 --transport {name}",
            ONE_CORE,
            _fetchcli("-c", "20", "--transport", name),
            parse_jsonl,
        )
        for name in ("curl", "aiohttp", "httpcore")
    ),
    Contender("aiohttp, 20 workers", ONE_CORE, _aiohttp(20), parse_totals),
    Contender("aiohttp, 100 workers", ONE_CORE, _aiohttp(100), parse_totals),
]
BOTH_CORES_CONTENDERS = [
    Contender("fetchcli --workers 1 -c 20", BOTH_CORES, _fetchcli("-c", "20"), parse_jsonl),
    Contender(
        "fetchcli --workers 2 -c 20",
        BOTH_CORES,
        _fetchcli("--workers", "2", "-c", "20"),
        parse_jsonl,
    ),
]


@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds of the process tree
    rss_mb: float  # peak of the summed RSS of the process tree
    pss_mb: float  # peak of the summed PSS
    problem: str


@dataclass
class Result:
    contender: Contender
    runs: list[Run] = field(default_factory=list)

    def good(self) -> list[Run]:
        return [run for run in self.runs if not run.problem]

    def rate(self, count: int) -> float:
        return statistics.median(count / run.wall for run in self.good()) if self.good() else 0.0

    def median(self, attr: str) -> float:
        values = [getattr(run, attr) for run in self.good()]
        return statistics.median(values) if values else 0.0


def _tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        with contextlib.suppress(OSError):  # it ended meanwhile
            queue += map(int, Path(f"/proc/{current}/task/{current}/children").read_text().split())
    return pids


def _kib(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory:
    """Samples the summed RSS and PSS of a process and its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss = self.pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            pids = _tree(self.pid)
            self.rss = max(self.rss, sum(_kib(f"/proc/{p}/status", "VmRSS:") for p in pids))
            self.pss = max(self.pss, sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_once(contender: Contender, listing: Path, count: int) -> Run:
    argv = contender.argv(listing)
    before = bench.nginx_counters()
    with tempfile.NamedTemporaryFile(dir=bench.WORK) as out:
        started = time.perf_counter()
        proc = subprocess.Popen(["taskset", "-c", contender.cpus, *argv], stdout=out)
        memory = TreeMemory(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        memory.stop()
        served = bench.nginx_counters()[1] - before[1] - 1
        ok, total = contender.parse(Path(out.name))
    rss = max(memory.rss, usage.ru_maxrss)  # a short run may end between two samples
    expected = (count, count * 512, count)
    problem = ""
    if os.waitstatus_to_exitcode(status) != 0 or (ok, total, served) != expected:
        problem = f"exit {os.waitstatus_to_exitcode(status)}, {(ok, total, served)} != {expected}"
    cpu = usage.ru_utime + usage.ru_stime  # the reaped workers' included
    return Run(wall, cpu, rss / 1024, memory.pss / 1024, problem)


def measure(contenders: list[Contender], listing: Path, count: int, runs: int) -> list[Result]:
    results = [Result(contender) for contender in contenders]
    for round_number in range(runs):
        for result in results:
            run = run_once(result.contender, listing, count)
            result.runs.append(run)
            shown = run.problem or (
                f"{count / run.wall:,.0f} req/s, {run.cpu / count * 1e6:.0f} µs CPU/request, "
                f"{run.rss_mb:.0f} MB"
            )
            print(f"  [round {round_number + 1}] {result.contender.name}: {shown}", flush=True)
    return results


def version_ms(runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            ["taskset", "-c", ONE_CORE, str(bench.VENV_BIN / "fetchcli"), "--version"],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def report(
    count: int, one: list[Result], both: list[Result], version: float, runs: int
) -> list[str]:
    rate = {r.contender.name: r.rate(count) for r in [*one, *both]}
    rss = {r.contender.name: r.median("rss_mb") for r in [*one, *both]}

    def ratio(a: str, b: str) -> str:
        return f"{rate[a] / rate[b]:.2f}×" if rate[b] else "n/a"

    lines = [
        "# Requests per core, and every core",
        "",
        f"Written by `benchmarks/cores.py` on {time.strftime('%Y-%m-%d')}: {count:,} URLs of a "
        f"512-byte file on one local nginx (pinned to CPU {bench.SERVER_CPU}), median of {runs} "
        f"interleaved rounds, Python {platform.python_version()}, {os.cpu_count()} cores. "
        "Every run verified (each URL 200 with 512 bytes, nginx served one request per URL).",
        "",
        "| client | CPUs | req/s median (min–max) | CPU µs/request | peak RSS MB (tree) | "
        "peak PSS MB | verified |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in [*one, *both]:
        rates = [count / run.wall for run in r.good()]
        spread = f"{min(rates):,.0f}–{max(rates):,.0f}" if rates else "–"
        lines.append(
            f"| {r.contender.name} | {r.contender.cpus} | {rate[r.contender.name]:,.0f} "
            f"({spread}) | {r.median('cpu') / count * 1e6:.0f} | {rss[r.contender.name]:.0f} | "
            f"{r.median('pss_mb'):.0f} | "
            f"{len(r.good())}/{len(r.runs)} |"
        )
    w1, w2 = "fetchcli --workers 1 -c 20", "fetchcli --workers 2 -c 20"
    lines += [
        "",
        "| target | measured |",
        "|---|---|",
        f"| `-c 20` ≥ 0.45× aiohttp (100 workers, the issue's and MEASURED.md's reference) | "
        f"{ratio('fetchcli -c 20', 'aiohttp, 100 workers')} |",
        f"| `-c 20` against aiohttp at 20 workers | {ratio('fetchcli -c 20', 'aiohttp, 20 workers')} |",
        *(
            f"| `-c 20 --transport {name}` against aiohttp at 20 workers | "
            f"{ratio(f'fetchcli -c 20 --transport {name}', 'aiohttp, 20 workers')} |"
            for name in ("curl", "aiohttp", "httpcore")
        ),
        f"| `-c 100` ≥ 0.9× `-c 20` | {ratio('fetchcli -c 100', 'fetchcli -c 20')} |",
        f"| peak RSS ≤ 60 MB (-c 20, -c 100) | {rss['fetchcli -c 20']:.0f}, {rss['fetchcli -c 100']:.0f} MB |",
        f"| `--version` ≤ 100 ms | {version:.0f} ms |",
        f"| `--workers 2` ≥ 1.6× `--workers 1` | {ratio(w2, w1)} |",
        f"| RSS of `--workers 2` ≤ 2 × one process + 20 MB | {rss[w2]:.0f} MB against "
        f"{2 * rss[w1] + 20:.0f} MB |",
        "",
    ]
    return lines


def one_host_arguments(doc: str, report_name: str, runs: int = 3) -> argparse.Namespace:
    """The options every one-host benchmark takes (--runs, --count, --out), parsed; then this
    driver (its memory sampler) moves off the client's core and bench.WORK is made."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=bench.ROOT / "docs" / report_name)
    args = parser.parse_args()
    os.sched_setaffinity(0, {int(bench.SERVER_CPU)})
    bench.WORK.mkdir(parents=True, exist_ok=True)
    return args


def publish(lines: list[str], out: Path, results: list[Result]) -> None:
    """The report on stdout and in `out`; exit status 1 if any run failed verification."""
    print("\n".join(lines))
    out.write_text("\n".join(lines) + "\n")
    if any(not result.good() for result in results):
        sys.exit(1)


def main() -> None:
    args = one_host_arguments(__doc__, "benchmarks-cores.md")
    bench.start_nginx()
    try:
        workload = bench.Workload("cores", "512.txt", args.count)
        workload.write()
        print("one core:", flush=True)
        one = measure(ONE_CORE_CONTENDERS, workload.path(), args.count, args.runs)
        print("both cores:", flush=True)
        both = measure(BOTH_CORES_CONTENDERS, workload.path(), args.count, args.runs)
        version = version_ms(11)
    finally:
        bench.stop_nginx()
    lines = report(args.count, one, both, version, args.runs)
    print("\n".join(lines))
    # many_hosts.py --workers keeps its section after ours: only the part before it is ours.
    kept = args.out.read_text() if args.out.exists() else ""
    at = kept.find(WORKERS_SECTION)
    args.out.write_text(
        "\n".join(lines).rstrip("\n") + "\n" + ("\n" + kept[at:] if at >= 0 else "")
    )


if __name__ == "__main__":
    main()
