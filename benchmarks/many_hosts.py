"""Many hosts: fetchcli against curl and hand-written clients on thousands of host names.

Every name is looked up in a DNS server that answers after 20 ms, then fetched from nginx over
HTTP or HTTPS, all inside a network namespace of its own (so 127.x.y.z is one host per name, and
/etc/resolv.conf points at that DNS server). Run by benchmarks/run.sh (`--many-hosts` runs only
this); needs root. Every run is verified URL by URL and against nginx's own request count; a run
that fails verification is reported as failed, never as fast. Rewrites the many-hosts section of
docs/benchmarks.md and docs/benchmarks-many-hosts.png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchlib import WORKERS_SECTION, compile_bytecode, remove_tmpfs_dir, tmpfs_dir, write_part

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "many-hosts"
VENV_BIN = Path(sys.executable).parent
NS = "fetchcli-bench"
NETNS_ETC = Path("/etc/netns") / NS
DOMAIN = "bench.test"
CLIENT_CPU, SERVER_CPU = "0", "1"
WORKERS = 100
SIZE = 512
DNS_DELAY = 0.02
SILENT_TIMEOUT = 3
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])  # the hard limit, if lower
WORKER_CONNECTIONS = 16384
POLL_INTERVAL = 0.02
SLOW = 30.0  # a contender whose first run took longer than this runs once (the time budget)
SERVERS = HERE / "netns_servers.py"


def in_ns(*argv: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *argv]


# --- the namespace and its servers -------------------------------------------------------


NGINX_CONF = """
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections {worker_connections}; }}
http {{
  access_log off;
  types {{ text/plain txt; }}
  charset utf-8;
  keepalive_requests 10000000;
  keepalive_timeout 60;
  ssl_certificate {work}/server.pem;
  ssl_certificate_key {work}/server.pem;
  server {{
    listen 80 reuseport backlog=8192;
    listen 443 ssl reuseport backlog=8192;
    root {www};
    location = /nginx_status {{ stub_status; }}
  }}
}}
"""

PAGE = (
    "A small page for the many-hosts benchmark: every host serves this same text. " * 10
).encode()[:SIZE]


def ns_pids() -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", NS], capture_output=True, text=True, check=False)
    return [int(pid) for pid in out.stdout.split()]


def remove_namespace() -> None:
    """Kill what runs in the namespace (all of it started by this script), then delete it.
    Safe to call when there is nothing to remove."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if any(line.split()[:1] == [NS] for line in listed.stdout.splitlines()):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = ns_pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 3
            while ns_pids() and time.monotonic() < deadline:
                time.sleep(0.05)
        subprocess.run(["ip", "netns", "del", NS], check=False)
    shutil.rmtree(NETNS_ETC, ignore_errors=True)
    with contextlib.suppress(OSError):
        NETNS_ETC.parent.rmdir()  # /etc/netns, when nothing else is in it


@dataclass
class Lab:
    """The namespace, the DNS server and silent listener, nginx, and the CA the clients trust."""

    servers: subprocess.Popen[str] | None = None
    self_check: dict[str, str] = field(default_factory=dict)

    @property
    def cacert(self) -> Path:
        return WORK / "ca.pem"

    def start(self, dns_check_count: int) -> None:
        compile_bytecode(ROOT / "fetchcli")
        remove_namespace()  # whatever an interrupted run left behind
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ip", "netns", "add", NS], check=True)
        subprocess.run(in_ns("ip", "link", "set", "lo", "up"), check=True)
        NETNS_ETC.mkdir(parents=True, exist_ok=True)
        (NETNS_ETC / "resolv.conf").write_text("nameserver 127.0.0.53\n")
        (NETNS_ETC / "hosts").write_text("127.0.0.1 localhost\n")
        self._certificates()
        www = WORK / "www"
        www.mkdir(exist_ok=True)
        (www / "512.txt").write_bytes(PAGE)
        control = WORK / "servers.sock"
        control.unlink(missing_ok=True)
        self.servers = subprocess.Popen(
            in_ns(
                "taskset", "-c", SERVER_CPU, sys.executable, str(SERVERS), "servers",
                "--control", str(control), "--delay", str(DNS_DELAY),
            ),
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.servers.stdout is not None
        if self.servers.stdout.readline().strip() != "ready":
            raise SystemExit("the DNS server and silent listener did not start")
        conf = WORK / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                work=WORK, www=www, nofile=NOFILE, worker_connections=WORKER_CONNECTIONS
            )
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run(
            in_ns("taskset", "-c", SERVER_CPU, nginx, "-c", str(conf), "-p", str(WORK)),
            check=True,
        )
        self._check(dns_check_count)

    def _certificates(self) -> None:
        import trustme

        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(self.cacert))
        server = ca.issue_cert(f"*.{DOMAIN}", DOMAIN)
        server.private_key_and_cert_chain_pem.write_to_path(str(WORK / "server.pem"))

    def _check(self, count: int) -> None:
        """Refuse to measure anything unless names resolve, both schemes answer and silent
        hosts stay silent; time COUNT concurrent lookups."""
        deadline = time.monotonic() + 10
        while True:
            probe = subprocess.run(
                in_ns("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                      "http://127.0.0.1/nginx_status"),
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if probe.stdout == "200":
                break
            if time.monotonic() > deadline:
                raise SystemExit("nginx did not start in the namespace")
            time.sleep(0.1)
        for url, expect in (
            (f"http://h1.{DOMAIN}/512.txt", f"200 {SIZE} 0"),
            (f"https://h4000.{DOMAIN}/512.txt", f"200 {SIZE} 0"),
            (f"https://s1.{DOMAIN}/512.txt", "000 0 28"),
        ):
            got = subprocess.run(
                in_ns("curl", "-s", "-o", "/dev/null", "-m", "1", "--cacert", str(self.cacert),
                      "-w", "%{http_code} %{size_download} %{exitcode}", url),
                capture_output=True, text=True, check=False,
            ).stdout  # fmt: skip
            if got != expect:
                raise SystemExit(f"self-check: {url} gave {got!r}, expected {expect!r}")
        out = subprocess.run(
            in_ns("taskset", "-c", CLIENT_CPU, sys.executable, str(SERVERS), "dnscheck",
                  "--count", str(count)),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        check = json.loads(out)
        if check["unanswered"] or check["wrong"]:
            raise SystemExit(f"the DNS server failed its check: {check}")
        self.self_check["dns"] = (
            f"{count:,} lookups sent at once were all answered, correctly, "
            f"{check['seconds'] * 1000:.0f} ms after the first was sent"
        )

    def dns_counts(self) -> Counter[str]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(WORK / "servers.sock"))
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return Counter(json.loads(data))

    def server_cpu(self) -> dict[str, float]:
        """CPU seconds so far of nginx's processes and of the DNS/silent process."""
        tick = os.sysconf("SC_CLK_TCK")
        totals = {"nginx": 0.0, "servers": 0.0}
        for pid in ns_pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            seconds = (int(fields[11]) + int(fields[12])) / tick
            if name == "nginx":
                totals["nginx"] += seconds
            elif self.servers and pid == self.servers.pid:
                totals["servers"] += seconds
        return totals

    def stop(self) -> None:
        remove_namespace()
        self.servers = None


# --- the lists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HostList:
    key: str
    title: str
    scheme: str
    hosts: int
    silent_every: int = 0  # every Nth host is silent (sN.bench.test)
    timeout: int | None = None

    def is_silent(self, n: int) -> bool:
        return bool(self.silent_every) and n % self.silent_every == self.silent_every // 2

    def urls(self) -> list[str]:
        """Two URLs per host, next to each other, hosts in order."""
        urls = []
        for n in range(1, self.hosts + 1):
            name = f"{'s' if self.is_silent(n) else 'h'}{n}.{DOMAIN}"
            urls += [f"{self.scheme}://{name}/512.txt?n=1", f"{self.scheme}://{name}/512.txt?n=2"]
        return urls

    def silent_urls(self) -> set[str]:
        return {url for url in self.urls() if url.split("//")[1].startswith("s")}

    def path(self) -> Path:
        return WORK / f"{self.scheme}{'-silent' if self.silent_every else ''}-{self.hosts}.txt"

    def write(self) -> None:
        self.path().write_text("\n".join(self.urls()) + "\n")


# --- the contenders ------------------------------------------------------------------------


# What a client said about one URL: status (0 when it failed), bytes, and "" or an error kind.
Record = tuple[int, int, str]
Records = dict[str, list[Record]]


@dataclass(frozen=True)
class Contender:
    name: str
    argv: Callable[[HostList, Path], list[str]]
    parse: Callable[[Path], Records]
    cpus: str = CLIENT_CPU  # where the client may run (--workers: both cores)


def _add(records: Records, url: str, record: Record) -> None:
    records.setdefault(url, []).append(record)


def parse_lines(out: Path) -> Records:
    """The hand-written clients' lines: "STATUS BYTES ERROR URL" (ERROR "-" when none)."""
    records: Records = {}
    for line in out.open():
        status, size, error, url = line.split()
        _add(records, url, (int(status), int(size), "" if error == "-" else error))
    return records


def parse_curl(out: Path) -> Records:
    """curl -w "%{http_code} %{size_download} %{exitcode} %{url_effective}"; 28 is a timeout."""
    records: Records = {}
    for line in out.open():
        status, size, code, url = line.split()
        error = "" if code == "0" else "timeout" if code == "28" else f"curl exit {code}"
        _add(records, url, (int(status), int(size), error))
    return records


def parse_jsonl(out: Path) -> Records:
    records: Records = {}
    for line in out.open():
        record = json.loads(line)
        error = record["error"]["kind"] if record["error"] else ""
        _add(records, record["url"], (record["status"] or 0, record["bytes"] or 0, error))
    return records


def curl(hosts: HostList, cacert: Path) -> list[str]:
    config = hosts.path().with_suffix(".curl")
    config.write_text("".join(f'url = "{url}"\noutput = "/dev/null"\n' for url in hosts.urls()))
    return [
        # -s leaves curl 7.88's parallel progress meter on; --no-progress-meter stops it
        "curl", "-s", "--no-progress-meter", "-Z", "--parallel-max", str(WORKERS),
        "--cacert", str(cacert),
        *(["-m", str(hosts.timeout)] if hosts.timeout else []),
        "-K", str(config),
        "-w", "%{http_code} %{size_download} %{exitcode} %{url_effective}\\n",
    ]  # fmt: skip


def python_client(script: str) -> Callable[[HostList, Path], list[str]]:
    def argv(hosts: HostList, cacert: Path) -> list[str]:
        timeout = ["--timeout", str(hosts.timeout)] if hosts.timeout else []
        return [
            sys.executable, str(HERE / "clients" / script), str(hosts.path()), str(WORKERS),
            "--cacert", str(cacert), *timeout,
        ]  # fmt: skip

    return argv


def fetchcli(*flags: str) -> Callable[[HostList, Path], list[str]]:
    def argv(hosts: HostList, cacert: Path) -> list[str]:
        timeout = ["-t", str(hosts.timeout)] if hosts.timeout else []
        return [
            str(VENV_BIN / "fetchcli"), "-q", "--no-progress", "-f", "jsonl",
            "-c", str(WORKERS), *flags, "--cacert", str(cacert), *timeout, str(hosts.path()),
        ]  # fmt: skip

    return argv


CURL = "curl -Z --parallel-max 100"
AIOHTTP = "aiohttp + aiodns, 100 workers"
HTTPX = "httpx (httpcore), 100 workers"
FETCHCLI = "fetchcli -c 100 --transport aiohttp"
FETCHCLI_HTTPCORE = "fetchcli -c 100 --transport httpcore"
FETCHCLI_CURL = "fetchcli -c 100 --transport curl"  # what auto picks
FETCHCLI_COMPLETION = "fetchcli -c 100 --transport aiohttp --order completion"
FETCHCLI_W1 = "fetchcli -c 100 --workers 1, both cores"
FETCHCLI_W2 = "fetchcli -c 100 --workers 2, both cores"

CONTENDERS = {
    c.name: c
    for c in (
        Contender(CURL, curl, parse_curl),
        Contender(AIOHTTP, python_client("aiohttp_aiodns.py"), parse_lines),
        Contender(HTTPX, python_client("httpx_hosts.py"), parse_lines),
        Contender(FETCHCLI, fetchcli("--transport", "aiohttp"), parse_jsonl),
        Contender(FETCHCLI_HTTPCORE, fetchcli("--transport", "httpcore"), parse_jsonl),
        Contender(FETCHCLI_CURL, fetchcli("--transport", "curl"), parse_jsonl),
        Contender(FETCHCLI_W1, fetchcli("--transport", "aiohttp"), parse_jsonl, cpus="0,1"),
        Contender(
            FETCHCLI_W2, fetchcli("--transport", "aiohttp", "--workers", "2"), parse_jsonl, "0,1"
        ),
        Contender(
            FETCHCLI_COMPLETION,
            fetchcli("--transport", "aiohttp", "--order", "completion"),
            parse_jsonl,
        ),
    )
}


# --- running and verifying ------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    max_open: int  # nginx's active connections, sampled, the sampler's own left out
    opened: int  # connections nginx accepted during the run
    dns_queries: int
    nginx_cpu: float
    other_cpu: float  # CPU seconds used meanwhile by processes that are not the benchmark's
    exit_code: int
    verified: bool
    problem: str = ""
    stderr: str = ""  # the first line the client wrote there, if any


@dataclass
class Result:
    contender: str
    hosts: HostList
    runs: list[Run] = field(default_factory=list)
    every_round: bool = True
    skipped_rounds: int = 0
    retried: int = 0

    def good(self) -> list[Run]:
        return [r for r in self.runs if r.verified]

    def median(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.good()]
        return statistics.median(values) if values else float("nan")

    def most(self, attr: str) -> float:
        """The highest over every run, failed ones included (for limits that must always hold)."""
        values = [getattr(r, attr) for r in self.runs]
        return max(values) if values else float("nan")


def verify(hosts: HostList, records: Records, served: int, exit_code: int) -> str:
    """What went wrong in a run, or the empty string when it did all the work right."""
    urls = hosts.urls()
    silent = hosts.silent_urls()
    problems: Counter[str] = Counter()
    for url in urls:
        got = records.get(url, [])
        if len(got) != 1:
            problems["missing" if not got else "reported twice"] += 1
            continue
        status, size, error = got[0]
        if url in silent:
            if error != "timeout":
                problems[f"silent URL not a timeout ({error or status})"] += 1
        elif error:
            problems[f"error {error}"] += 1
        elif status != 200 or size != SIZE:
            problems[f"status {status}, {size} bytes"] += 1
    extra = len(set(records) - set(urls))
    if extra:
        problems["records for URLs not in the list"] += extra
    expected_served = len(urls) - len(silent)
    text = "; ".join(f"{count} URLs: {what}" for what, count in problems.most_common(5))
    if served != expected_served:
        text += f"{'; ' if text else ''}nginx served {served} requests, expected {expected_served}"
    if exit_code != 0 and not silent:
        text += f"{'; ' if text else ''}exit status {exit_code}"
    if exit_code < 0 or exit_code > 128:  # killed
        text += f"{'; ' if text else ''}killed (exit status {exit_code})"
    return text


Snapshot = dict[int, tuple[int, float]]  # pid: (start time, CPU s with reaped children)
PF_KTHREAD = 0x00200000


def others_cpu() -> Snapshot:
    """CPU seconds so far of every process that is not the benchmark's: not this driver (whose
    reaped children are the clients and samplers), not in the namespace, not a kernel thread
    (the kernel's share of loopback traffic is the benchmark's own)."""
    tick = os.sysconf("SC_CLK_TCK")
    ours = {os.getpid(), *ns_pids()}
    snapshot: Snapshot = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[6]) & PF_KTHREAD:
            continue
        cpu = sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime
        snapshot[int(entry.name)] = (int(fields[19]), cpu)
    return snapshot


def cpu_between(before: Snapshot, after: Snapshot) -> float:
    """CPU seconds other processes used between two snapshots (those that started meanwhile
    count whole; those that ended count through the parent that reaped them)."""
    total = 0.0
    for pid, (started, cpu) in after.items():
        earlier = before.get(pid)
        total += cpu - earlier[1] if earlier and earlier[0] == started else cpu
    return total


@dataclass
class Patience:
    """How long the benchmark may spend, in all, waiting for other processes on the machine to
    calm down and making disturbed runs again: a shared machine must not stretch the section
    without end."""

    per_wait: float  # the longest one wait before a run
    budget: float  # seconds in all
    retries: bool  # whether a disturbed run is made again
    window: float = 0.3  # other processes must use under 5 % of a core for this long

    def __post_init__(self) -> None:
        self.left = self.budget

    def wait_for_quiet(self) -> None:
        if not self.per_wait:
            return
        started = time.monotonic()
        deadline = started + min(self.per_wait, max(self.left, 0.0))
        while True:
            before = others_cpu()
            time.sleep(self.window)
            if cpu_between(before, others_cpu()) < 0.05 * self.window:
                break
            if time.monotonic() > deadline:
                break
        self.left -= max(0.0, time.monotonic() - started - self.window)

    def retry(self, run: Run) -> bool:
        """Whether to make a disturbed RUN again (its time is taken from what is left)."""
        if not (self.retries and self.left > 0):
            return False
        self.left -= run.wall
        return True


def run_once(
    lab: Lab, contender: Contender, hosts: HostList, out_dir: Path, cap: float, patience: Patience
) -> Run:
    argv = contender.argv(hosts, lab.cacert)
    patience.wait_for_quiet()
    dns_before, cpu_before = lab.dns_counts(), lab.server_cpu()
    others_before = others_cpu()
    poller = subprocess.Popen(
        in_ns("taskset", "-c", SERVER_CPU, sys.executable, str(SERVERS), "poll",
              "--interval", str(POLL_INTERVAL)),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert poller.stdin is not None and poller.stdout is not None
    ready = poller.stdout.readline().split()
    if ready[:1] != ["ready"]:
        raise SystemExit("the stub_status sampler did not start")
    out, err, timing = out_dir / "stdout", out_dir / "stderr", out_dir / "time"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        client = subprocess.Popen(
            in_ns("taskset", "-c", contender.cpus, "/usr/bin/time", "-f", "%U %S %M",
                  "-o", str(timing), *argv),
            stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
        try:
            exit_code = client.wait(timeout=cap)
        except subprocess.TimeoutExpired:
            os.killpg(client.pid, signal.SIGKILL)
            exit_code = client.wait()
        wall = time.perf_counter() - started
    poller.stdin.write("stop\n")
    poller.stdin.flush()
    sampled = json.loads(poller.stdout.readline())
    poller.wait()
    dns_after, cpu_after = lab.dns_counts(), lab.server_cpu()
    other = cpu_between(others_before, others_cpu())
    queries = sum(n for kind, n in (dns_after - dns_before).items() if kind != "silent_connections")
    try:
        user, system, rss_kb = timing.read_text().splitlines()[-1].split()
        cpu, rss_mb = float(user) + float(system), int(rss_kb) / 1024
    except (OSError, ValueError, IndexError):
        cpu = rss_mb = float("nan")
    try:
        records = contender.parse(out)
        problem = verify(hosts, records, sampled["requests"], exit_code)
    except (ValueError, KeyError, TypeError) as exc:
        problem = f"unparseable output ({exc}); exit status {exit_code}"
    if wall >= cap:
        problem = f"stopped after {cap:.0f} s; " + problem
    stderr_text = err.read_text(errors="replace").strip()
    if problem and stderr_text:
        problem += f"; stderr: {stderr_text[-300:]}"
    return Run(
        wall=wall,
        cpu=cpu,
        rss_mb=rss_mb,
        max_open=sampled["max_active"],
        opened=sampled["accepts"],
        dns_queries=queries,
        nginx_cpu=cpu_after["nginx"] - cpu_before["nginx"],
        other_cpu=other,
        exit_code=exit_code,
        verified=not problem,
        problem=problem,
        stderr=" ".join(stderr_text.splitlines()[0].split())[:200] if stderr_text else "",
    )


def disturbed(run: Run) -> bool:
    """Other processes on the machine used more than 10 % of a core during the run."""
    return run.other_cpu > 0.1 * run.wall + 0.05


def measure(
    lab: Lab,
    hosts: HostList,
    plan: list[tuple[str, bool]],
    rounds: int,
    out_dir: Path,
    cap: float,
    patience: Patience,
) -> list[Result]:
    """Interleaved: every contender once per round, so drift hits all alike. PLAN names the
    contenders and whether each runs every round (a target depends on it) or only the first
    (the whole section must stay short). A contender whose first run took over SLOW seconds runs
    once too. A run that other processes disturbed is made again, once."""
    hosts.write()
    results = [Result(name, hosts, every_round=every) for name, every in plan]
    for round_number in range(rounds):
        for result in results:
            if round_number and not result.every_round:
                continue
            if round_number and result.runs and result.runs[0].wall > SLOW:
                result.skipped_rounds += 1
                continue
            for attempt in range(2):
                run = run_once(lab, CONTENDERS[result.contender], hosts, out_dir, cap, patience)
                if not disturbed(run) or attempt == 1 or not patience.retry(run):
                    break
                result.retried += 1
                print(f"  (again: other processes used {run.other_cpu:.2f} CPU s)", flush=True)
            result.runs.append(run)
            status = (
                f"{run.wall:.2f} s, {run.rss_mb:.0f} MB, {run.max_open} open"
                if run.verified
                else f"FAILED ({run.wall:.2f} s) {run.problem}"
            )
            note = f" [disturbed: {run.other_cpu:.2f} CPU s elsewhere]" if disturbed(run) else ""
            print(
                f"  [{hosts.key} round {round_number + 1}] {result.contender}: {status}{note}",
                flush=True,
            )
    return results


# --- the report ---------------------------------------------------------------------------------


def _median_range(values: list[float]) -> str:
    if not values:
        return "failed"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def noisy(r: Result) -> str:
    count = sum(disturbed(run) for run in r.runs)
    return f" ({count} disturbed)" if count else ""


def results_table(results: list[Result], rounds: int) -> list[str]:
    lines = [
        "| client | wall s, median (min–max) | CPU s | peak RSS MB | max open connections "
        "| connections opened | DNS queries | nginx CPU s | verified runs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def order(r: Result) -> float:
        return r.median("wall") if r.good() else float("inf")

    for r in sorted(results, key=order):
        good = r.good()
        lines.append(
            f"| {r.contender} | {_median_range([x.wall for x in good])} | "
            f"{r.median('cpu'):.2f} | {r.median('rss_mb'):,.0f} | {r.most('max_open'):,.0f} | "
            f"{r.median('opened'):,.0f} | {r.median('dns_queries'):,.0f} | "
            f"{r.median('nginx_cpu'):.2f} | {len(good)}/{len(r.runs)}{noisy(r)} |"
        )
    once = [r.contender for r in results if not r.every_round]
    if once and rounds > 1:
        lines.append(
            f"\n> Ran once, as planned (no target depends on {'it' if len(once) == 1 else 'them'} "
            f"here, and the section must stay short): {'; '.join(f'`{n}`' for n in once)}."
        )
    for r in results:
        said = sorted({run.stderr for run in r.runs if run.verified and run.stderr})
        if said:
            lines.append(f"\n> {r.contender} wrote on stderr: {'; '.join(said)[:400]}")
        if r.skipped_rounds:
            lines.append(
                f"\n> {r.contender}: ran once; its first run took over {SLOW:.0f} s, "
                "so it sat out the other rounds to keep the section short."
            )
        for run in r.runs:
            if not run.verified:
                problem = " ".join(run.problem.split()).replace("|", "/")
                lines.append(f"\n> {r.contender}: a run failed verification: {problem}")
    return lines


@dataclass
class Measured:
    http: list[Result]
    https: list[Result]
    silent: list[Result]
    small: list[Result]
    large: list[Result]

    def lists(self) -> list[list[Result]]:
        return [self.http, self.https, self.silent, self.small, self.large]


def find(results: list[Result], name: str) -> Result:
    return next(r for r in results if r.contender == name)


def wall(results: list[Result], name: str) -> float | None:
    result = find(results, name)
    return result.median("wall") if result.good() else None


def ratio_target(label: str, results: list[Result], ours: str, theirs: str, limit: float) -> str:
    mine, base = wall(results, ours), wall(results, theirs)
    if mine is None or base is None:
        failed = ours if mine is None else theirs
        return f"- {label}: **no verified run of {failed}** (target ≤ {limit:g}×): NOT met"
    ratio = mine / base
    ours_walls = [r.wall for r in find(results, ours).good()]
    their_walls = [r.wall for r in find(results, theirs).good()]
    low, high = min(ours_walls) / max(their_walls), max(ours_walls) / min(their_walls)
    spread = (
        f"; run against run it ranges from {low:.2f}× to {high:.2f}×, so the verdict is "
        "within the noise"
        if low <= limit < high
        else ""
    )
    return (
        f"- {label}: **{ratio:.2f}×** ({mine:.2f} s vs {base:.2f} s, medians; target ≤ "
        f"{limit:g}×{spread}): {'met' if ratio <= limit else 'NOT met'}"
    )


def hosts_targets(m: Measured, ours: str, *, http: float, https: float) -> list[str]:
    """`ours` on the HTTP list against the hand-written aiohttp client, on HTTPS against curl."""
    return [
        ratio_target(
            f"HTTP, {m.http[0].hosts.hosts:,} hosts × 2: `{ours}` wall vs the hand-written "
            "aiohttp + aiodns client",
            m.http, ours, AIOHTTP, http,
        ),
        ratio_target(
            f"HTTPS, {m.https[0].hosts.hosts:,} hosts × 2: `{ours}` wall vs `{CURL}`",
            m.https, ours, CURL, https,
        ),
    ]  # fmt: skip


def targets(m: Measured) -> list[str]:
    lines = hosts_targets(m, FETCHCLI, http=1.5, https=1.0)
    small, large = find(m.small, FETCHCLI), find(m.large, FETCHCLI)
    if small.good() and large.good():
        peak = max(r.rss_mb for r in large.good())
        growth = large.median("rss_mb") / small.median("rss_mb")
        met = peak <= 120 and growth <= 1.10
        lines.append(
            f"- peak RSS of `{FETCHCLI}` on {large.hosts.hosts:,} HTTPS hosts: **{peak:.0f} MB** "
            f"at most (target ≤ 120 MB), **{growth:.2f}×** the {small.hosts.hosts:,}-host figure "
            f"({large.median('rss_mb'):.0f} vs {small.median('rss_mb'):.0f} MB, medians; "
            f"target ≤ 1.10×): {'met' if met else 'NOT met'}"
        )
    else:
        lines.append("- peak RSS on 4,000 vs 500 HTTPS hosts: **no verified run**: NOT met")
    fetchcli_runs = [
        (r.most("max_open"), r.hosts.title, r.contender)
        for results in m.lists()
        for r in results
        if r.contender.startswith("fetchcli") and r.runs
    ]
    most, where, who = max(fetchcli_runs)
    lines.append(
        f"- open connections (nginx's count, sampled every {POLL_INTERVAL * 1000:.0f} ms, every "
        f"fetchcli run on every list): **{most:.0f}** at most ({who}, {where}); "
        f"target ≤ {2 * WORKERS} (`--max-connections` at `-c {WORKERS}`): "
        f"{'met' if most <= 2 * WORKERS else 'NOT met'}"
    )
    # The libcurl engine's issue: the transport auto picks, against the same contenders.
    lines += hosts_targets(m, FETCHCLI_CURL, http=1.0, https=0.8)
    curl_large = find(m.large, FETCHCLI_CURL)
    if curl_large.good():
        peak = max(r.rss_mb for r in curl_large.good())
        lines.append(
            f"- peak RSS of `{FETCHCLI_CURL}` on {curl_large.hosts.hosts:,} HTTPS hosts: "
            f"**{peak:.0f} MB** at most (target ≤ 120 MB): {'met' if peak <= 120 else 'NOT met'}"
        )
    lines += [
        ratio_target(
            f"5 % silent hosts, `-t {SILENT_TIMEOUT}`: input-order wall vs completion order",
            m.silent, FETCHCLI, FETCHCLI_COMPLETION, 1.1,
        ),
        ratio_target(
            "httpcore transport on the HTTP list: wall vs the aiohttp transport",
            m.http, FETCHCLI_HTTPCORE, FETCHCLI, 3.0,
        ),
    ]  # fmt: skip
    return lines


def chart(m: Measured, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False

    def label(name: str) -> str:  # two lines: the program, then its flags
        for cut in (" --transport", ", "):
            if cut in name:
                head, tail = name.split(cut, 1)
                return head + "\n" + f"{cut.strip(', ')} {tail.strip()}".strip()
        return name.replace(" --", "\n--", 1)

    figure, axes = plt.subplots(3, 2, figsize=(14, 13))
    panels = list(axes.flat)
    for ax, results in zip(panels, m.lists(), strict=False):
        shown = sorted(results, key=lambda r: -r.median("wall") if r.good() else 0.0)
        names = [label(r.contender) for r in shown]
        walls = [r.median("wall") if r.good() else 0.0 for r in shown]
        colours = ["#d62728" if r.contender.startswith("fetchcli") else "#7f7f7f" for r in shown]
        ax.barh(names, walls, color=colours)
        for y, (value, r) in enumerate(zip(walls, shown, strict=True)):
            text = f" {value:.2f} s" if r.good() else " failed"
            ax.text(value, y, text, va="center", fontsize=8)
        ax.set_title(shown[0].hosts.title, fontsize=10)
        ax.set_xlabel("wall time, s (median of verified runs)")
        ax.margins(x=0.18)
    rss_ax = panels[5]
    names = [r.contender for r in m.large]
    rows = range(len(names))
    for offset, results, colour in ((-0.2, m.small, "#9ecae1"), (0.2, m.large, "#08519c")):
        values = [
            find(results, n).median("rss_mb") if find(results, n).good() else 0 for n in names
        ]
        rss_ax.barh([i + offset for i in rows], values, height=0.4, color=colour,
                    label=f"{results[0].hosts.hosts:,} HTTPS hosts")  # fmt: skip
    rss_ax.set_yticks(list(rows), [label(n) for n in names])
    rss_ax.axvline(120, color="#d62728", linestyle="--", linewidth=1)
    rss_ax.set_xscale("log")  # the hand-written aiohttp client can be 20 times the others
    rss_ax.set_xlabel("peak RSS, MB (median, log scale); dashed: 120 MB")
    rss_ax.set_title("memory scaling", fontsize=10)
    rss_ax.legend(fontsize=8)
    figure.suptitle(
        f"Many hosts: names resolved by a DNS server answering after {DNS_DELAY * 1000:.0f} ms, "
        f"nginx on every 127.1.x.y, {SIZE} B each"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def versions() -> list[str]:
    def first_line(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
            return (out.stdout or out.stderr).splitlines()[0]
        except (OSError, IndexError):
            return "not found"

    def package(name: str) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} not installed"

    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "fetchcli", "pyproject.toml"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    tree = f"working tree at {head}" + (" with uncommitted changes to fetchcli" if dirty else "")
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    return [
        f"- machine: {os.cpu_count()} cores ({models[0] if models else '?'}), "
        f"{platform.platform()}",
        f"- Python {platform.python_version()}; "
        f"{first_line([str(VENV_BIN / 'fetchcli'), '--version'])} (editable install: the {tree})",
        f"- {', '.join(package(p) for p in ('aiohttp', 'aiodns', 'pycares', 'httpx', 'httpcore'))}",
        f"- {first_line(['curl', '--version'])}",
        f"- {first_line(['nginx', '-v'])}",
    ]


def server_share(m: Measured) -> str:
    """How close the servers came to being the bottleneck, from the runs themselves."""
    runs = [(run.nginx_cpu / run.wall, r) for rs in m.lists() for r in rs for run in r.good()]
    if not runs:
        return "no verified run to judge the server's load by."
    share, r = max(runs, key=lambda x: x[0])
    return (
        f"at most {share:.0%} of a run's wall time ({r.contender}, {r.hosts.title}), so nginx "
        "had CPU to spare in every run."
        if share < 0.7
        else f"up to {share:.0%} of a run's wall time ({r.contender}, {r.hosts.title}): nginx "
        "may have limited that run."
    )


def patience_text(patience: Patience) -> str:
    watch = (
        "This machine may be shared: the benchmark counts the CPU time of every other process "
        "(all but its own and kernel threads, from /proc) during each run, and a run during "
        "which they used over 10 % of a core is marked disturbed."
    )
    if not patience.per_wait:
        return watch + " A `--quick` run neither waits for quiet nor makes a disturbed run again."
    return (
        f"{watch} Before each run it waits ({patience.per_wait:.0f} s at most) until they use "
        "under 5 % of a core"
        + (", and a disturbed run is made again, once" if patience.retries else "")
        + f" ({patience.budget:.0f} s of waiting and repeating in all, at most)."
    )


def disturbance(m: Measured) -> str:
    results = [r for rs in m.lists() for r in rs]
    retried = sum(r.retried for r in results)
    kept = sum(disturbed(run) for r in results for run in r.runs)
    total = sum(len(r.runs) for r in results)
    return (
        f"This time: {retried} run{'s' if retried != 1 else ''} made again, and "
        f"{kept} of the {total} runs kept were disturbed"
        + (" (marked in the tables)." if kept else ".")
    )


def write_section(
    m: Measured, lab: Lab, patience: Patience, args: argparse.Namespace, seconds: float
) -> list[str]:
    chart_path = args.out.parent / "benchmarks-many-hosts.png"
    has_chart = chart(m, chart_path)
    http = m.http[0].hosts
    lines = [
        f"## Many hosts: {m.small[0].hosts.hosts:,} to {m.large[0].hosts.hosts:,} names, each "
        f"looked up in a DNS server that answers after {DNS_DELAY * 1000:.0f} ms",
        "",
        f"Made by `benchmarks/run.sh --many-hosts{' --quick' if args.quick else ''}` on "
        f"{time.strftime('%Y-%m-%d')} in {seconds / 60:.1f} minutes. Every run was verified URL by "
        f"URL: each URL reported exactly once, every non-silent one status 200 with {SIZE} bytes, "
        "every silent one failed with a timeout, and nginx's own request count grew by exactly the "
        "number of non-silent URLs (its status readings left out). A run that failed is listed as "
        "failed and left out of the figures.",
        "",
        *versions(),
        "",
        *(
            [
                f"> A `--quick` smoke run: lists of {http.hosts} hosts, one round. Targets are "
                "judged on a full run.",
                "",
            ]
            if args.quick
            else []
        ),
        "### Set-up",
        "",
        f"- A network namespace of its own (`{NS}`, `lo` up), so the whole of 127/8 is local and "
        f"`/etc/resolv.conf` and `/etc/hosts` are the namespace's (`/etc/netns/{NS}/`): every name "
        "is looked up in the benchmark's DNS server.",
        f"- DNS: a small asyncio server on 127.0.0.53:53 (`benchmarks/netns_servers.py`). It answers "
        f"every name under `{DOMAIN}` {DNS_DELAY * 1000:.0f} ms after the query came (an uncached "
        "lookup), each query on its own timer so none waits for another: `hN` is "
        "127.1.(N>>8).(N&255), `sN` the silent listener, AAAA queries get an empty answer, other "
        f"names NXDOMAIN; TTL 300 s. Self-check before measuring: {lab.self_check.get('dns', '?')}.",
        f"- nginx: one worker on CPU {SERVER_CPU}, `worker_connections {WORKER_CONNECTIONS}`, "
        f"`worker_rlimit_nofile {NOFILE}`, `listen 80 reuseport` and `listen 443 ssl "
        f"reuseport` (HTTP/1.1) on every address, a {SIZE}-byte text file, keep-alive 60 s. TLS: "
        f"a private CA and a wildcard certificate for `*.{DOMAIN}` (trustme, ECDSA P-256); every "
        "client trusts that CA (`--cacert`, or an ssl context).",
        "- Silent hosts: the same process as the DNS server listens on 127.2.0.1 ports 80 and 443, "
        "accepts every connection and never writes a byte. It shares the ports with nginx's "
        "wildcard listener through SO_REUSEPORT on both sides (nginx's `reuseport`); Linux hands a "
        "connection to the socket bound to its exact address, so 127.2.0.1 reaches the silent "
        "listener and every other address nginx (checked before each benchmark).",
        f"- Clients: pinned to CPU {CLIENT_CPU} (nginx, the DNS server and the sampler to "
        f"CPU {SERVER_CPU}), `ulimit -n` {NOFILE}, launched under GNU time for CPU time and peak "
        "RSS, each writing only its per-URL records, to stdout, into a tmpfs. Every one does the "
        "same work: the same list, one request per URL, the body read whole, a line or record per "
        f"URL. Contenders with a worker count run {WORKERS} workers; curl `--parallel-max "
        f"{WORKERS}`.",
        f"- Max open connections: nginx's own `Active connections` (stub_status), read every "
        f"{POLL_INTERVAL * 1000:.0f} ms on one keep-alive connection by a sampler inside the "
        "namespace, the highest reading of any run, the sampler's own connection left out. "
        "Connections opened: nginx's `accepts` over the run. DNS queries: what the DNS server "
        "received (A and AAAA). nginx CPU: its CPU seconds over the run; "
        f"{server_share(m)}",
        f"- Lists: two URLs per host (`/512.txt?n=1`, `?n=2`, next to each other), hosts in "
        f"order. The silent list makes every {m.silent[0].hosts.silent_every}th host an `sN` "
        f"(5 %) and runs every contender with a {SILENT_TIMEOUT} s timeout (`-t "
        f"{SILENT_TIMEOUT}`, curl `-m {SILENT_TIMEOUT}`, the same per phase for the Python "
        "clients).",
        f"- Wall: from launch to exit, median of the verified runs, rounds interleaved; CPU, RSS, "
        f"connections and queries: medians, except max open connections (the highest of any "
        f"run). Rounds: {args.rounds} for every contender a target depends on (and for the cheap "
        f"ones), one for the others, said under each table; a contender whose first run took "
        f"over {SLOW:.0f} s runs once. {patience_text(patience)} {disturbance(m)}",
        "",
        "### Targets",
        "",
        *targets(m),
        "",
        *(["![wall times and peak RSS](benchmarks-many-hosts.png)", ""] if has_chart else []),
    ]
    for results in m.lists():
        lines += [f"### {results[0].hosts.title}", "", *results_table(results, args.rounds), ""]
    return lines


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="rounds per list (3)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 hosts, one round")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--workers",
        action="store_true",
        help="only the HTTPS list, fetchcli --workers 1 and 2 on both cores; appends to "
        "docs/benchmarks-cores.md",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("many_hosts.py needs root (ip netns, nginx on ports 80 and 443)")
    args.rounds = 1 if args.quick else args.runs
    scale = 10 if args.quick else 1
    cap = 60.0 if args.quick else 300.0  # the longest a run may take
    patience = (
        Patience(per_wait=0, budget=0, retries=False)
        if args.quick
        else Patience(per_wait=10, budget=150, retries=True)
    )
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    lab = Lab()
    out_dir = tmpfs_dir("fetchcli-many-hosts-", WORK.parent)
    try:
        lab.start(dns_check_count=4000 // scale)
        lists = {
            "http": HostList("http", f"HTTP, {2000 // scale:,} hosts × 2 URLs", "http", 2000 // scale),
            "https": HostList("https", f"HTTPS, {2000 // scale:,} hosts × 2 URLs", "https", 2000 // scale),
            "silent": HostList(
                "silent", f"HTTP, {2000 // scale:,} hosts × 2 URLs, 5 % silent, {SILENT_TIMEOUT} s timeout",
                "http", 2000 // scale, silent_every=20, timeout=SILENT_TIMEOUT,
            ),
            "small": HostList("small", f"HTTPS, {500 // scale:,} hosts × 2 URLs", "https", 500 // scale),
            "large": HostList("large", f"HTTPS, {4000 // scale:,} hosts × 2 URLs", "https", 4000 // scale),
        }  # fmt: skip
        # Every round for what a target depends on (and for what is cheap), else one run.
        plan = {
            "http": [(CURL, True), (AIOHTTP, True), (HTTPX, False), (FETCHCLI, True),
                     (FETCHCLI_HTTPCORE, True), (FETCHCLI_CURL, True)],
            "https": [(CURL, True), (AIOHTTP, False), (HTTPX, False), (FETCHCLI, True),
                      (FETCHCLI_HTTPCORE, False), (FETCHCLI_CURL, True)],
            "silent": [(CURL, False), (AIOHTTP, False), (FETCHCLI, True),
                       (FETCHCLI_COMPLETION, True)],
            "small": [(CURL, True), (AIOHTTP, True), (FETCHCLI, True), (FETCHCLI_HTTPCORE, True),
                      (FETCHCLI_CURL, True)],
            "large": [(CURL, False), (AIOHTTP, False), (FETCHCLI, True),
                      (FETCHCLI_HTTPCORE, False), (FETCHCLI_CURL, True)],
        }  # fmt: skip
        if args.workers:
            return workers_part(lab, lists["https"], args.rounds, out_dir, cap, patience)
        measured: dict[str, list[Result]] = {}
        for key, hosts in lists.items():
            print(f"{hosts.title}:", flush=True)
            measured[key] = measure(lab, hosts, plan[key], args.rounds, out_dir, cap, patience)
    finally:
        lab.stop()
        remove_tmpfs_dir(out_dir)
    m = Measured(**measured)
    raw = WORK / "results.json"
    raw.write_text(
        json.dumps(
            {k: [{"contender": r.contender, "runs": [asdict(x) for x in r.runs]} for r in v]
             for k, v in measured.items()},
            indent=1,
        )
    )  # fmt: skip
    section = write_section(m, lab, patience, args, time.perf_counter() - started)
    write_part(args.out, "many-hosts", section)
    print("\n".join(targets(m)))
    print(f"wrote {args.out} (raw figures in {raw})")


def workers_part(
    lab: Lab, hosts: HostList, rounds: int, out_dir: Path, cap: float, patience: Patience
) -> None:
    """--workers on the many-hosts HTTPS list, appended to docs/benchmarks-cores.md."""
    plan = [(FETCHCLI, True), (FETCHCLI_W1, True), (FETCHCLI_W2, True)]
    results = measure(lab, hosts, plan, rounds, out_dir, cap, patience)
    wall = {r.contender: r.median("wall") for r in results if r.good()}
    lines = [
        WORKERS_SECTION,
        "",
        f"Written by `benchmarks/many_hosts.py --workers` on {time.strftime('%Y-%m-%d')}: "
        f"{hosts.title}, names from a DNS server answering after 20 ms, in a network namespace; "
        f"servers pinned to CPU {SERVER_CPU}; median of {rounds} interleaved rounds, verified "
        "URL by URL. (Peak RSS here is the largest process's, not the sum: see above.)",
        "",
        *results_table(results, rounds),
        "",
    ]
    if FETCHCLI_W1 in wall and FETCHCLI_W2 in wall:
        lines.append(
            f"`--workers 2` against `--workers 1` on the same two cores: "
            f"{wall[FETCHCLI_W1] / wall[FETCHCLI_W2]:.2f}× the rate; against one process pinned "
            f"to its own core: {wall.get(FETCHCLI, 0) / wall[FETCHCLI_W2]:.2f}×."
        )
    path = ROOT / "docs" / "benchmarks-cores.md"
    text = path.read_text() if path.exists() else ""
    text = text.split(f"\n{WORKERS_SECTION}")[0].rstrip("\n")
    path.write_text(text + "\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
