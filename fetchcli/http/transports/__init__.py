"""The transports under the one httpx.AsyncClient: aiohttp, httpcore, libcurl."""
