"""Hand-written aiohttp + aiodns client for the many-hosts benchmark: N workers over one
ClientSession whose TCPConnector resolves with aiodns (c-ares) and holds at most N connections.

    aiohttp_aiodns.py LIST WORKERS [--cacert PEM] [--timeout SECONDS]

Prints one line per URL as it completes: "STATUS BYTES ERROR URL" (ERROR is "-", or "timeout" or
the exception's name with status 0). --timeout bounds connecting (DNS, TCP, TLS and the wait for
a pooled connection) and each read, as fetchcli's -t does; without it nothing is bounded (as curl).
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from pathlib import Path

import aiohttp


async def main(path: str, workers: int, cacert: str | None, timeout: float | None) -> None:
    urls = iter(Path(path).read_text().split())
    out = sys.stdout
    context = ssl.create_default_context(cafile=cacert) if cacert else True
    limits = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)

    async def work(session: aiohttp.ClientSession) -> None:
        for url in urls:  # one iterator shared by every worker
            try:
                async with session.get(url) as response:
                    body = await response.read()
                out.write(f"{response.status} {len(body)} - {url}\n")
            except TimeoutError:
                out.write(f"0 0 timeout {url}\n")
            except aiohttp.ClientError as exc:
                out.write(f"0 0 {type(exc).__name__} {url}\n")

    connector = aiohttp.TCPConnector(resolver=aiohttp.AsyncResolver(), limit=workers, ssl=context)
    async with aiohttp.ClientSession(connector=connector, timeout=limits) as session:
        await asyncio.gather(*(work(session) for _ in range(workers)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("list")
    parser.add_argument("workers", type=int)
    parser.add_argument("--cacert")
    parser.add_argument("--timeout", type=float)
    args = parser.parse_args()
    asyncio.run(main(args.list, args.workers, args.cacert, args.timeout))
