"""Benchmark fetchcli against curl, aria2c and hand-written Python clients, on a local nginx.

Run by benchmarks/run.sh, which installs what this needs. Every run is verified: each URL
answered 200 with the right byte count, and nginx served exactly that many requests; a run that
fails verification is reported as failed, never as fast. Writes docs/benchmarks.md (all but the
many-hosts section, which many_hosts.py writes) and a chart.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import compile_bytecode, remove_tmpfs_dir, tmpfs_dir, write_part

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
VENV_BIN = Path(sys.executable).parent
PORT = 8088
HOSTS = [f"127.0.0.{i}" for i in range(1, 9)]
CLIENT_CPU, SERVER_CPU = "0", "1"
API_BODY = '{"ok": true, "pad": "' + "x" * 489 + '"}'  # 512 bytes, as 512.txt
SIZES = {"512.txt": 512, "20k.bin": 20 * 1024, "5m.bin": 5 * 1024 * 1024}


# --- the server -------------------------------------------------------------------------


NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 60;
  {listens}
  server {{
    {server_listens}
    root {www};
    location = /nginx_status {{ stub_status; }}
    # An API's answer to any method (a static file answers POST with 405): benchmarks/rows.py.
    location = /api {{ default_type application/json; return 200 '{api_body}'; }}
  }}
}}
"""


def _file_content(name: str, size: int) -> bytes:
    """The same bytes on every machine and every run: a snippet's cost depends on them (text is
    decoded and cleaned; a NUL near the start makes a body binary, and random bytes hold one
    in the first 512 seven times in eight), so random files made runs measure different work.
    .txt is prose as a page serves it, .bin seeded random bytes."""
    if name.endswith(".txt"):
        line = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\n"
        return (line * (size // len(line) + 1))[:size]
    return random.Random(size).randbytes(size)


def start_nginx(extra: str = "") -> None:
    """nginx on every HOSTS address at PORT; `extra`: more directives for its server (another
    listen, a certificate). Every one-host benchmark starts here: the tree is compiled first."""
    compile_bytecode(ROOT / "fetchcli")
    www = WORK / "www"
    www.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():
        path = www / name
        content = _file_content(name, size)
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
    listens = "\n    ".join([*(f"listen {host}:{PORT} reuseport;" for host in HOSTS), extra])
    conf = WORK / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(work=WORK, listens="", server_listens=listens, www=www, api_body=API_BODY)
    )
    stop_nginx()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run(
        ["taskset", "-c", SERVER_CPU, nginx, "-c", str(conf), "-p", str(WORK)], check=True
    )
    for _ in range(50):
        try:
            nginx_counters()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("nginx did not start")


def stop_nginx() -> None:
    pid_file = WORK / "nginx.pid"
    if pid_file.exists():
        subprocess.run(["kill", pid_file.read_text().strip()], check=False)
        time.sleep(0.3)


def nginx_counters() -> tuple[int, int]:
    """(accepted connections, requests) since nginx started, this request included: between
    two readings, the later one counts the earlier reading's connection and request."""
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/nginx_status", timeout=5) as response:
        text = response.read().decode()
    accepts, _handled, requests = map(int, text.splitlines()[2].split())
    return accepts, requests


# --- the lists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    file: str
    count: int
    hosts: int = 1

    @property
    def size(self) -> int:
        return SIZES[self.file]

    def path(self) -> Path:
        return (
            WORK / f"{self.name}-{self.count}.txt"
        )  # a --quick run's shorter list is another file

    def write(self) -> None:
        if self.path().exists():
            return
        with self.path().open("w") as out:
            for i in range(self.count):
                out.write(f"http://{HOSTS[i % self.hosts]}:{PORT}/{self.file}?i={i}\n")


# --- the contenders ---------------------------------------------------------------------


@dataclass
class Outcome:
    ok: int
    bytes: int


Parse = Callable[[Path, Path], Outcome]


@dataclass
class Contender:
    name: str
    argv: Callable[[Workload], list[str]]
    parse: Parse
    stdin_list: bool = False


def fetchcli(*flags: str) -> Callable[[Workload], list[str]]:
    return lambda w: [str(VENV_BIN / "fetchcli"), "-q", "--no-progress", *flags, str(w.path())]


def parse_jsonl(out: Path, _err: Path) -> Outcome:
    ok = total = 0
    with out.open() as lines:
        for line in lines:
            record = json.loads(line)
            ok += record["status"] == 200 and record["error"] is None
            total += record["bytes"]
    return Outcome(ok, total)


def parse_table(size: int) -> Parse:
    def parse(out: Path, _err: Path) -> Outcome:
        ok = sum(" 200 OK " in line for line in out.open())
        return Outcome(ok, ok * size)  # byte counts are checked by nginx's request count

    return parse


def parse_pairs(out: Path, _err: Path) -> Outcome:
    """Lines of "status bytes" from curl -w, one per transfer."""
    ok = total = 0
    for line in out.open():
        status, size = line.split()
        if status == "200":
            ok, total = ok + 1, total + int(size)
    return Outcome(ok, total)


def parse_totals(out: Path, _err: Path) -> Outcome:
    """The Python clients print one line: "ok OK_COUNT BYTES"."""
    _, ok, total = out.read_text().split()
    return Outcome(int(ok), int(total))


def curl_parallel(w: Workload) -> list[str]:
    config = w.path().with_suffix(".curl")
    if not config.exists():
        with config.open("w") as out:
            for url in w.path().read_text().split():
                out.write(f'url = "{url}"\noutput = "/dev/null"\n')
    return [
        "curl",
        "-s",
        "--no-progress-meter",  # -s leaves curl 7.88's parallel progress meter on
        "-Z",
        "--parallel-max",
        "100",
        "-K",
        str(config),
        "-w",
        "%{http_code} %{size_download}\\n",
    ]


@functools.cache
def aria2_tmpfs() -> Path:
    """aria2c must write its files somewhere; a tmpfs, so that it does no more disk work than
    the contenders that write nothing but their stdout."""
    return tmpfs_dir("fetchcli-bench-aria2-", WORK)


def aria2c(w: Workload) -> list[str]:
    target = aria2_tmpfs() / "files"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    listing = WORK / f"{w.name}.aria2"
    with listing.open("w") as out:
        for i, url in enumerate(w.path().read_text().split()):
            out.write(f"{url}\n  out=f{i}\n")
    return [
        "aria2c",
        "-q",
        "-j",
        "100",
        "-d",
        str(target),
        "-i",
        str(listing),
        "--allow-overwrite=true",
        "--auto-file-renaming=false",
        "--console-log-level=error",
    ]


def parse_aria2(out: Path, err: Path) -> Outcome:
    files = list((aria2_tmpfs() / "files").iterdir())
    return Outcome(len(files), sum(f.stat().st_size for f in files))


def body_mode(w: Workload) -> list[str]:
    records = WORK / "body-records.jsonl"
    records.unlink(missing_ok=True)
    return fetchcli("-f", "body", "-c", "50", "--records", str(records))(w)


def parse_body(out: Path, err: Path) -> Outcome:
    """Per-URL status and bytes from --records; the stream on stdout must add up to them."""
    records = parse_jsonl(WORK / "body-records.jsonl", err)
    streamed = out.stat().st_size
    return records if streamed == records.bytes else Outcome(records.ok, -streamed)


def xargs_curl(w: Workload) -> list[str]:
    return [
        "sh",
        "-c",
        f"xargs -P 32 -n 1 curl -s -o /dev/null -w '%{{http_code}} %{{size_download}}\\n' < {w.path()}",
    ]


def python_client(script: str, *args: str) -> Callable[[Workload], list[str]]:
    return lambda w: [sys.executable, str(HERE / "clients" / script), str(w.path()), *args]


def _contenders(*contenders: Contender) -> dict[str, Contender]:
    return {contender.name: contender for contender in contenders}


def _python(name: str, script: str, *args: str) -> Contender:
    return Contender(name, python_client(script, *args), parse_totals)


CONTENDERS = _contenders(
    Contender("fetchcli -c 20", fetchcli("-f", "jsonl", "-c", "20"), parse_jsonl),
    Contender("fetchcli -c 100", fetchcli("-f", "jsonl", "-c", "100"), parse_jsonl),
    Contender(
        "fetchcli -c 20 --transport httpcore",
        fetchcli("-f", "jsonl", "-c", "20", "--transport", "httpcore"),
        parse_jsonl,
    ),
    Contender("curl -Z --parallel-max 100", curl_parallel, parse_pairs),
    Contender("aria2c -j 100", aria2c, parse_aria2),
    _python("aiohttp, 100 workers", "aiohttp_workers.py", "100"),
    _python("aiohttp + uvloop, 100 workers", "aiohttp_workers.py", "100", "uvloop"),
    _python("httpx + httpx_aiohttp, 100 workers", "httpx_workers.py", "100", "aiohttp"),
    _python("httpx (httpcore), 20 workers", "httpx_workers.py", "20", "httpcore"),
    _python("httpx (httpcore), 100 workers", "httpx_workers.py", "100", "httpcore"),
    Contender("xargs -P 32 curl", xargs_curl, parse_pairs),
    Contender("fetchcli -f body -c 50", body_mode, parse_body),
)


# --- running and verifying ----------------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    connections: int
    verified: bool
    problem: str = ""


@dataclass
class Result:
    contender: str
    workload: Workload
    runs: list[Run] = field(default_factory=list)

    def good(self) -> list[Run]:
        return [r for r in self.runs if r.verified]

    def rates(self) -> list[float]:
        return [self.workload.count / r.wall for r in self.good()]

    def median(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.good()]
        return statistics.median(values) if values else float("nan")


def run_once(contender: Contender, workload: Workload) -> Run:
    argv = contender.argv(workload)
    before = nginx_counters()
    with tempfile.NamedTemporaryFile(dir=WORK) as out, tempfile.NamedTemporaryFile(dir=WORK) as err:
        started = time.perf_counter()
        proc = subprocess.Popen(["taskset", "-c", CLIENT_CPU, *argv], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        after = nginx_counters()
        code = os.waitstatus_to_exitcode(status)
        try:
            outcome = contender.parse(Path(out.name), Path(err.name))
        except (ValueError, KeyError, OSError) as exc:
            outcome, code = Outcome(0, 0), code or 99
            err.write(f"unparseable output: {exc}".encode())
        err.seek(0)
        error_text = err.read().decode(errors="replace")[-300:]
    served = after[1] - before[1] - 1  # less the first reading of the counters
    connections = after[0] - before[0] - 1
    expected = (workload.count, workload.count * workload.size, workload.count)
    verified = (outcome.ok, outcome.bytes, served) == expected
    problem = (
        ""
        if verified
        else (
            f"exit {code}; ok {outcome.ok}, bytes {outcome.bytes}, served {served}; "
            f"expected {expected}; {error_text.strip()}"
        )
    )
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss / 1024, connections, verified, problem)


def startup_times(runs: int) -> dict[str, float]:
    """Medians in ms: an empty interpreter, --version, --help, one URL end to end, curl (the
    commands and their checks are startup.py's, which adds HTTPie and the httpx import)."""
    import startup

    names = ["python -c pass", "fetchcli --version", "fetchcli --help"]
    return startup.measure(runs, [*names, "fetchcli -q URL (a record)", "curl -s URL"])


def table_vs_jsonl(workload: Workload, runs: int) -> tuple[float, float]:
    table = Contender("table", fetchcli("-f", "table", "-c", "20"), parse_table(workload.size))
    jsonl = CONTENDERS["fetchcli -c 20"]
    walls: dict[str, list[float]] = {"table": [], "jsonl": []}
    for _ in range(runs):
        for name, contender in (("table", table), ("jsonl", jsonl)):
            run = run_once(contender, workload)
            if run.verified:
                walls[name].append(run.wall)
    return statistics.median(walls["table"]), statistics.median(walls["jsonl"])


def measure(names: list[str], workload: Workload, runs: int) -> list[Result]:
    """Interleaved: every contender once per round, so drift hits all alike."""
    workload.write()
    results = [Result(name, workload) for name in names]
    for round_number in range(runs):
        for result in results:
            run = run_once(CONTENDERS[result.contender], workload)
            result.runs.append(run)
            status = (
                f"{workload.count / run.wall:,.0f} req/s"
                if run.verified
                else f"FAILED {run.problem}"
            )
            print(
                f"  [{workload.name} round {round_number + 1}] {result.contender}: {status}",
                flush=True,
            )
    return results


# --- the report -----------------------------------------------------------------------------


def _range(values: list[float], fmt: str) -> str:
    if not values:
        return "failed"
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def results_table(results: list[Result]) -> list[str]:
    lines = [
        "| client | req/s median (min–max) | CPU s | peak RSS MB | TCP connections | verified runs |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(
        results, key=lambda r: -(r.median("wall") and r.workload.count / r.median("wall"))
    ):
        lines.append(
            f"| {r.contender} | {_range(r.rates(), ',.0f')} | {r.median('cpu'):.2f} | "
            f"{r.median('rss_mb'):.0f} | {r.median('connections'):.0f} | "
            f"{len(r.good())}/{len(r.runs)} |"
        )
    for r in results:
        for run in r.runs:
            if not run.verified:
                lines.append(f"\n> {r.contender}: a run failed verification: {run.problem}")
    return lines


def ratios(results: list[Result], ours: str) -> list[str]:
    mine = next(r for r in results if r.contender == ours)
    base = statistics.median(mine.rates()) if mine.rates() else float("nan")
    lines = [f"Ratios of `{ours}` to each (req/s; above 1 means fetchcli is faster):", ""]
    for r in results:
        if r.contender != ours and r.rates():
            lines.append(f"- {r.contender}: **{base / statistics.median(r.rates()):.2f}×**")
    return lines


def chart(results: list[Result], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    shown = [r for r in results if r.rates()]
    shown.sort(key=lambda r: statistics.median(r.rates()))
    names = [r.contender for r in shown]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 0.45 * len(names) + 1.5))
    colours = ["#d62728" if n.startswith("fetchcli") else "#7f7f7f" for n in names]
    left.barh(names, [statistics.median(r.rates()) for r in shown], color=colours)
    left.set_xlabel("requests per second (median)")
    right.barh(names, [r.median("rss_mb") for r in shown], color=colours)
    right.set_xlabel("peak RSS, MB")
    right.set_yticks([])
    workload = next(r.workload for r in shown if r.contender == "fetchcli -c 20")
    figure.suptitle(f"{workload.count:,} URLs of {workload.size} B, one host, local nginx")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return True


def tool_versions() -> list[str]:
    def first_line(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
            return (out.stdout or out.stderr).splitlines()[0]
        except (OSError, IndexError):
            return "not found"

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = models[0] if models else "?"
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {platform.platform()}",
        f"- Python {platform.python_version()}; {first_line([str(VENV_BIN / 'fetchcli'), '--version'])}",
        f"- {first_line(['curl', '--version'])}",
        f"- {first_line(['aria2c', '--version'])}",
        f"- {first_line(['nginx', '-v'])}",
        f"- client pinned to CPU {CLIENT_CPU}, nginx to CPU {SERVER_CPU}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small lists, one round")
    parser.add_argument("--million", action="store_true", help="also check RSS on 1,000,000 URLs")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    scale = 10 if args.quick else 1
    WORK.mkdir(exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start_nginx()
    try:
        report = build_report(args, runs, scale)
    finally:
        stop_nginx()
        if aria2_tmpfs.cache_info().currsize:
            remove_tmpfs_dir(aria2_tmpfs())
    write_part(args.out, "one-host", report)  # the many-hosts section stays
    print(f"wrote {args.out}")


def build_report(args: argparse.Namespace, runs: int, scale: int) -> list[str]:
    one_host = Workload("one-host", "512.txt", 10_000 // scale)
    eight_hosts = Workload("eight-hosts", "512.txt", 10_000 // scale, hosts=8)
    pages = Workload("pages-20k", "20k.bin", 5_000 // scale)
    big = Workload("bodies-5m", "5m.bin", 50 // min(scale, 5))
    names = [n for n in CONTENDERS if n != "xargs -P 32 curl"]
    print("one host, 512 B:", flush=True)
    main_results = measure(names, one_host, runs)
    main_results += measure(
        ["xargs -P 32 curl"], Workload("one-host-xargs", "512.txt", 2_000 // scale), 1
    )
    print("8 hosts:", flush=True)
    host_results = measure(
        ["fetchcli -c 100", "httpx (httpcore), 100 workers", "curl -Z --parallel-max 100"],
        eight_hosts,
        runs,
    )
    print("20 KiB pages:", flush=True)
    page_results = measure(
        ["fetchcli -c 20", "curl -Z --parallel-max 100", "aiohttp, 100 workers"], pages, runs
    )
    print("5 MiB bodies:", flush=True)
    body_results = measure(
        ["fetchcli -c 20", "fetchcli -f body -c 50", "curl -Z --parallel-max 100"], big, runs
    )
    table_wall, jsonl_wall = table_vs_jsonl(one_host, runs)
    startup = startup_times(5 if args.quick else 11)
    million = (
        measure(["fetchcli -c 100"], Workload("million", "512.txt", 1_000_000), 1)
        if args.million
        else []
    )
    measured = Measurements(
        main_results, host_results, page_results, body_results, million, table_wall, jsonl_wall
    )
    return write_report(measured, startup, args)


@dataclass
class Measurements:
    """Everything one benchmark run measured, for the report."""

    main: list[Result]
    hosts: list[Result]
    pages: list[Result]
    bodies: list[Result]
    million: list[Result]
    table_wall: float
    jsonl_wall: float


def write_report(
    measured: Measurements, startup: dict[str, float], args: argparse.Namespace
) -> list[str]:
    main_results, host_results = measured.main, measured.hosts
    page_results, body_results, million = measured.pages, measured.bodies, measured.million
    table_wall, jsonl_wall = measured.table_wall, measured.jsonl_wall
    chart_path = args.out.parent / "benchmarks.png"
    has_chart = chart(main_results, chart_path)
    c20 = next(r for r in main_results if r.contender == "fetchcli -c 20")
    c100 = next(r for r in main_results if r.contender == "fetchcli -c 100")
    rate20 = statistics.median(c20.rates()) if c20.rates() else 0.0
    rate100 = statistics.median(c100.rates()) if c100.rates() else 0.0
    hosts_fc = next(r for r in host_results if r.contender == "fetchcli -c 100")
    rss_all = [r.median("rss_mb") for r in [c20, c100, *million]]
    lines = [
        "# Benchmarks",
        "",
        f"Made by `benchmarks/run.sh{' --quick' if args.quick else ''}` on "
        f"{time.strftime('%Y-%m-%d')}. Every run below was verified: each URL answered 200 with "
        "the right byte count and nginx served exactly that many requests.",
        "",
        *tool_versions(),
        "",
        *(
            [
                "> A `--quick` smoke run: the lists are a tenth as long, so start-up (about 0.3 s) "
                "weighs on the rates. Targets are judged on a full run.",
                "",
            ]
            if args.quick
            else []
        ),
        "## Targets",
        "",
        f"- `-c 20` on the one-host list: **{rate20:,.0f} req/s** (target ≥ 2,500): "
        f"{'met' if rate20 >= 2500 else 'NOT met'}",
        f"- `-c 100`: **{rate100:,.0f} req/s**, {rate100 / rate20 if rate20 else 0:.2f}× the `-c 20` "
        f"figure (target ≥ 0.9×): {'met' if rate20 and rate100 >= 0.9 * rate20 else 'NOT met'}",
        f"- 8 hosts at `-c 100`: **{hosts_fc.median('connections'):.0f} TCP connections** "
        f"(target ≤ 108): {'met' if hosts_fc.median('connections') <= 108 else 'NOT met'}",
        f"- peak RSS: **{max(rss_all):.0f} MB** at most"
        f"{' (1,000,000 URLs included)' if million else ''} (target ≤ 60 MB): "
        f"{'met' if max(rss_all) <= 60 else 'NOT met'}",
        *(f"- {name}: **{ms:.0f} ms** median" for name, ms in startup.items()),
        f"- table vs jsonl on {c20.workload.count:,} URLs: **{table_wall / jsonl_wall:.2f}×** "
        f"the wall time (target ≤ 1.25×): {'met' if table_wall <= 1.25 * jsonl_wall else 'NOT met'}",
        "",
        f"## One host, {c20.workload.count:,} URLs of 512 B over keep-alive",
        "",
        *(["![req/s and RSS](benchmarks.png)", ""] if has_chart else []),
        *results_table(main_results),
        "",
        *ratios(main_results, "fetchcli -c 20"),
        "",
        "`xargs -P 32 curl` starts one process per URL, so it ran on a list of 2,000 (a tenth of "
        "that in `--quick`) to keep the run short; its rate does not depend on the length.",
        "",
        f"aria2c must write every body to a file ({c20.workload.count:,} of them); its `-d` "
        "directory is on a tmpfs (`/dev/shm`, or one mounted for the run), so that it does "
        "comparable work to the contenders that write nothing but their records to stdout.",
        "",
        f"## 8 hosts (127.0.0.1–8), {host_results[0].workload.count:,} URLs, `-c 100`",
        "",
        *results_table(host_results),
        "",
        f"## {page_results[0].workload.count:,} pages of 20 KiB",
        "",
        *results_table(page_results),
        "",
        f"## {body_results[0].workload.count} bodies of 5 MiB",
        "",
        *results_table(body_results),
    ]
    if million:
        lines += ["", "## 1,000,000 URLs", "", *results_table(million)]
    return lines


if __name__ == "__main__":
    main()
