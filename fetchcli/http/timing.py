"""What a transport tells the layers above about the connection a response came on, in the
response's extensions: where it went (REMOTE_IP, always), when the run asks for timings how
long each phase took (PHASES, a Phases), and with --tls-info its handshake (TLS, a
http/certificates.py Handshake: that module is imported only by the runs that ask)."""

from __future__ import annotations

from typing import NamedTuple

REMOTE_IP = "fetchcli.remote_ip"
PHASES = "fetchcli.phases"
TLS = "fetchcli.tls"


class Phases(NamedTuple):
    """Seconds spent in one request's phases on its transport; None for a phase that did not
    happen (a reused connection has no dns, connect or tls). A named tuple, not a record: one
    is made per request with --timings and read once, by the fetcher, at half a dataclass's
    cost."""

    pool: float | None = None  # waiting in the transport for a connection
    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    ttfb: float | None = None  # the request sent -> the first byte of the response


def span(start: float | None, end: float | None) -> float | None:
    """end - start when both happened (never below 0: clocks of one transfer may round)."""
    if start is None or end is None:
        return None
    return max(0.0, end - start)
