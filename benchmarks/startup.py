"""What a one-off run costs, the whole process: fetchcli against HTTPie and curl on one local URL,
beside `python -c pass`, `python -c "import httpx"` and the imports a fetch cannot do without
(typer, httpx, asyncio, pycurl), pinned to the client core.

fetchcli and HTTPie run from a venv of their own (benchmarks/.work/installed), each installed as
its user installs it, `pip install .` and `pip install httpie`: not from benchmarks/.venv, whose
editable fetchcli puts a finder in every start of every program there (a .pth file imports it,
~20-35 ms on this machine), HTTPie's and `python -c pass` too. The working tree is reinstalled
into it at each run.

The commands take turns round after round (interleaved, so a noisy moment hits all of them), with
byte-code caches written (a first warm-up round each), and each output is checked: every
contender fetched the same 512-byte body. Prints the medians and the ratios the README quotes,
and writes docs/benchmarks-startup.md.

    benchmarks/.venv/bin/python benchmarks/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bench

ROOT = Path(__file__).resolve().parent.parent
URL = f"http://127.0.0.1:{bench.PORT}/512.txt"
INSTALLED = bench.WORK / "installed"  # the venv the contenders run from, installed as users do
BIN = INSTALLED / "bin"
PYTHON, FETCHCLI = str(BIN / "python"), str(BIN / "fetchcli")


def _holds(text: bytes) -> Callable[[bytes], bool]:
    return lambda out: text in out.replace(b" ", b"")


@functools.cache
def _served() -> bytes:
    return (bench.WORK / "www" / "512.txt").read_bytes()


def _body(out: bytes) -> bool:
    return out == _served()


def install() -> None:
    """The venv, with the working tree's fetchcli (not editable) and HTTPie in it."""
    pip = [str(BIN / "pip"), "install", "-q"]
    if not (BIN / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(INSTALLED)], check=True)
        subprocess.run([*pip, str(ROOT), "httpie"], check=True)
    else:  # the working tree as it is now, over the last run's copy
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(ROOT)], check=True)


# name -> (command, whether its stdout shows it did the work)
COMMANDS: dict[str, tuple[list[str], Callable[[bytes], bool]]] = {
    "python -c pass": ([PYTHON, "-c", "pass"], _holds(b"")),
    'python -c "import httpx"': ([PYTHON, "-c", "import httpx"], _holds(b"")),
    # The floor under a one-off fetch: the interpreter and the libraries it cannot do without.
    'python -c "import typer, httpx, asyncio, pycurl"': (
        [PYTHON, "-c", "import typer, httpx, asyncio, pycurl"],
        _holds(b""),
    ),
    "fetchcli --version": ([FETCHCLI, "--version"], _holds(b"fetchcli")),
    "fetchcli --help": ([FETCHCLI, "--help"], _holds(b"Usage")),
    "fetchcli -q URL (a record)": ([FETCHCLI, "-q", URL], _holds(b'"status":200')),
    "fetchcli -q -f body URL (the body)": ([FETCHCLI, "-q", "-f", "body", URL], _body),
    "http --body GET URL (HTTPie)": ([str(BIN / "http"), "--body", "GET", URL], _body),
    "curl -s URL": (["curl", "-s", URL], _body),
}


def _environment() -> dict[str, str]:
    """As a user's shell has it: byte-code caches read and written, no proxy, no colour."""
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["NO_COLOR"] = "1"
    return env


def _once(argv: list[str], did_the_work: Callable[[bytes], bool], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        ["taskset", "-c", bench.CLIENT_CPU, *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        check=True,
    )
    elapsed = (time.perf_counter() - started) * 1000
    if not did_the_work(done.stdout):
        raise SystemExit(f"{argv}: unexpected output {done.stdout[:200]!r}")
    return elapsed


def measure(runs: int, names: list[str] | None = None) -> dict[str, float]:
    """Median ms per command, `runs` interleaved rounds after one warm-up round."""
    chosen = {n: COMMANDS[n] for n in names or COMMANDS}
    env = _environment()
    times: dict[str, list[float]] = {name: [] for name in chosen}
    for round_ in range(runs + 1):
        for name, (argv, did_the_work) in chosen.items():
            elapsed = _once(argv, did_the_work, env)
            if round_:  # the first round writes the caches
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def report(medians: dict[str, float], runs: int) -> list[str]:
    httpie = medians["http --body GET URL (HTTPie)"]
    httpx_import = medians['python -c "import httpx"']
    lines = [
        "# Start-up",
        "",
        f"`benchmarks/startup.py --runs {runs}`: {platform.python_implementation()} "
        f"{platform.python_version()}, each command pinned to CPU {bench.CLIENT_CPU}, one local "
        f"nginx URL (512 B), {runs} interleaved rounds after a warm-up round, medians. "
        "fetchcli (the working tree) and HTTPie installed as users install them, `pip install`, "
        "not editable, in one venv of their own.",
        "",
        "| command | ms | × HTTPie | × import httpx |",
        "|---|---:|---:|---:|",
    ]
    for name, ms in medians.items():
        lines.append(f"| `{name}` | {ms:.0f} | {ms / httpie:.2f} | {ms / httpx_import:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-startup.md")
    args = parser.parse_args()
    install()
    bench.start_nginx()
    try:
        lines = report(measure(args.runs), args.runs)
    finally:
        bench.stop_nginx()
    print("\n".join(lines))
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
