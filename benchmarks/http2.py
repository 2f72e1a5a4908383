"""HTTP/2 over TLS on one host: fetchcli --http2 (the curl transport) against curl -Z --http2,
10,000 × 512 B from the local nginx of bench.py with a certificate made by trustme, each
client pinned to one core, interleaved rounds, every run verified (each URL 200 with 512
bytes, nginx served one request per URL). Writes docs/benchmarks-http2.md.

    benchmarks/.venv/bin/python benchmarks/http2.py [--runs N] [--count N]
"""

from __future__ import annotations

import platform
import subprocess
import time
from pathlib import Path

import bench
import cores
import trustme

TLS_PORT = 8443
CONCURRENCY = "100"  # streams in flight: curl's --parallel-max, fetchcli's -c


def _certificate() -> tuple[Path, Path, Path]:
    """(CA file, server certificate chain, its key) for 127.0.0.1, in bench.WORK."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    paths = tuple(bench.WORK / name for name in ("h2-ca.pem", "h2-cert.pem", "h2-key.pem"))
    ca.cert_pem.write_to_path(str(paths[0]))
    server.private_key_and_cert_chain_pem.write_to_path(str(paths[1]))
    server.private_key_pem.write_to_path(str(paths[2]))
    return paths  # type: ignore[return-value]


def _curl(cafile: Path) -> cores.Contender:
    def argv(listing: Path) -> list[str]:
        config = listing.with_suffix(".curl")
        if not config.exists():
            with config.open("w") as out:
                for url in listing.read_text().split():
                    out.write(f'url = "{url}"\noutput = "/dev/null"\n')
        return [
            "curl", "-s", "--no-progress-meter", "--http2", "--cacert", str(cafile), "-Z",
            "--parallel-max", CONCURRENCY, "-K", str(config),
            "-w", "%{http_code} %{size_download}\\n",
        ]  # fmt: skip

    def parse(out: Path) -> tuple[int, int]:
        outcome = bench.parse_pairs(out, out)
        return outcome.ok, outcome.bytes

    return cores.Contender("curl -Z --http2 --parallel-max 100", cores.ONE_CORE, argv, parse)


def _fetchcli(cafile: Path) -> cores.Contender:
    argv = cores._fetchcli("-c", CONCURRENCY, "--http2", "--cacert", str(cafile))
    return cores.Contender("fetchcli -c 100 --http2", cores.ONE_CORE, argv, cores.parse_jsonl)


def report(count: int, results: list[cores.Result], runs: int) -> list[str]:
    curl, fetchcli = results
    ratio = fetchcli.rate(count) / curl.rate(count) if curl.rate(count) else 0.0
    lines = [
        "# HTTP/2 over TLS, one host",
        "",
        f"Written by `benchmarks/http2.py` on {time.strftime('%Y-%m-%d')}: {count:,} URLs of a "
        f"512-byte file over HTTPS with HTTP/2 from one local nginx (pinned to CPU "
        f"{bench.SERVER_CPU}), each client pinned to CPU {cores.ONE_CORE}, {CONCURRENCY} streams "
        f"in flight, median of {runs} interleaved rounds, Python {platform.python_version()}. "
        "Every run verified (each URL 200 with 512 bytes, one request per URL).",
        "",
        "| client | req/s median (min–max) | CPU µs/request | peak RSS MB | verified |",
        "|---|---:|---:|---:|---|",
    ]
    for result in results:
        good = result.good()
        rates = [count / run.wall for run in good]
        span = f" ({min(rates):,.0f}–{max(rates):,.0f})" if rates else ""
        lines.append(
            f"| {result.contender.name} | {result.rate(count):,.0f}{span} | "
            f"{result.median('cpu') / count * 1e6:.0f} | {result.median('rss_mb'):.0f} | "
            f"{len(good)}/{len(result.runs)} |"
        )
    met = "met" if ratio >= 0.5 else "NOT met"
    lines += ["", f"fetchcli against curl: **{ratio:.2f}×** the rate (target ≥ 0.5×): {met}."]
    return lines


def main() -> None:
    args = cores.one_host_arguments(__doc__, "benchmarks-http2.md")
    cafile, chain, key = _certificate()
    bench.start_nginx(
        f"listen 127.0.0.1:{TLS_PORT} ssl http2; "
        f"ssl_certificate {chain}; ssl_certificate_key {key};"
    )
    try:
        listing = bench.WORK / f"h2-{args.count}.txt"
        listing.write_text(
            "".join(f"https://127.0.0.1:{TLS_PORT}/512.txt?i={i}\n" for i in range(args.count))
        )
        listing.with_suffix(".curl").unlink(missing_ok=True)
        probe = subprocess.run(
            ["curl", "-s", "--http2", "--cacert", str(cafile), "-o", "/dev/null", "-w",
             "%{http_version}", f"https://127.0.0.1:{TLS_PORT}/512.txt"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        if probe.stdout != "2":
            raise SystemExit(f"nginx did not answer in HTTP/2 (curl saw {probe.stdout!r})")
        results = cores.measure([_curl(cafile), _fetchcli(cafile)], listing, args.count, args.runs)
    finally:
        bench.stop_nginx()
    cores.publish(report(args.count, results, args.runs), args.out, results)


if __name__ == "__main__":
    main()
