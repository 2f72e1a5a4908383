"""Downloads: what verifying costs and how well --limit-rate holds, fetchcli against the local
nginx of bench.py, client pinned to one core, in one run.

  1. 50 × 5 MiB saved to a tmpfs with --save, then the same with --checksums (every file
     listed, so every body is hashed with SHA-256 as it is written): CPU seconds per run,
     interleaved rounds, every file checked against the served bytes.
  2. 20 × 5 MiB under --limit-rate 20M (-c 4): the run's rate against the cap.

Writes docs/benchmarks-downloads.md.

  benchmarks/.venv/bin/python benchmarks/downloads.py [--runs N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import bench
import benchlib
import cores

FILE, SIZE = "5m.bin", 5 * 1024 * 1024
FETCHCLI = str(bench.VENV_BIN / "fetchcli")


def _run(
    args: list[str], directory: Path, count: int, digest: str, file: str = FILE
) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run, each saved file checked."""
    listing = bench.WORK / f"downloads-{file}-{count}.txt"
    listing.write_text(
        "".join(f"http://127.0.0.1:{bench.PORT}/{file}?i={i}\n" for i in range(count))
    )
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["taskset", "-c", cores.ONE_CORE, FETCHCLI, "-q", "--no-progress", "--save",
         str(directory), *args, str(listing)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    saved = sorted(directory.iterdir())
    ok = os.waitstatus_to_exitcode(status) == 0 and len(saved) == count
    ok = ok and all(hashlib.sha256(path.read_bytes()).hexdigest() == digest for path in saved)
    if not ok:
        raise SystemExit(f"a run did not save {count} good files: {args}")
    for path in saved:
        path.unlink()
    return wall, usage.ru_utime + usage.ru_stime


def _hash_alone(data: bytes, count: int, piece: int = 16 * 1024) -> float:
    """CPU seconds SHA-256 alone takes over `count` copies of `data` in libcurl's 16 KiB
    pieces, in this process: the least that --checksums can add to a run."""
    started = time.process_time()
    for _ in range(count):
        digest = hashlib.sha256()
        for start in range(0, len(data), piece):
            digest.update(data[start : start + piece])
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=bench.ROOT / "docs" / "benchmarks-downloads.md")
    args = parser.parse_args()
    os.sched_setaffinity(0, {int(bench.SERVER_CPU)})
    bench.WORK.mkdir(parents=True, exist_ok=True)
    bench.start_nginx()
    directory = benchlib.tmpfs_dir("fetchcli-downloads-", bench.WORK)
    try:
        digest = hashlib.sha256((bench.WORK / "www" / FILE).read_bytes()).hexdigest()
        sums = bench.WORK / "SHA256SUMS"
        sums.write_text(f"{digest}  {FILE}\n")
        plain, checked = [], []
        for _ in range(args.runs):
            plain.append(_run(["--max-size", "1GB"], directory, 50, digest)[1])
            checked.append(
                _run(["--max-size", "1GB", "--checksums", str(sums)], directory, 50, digest)[1]
            )
        served = (bench.WORK / "www" / FILE).read_bytes()
        alone = min(_hash_alone(served, 50) for _ in range(3))
        capped = _run(["--limit-rate", "20M", "-c", "4"], directory, 20, digest)[0]
        # The process's own start and end, without the transfer: one 512-byte file.
        small = hashlib.sha256((bench.WORK / "www" / "512.txt").read_bytes()).hexdigest()
        overhead = min(_run(["-c", "4"], directory, 1, small, "512.txt")[0] for _ in range(3))
    finally:
        benchlib.remove_tmpfs_dir(directory)
        bench.stop_nginx()
    rate = 20 * SIZE / (capped - overhead)
    base, hashed = statistics.median(plain), statistics.median(checked)
    lines = [
        "# Downloads",
        "",
        f"Written by `benchmarks/downloads.py` on {time.strftime('%Y-%m-%d')}: a 5 MiB file from "
        f"one local nginx (pinned to CPU {bench.SERVER_CPU}), saved to a tmpfs, fetchcli pinned to "
        f"CPU {cores.ONE_CORE}, Python {platform.python_version()}; every saved file checked "
        "against the served bytes.",
        "",
        f"| run | CPU seconds (median of {args.runs}) | per file |",
        "|---|---:|---:|",
        f"| 50 × 5 MiB, --save | {base:.2f} | {base / 50 * 1000:.1f} ms |",
        f"| 50 × 5 MiB, --save --checksums (SHA-256 of every body) | {hashed:.2f} | "
        f"{hashed / 50 * 1000:.1f} ms |",
        "",
        f"Hashing costs {hashed / base:.2f}× the CPU of saving alone (target ≤ 1.15×). SHA-256 "
        f"by itself over the same {50 * SIZE / 1e6:.0f} MB, in 16 KiB pieces (hashlib, OpenSSL): "
        f"{alone:.2f} s, {50 * SIZE / alone / 1e9:.2f} GB/s — {alone / base:.0%} of the saving "
        f"run's CPU, so no run that hashes every byte can cost less than "
        f"{(base + alone) / base:.2f}× here.",
        "",
        f"20 × 5 MiB under `--limit-rate 20M -c 4`: {capped:.2f} s, of which {overhead:.2f} s is "
        f"the process's own start and end (a run of one 512-byte file): {rate / 1e6:.2f} MB/s "
        f"against a cap of 20 MB/s ({rate / 20e6:.3f}× the cap; target within 5 %).",
    ]
    print("\n".join(lines))
    args.out.write_text("\n".join(lines) + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
