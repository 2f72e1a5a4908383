"""fetchcli: fetch many URLs concurrently over one shared httpx.AsyncClient."""

__version__ = "0.1.0"
