"""Plain httpx client for the many-hosts benchmark: N workers over one AsyncClient on httpx's own
httpcore pool (at most N connections, all of them kept alive when idle).

    httpx_hosts.py LIST WORKERS [--cacert PEM] [--timeout SECONDS]

Prints one line per URL as it completes: "STATUS BYTES ERROR URL" (ERROR is "-", or "timeout" or
the exception's name with status 0). --timeout is httpx.Timeout(SECONDS) (connect, read, write
and pool); without it nothing is bounded (as curl).
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from pathlib import Path

import httpx


async def main(path: str, workers: int, cacert: str | None, timeout: float | None) -> None:
    urls = iter(Path(path).read_text().split())
    out = sys.stdout
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=cacert) if cacert else True
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)

    async def work(client: httpx.AsyncClient) -> None:
        for url in urls:  # one iterator shared by every worker
            try:
                response = await client.get(url)
                out.write(f"{response.status_code} {len(response.content)} - {url}\n")
            except httpx.TimeoutException:
                out.write(f"0 0 timeout {url}\n")
            except httpx.HTTPError as exc:
                out.write(f"0 0 {type(exc).__name__} {url}\n")

    async with httpx.AsyncClient(
        limits=limits, verify=verify, timeout=httpx.Timeout(timeout)
    ) as client:
        await asyncio.gather(*(work(client) for _ in range(workers)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("list")
    parser.add_argument("workers", type=int)
    parser.add_argument("--cacert")
    parser.add_argument("--timeout", type=float)
    args = parser.parse_args()
    asyncio.run(main(args.list, args.workers, args.cacert, args.timeout))
