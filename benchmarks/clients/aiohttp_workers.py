"""Hand-written aiohttp client: N workers over one ClientSession. Prints "ok OK_COUNT BYTES"."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp


async def main(path: str, workers: int) -> None:
    urls = Path(path).read_text().split()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    ok = total = 0

    async def work(session: aiohttp.ClientSession) -> None:
        nonlocal ok, total
        while not queue.empty():
            url = queue.get_nowait()
            async with session.get(url) as response:
                body = await response.read()
                ok += response.status == 200
                total += len(body)

    connector = aiohttp.TCPConnector(limit=workers)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(work(session) for _ in range(workers)))
    print("ok", ok, total)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
