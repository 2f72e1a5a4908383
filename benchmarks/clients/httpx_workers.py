"""Hand-written httpx client: N workers over one AsyncClient, httpcore or aiohttp underneath.
Prints "ok OK_COUNT BYTES"."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx


async def main(path: str, workers: int, transport_name: str) -> None:
    urls = Path(path).read_text().split()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    ok = total = 0
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    transport = None
    if transport_name == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(limits=limits)

    async def work(client: httpx.AsyncClient) -> None:
        nonlocal ok, total
        while not queue.empty():
            url = queue.get_nowait()
            response = await client.get(url)
            ok += response.status_code == 200
            total += len(response.content)

    async with httpx.AsyncClient(limits=limits, transport=transport) as client:
        await asyncio.gather(*(work(client) for _ in range(workers)))
    print("ok", ok, total)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
