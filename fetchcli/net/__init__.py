"""The network: the one httpx client, its transports and pools, names, one URL and many."""
