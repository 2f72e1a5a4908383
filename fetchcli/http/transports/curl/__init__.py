"""libcurl (pycurl) as an httpx transport, driven by the asyncio loop."""
