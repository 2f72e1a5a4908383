"""The http layer: the one httpx client, its transports (aiohttp, httpcore, libcurl), names,
proxies; the only code that knows httpcore, aiohttp, c-ares and libcurl."""
