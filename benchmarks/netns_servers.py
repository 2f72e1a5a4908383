"""The many-hosts benchmark's helpers, run inside its network namespace by many_hosts.py.

    netns_servers.py servers --control SOCK [--delay 0.02]   the DNS server and the silent listener
    netns_servers.py poll [--interval 0.02]                   sample nginx's stub_status
    netns_servers.py dnscheck --count N                       time N concurrent lookups

The DNS server answers every name under bench.test after --delay seconds, each query on its own
timer (call_later: a waiting query never holds up another): hN.bench.test is 127.1.(N>>8).(N&255),
where nginx answers; sN.bench.test is the silent listener's address; AAAA queries get an empty
answer, other names NXDOMAIN. The silent listener accepts connections on ports 80 and 443 of its
address and never writes a byte. Both share SO_REUSEPORT with nginx's wildcard listener, and Linux
hands a connection to the socket bound to its exact address.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import re
import resource
import socket
import struct
import sys
import threading
import time
from collections import Counter

DOMAIN = "bench.test"
SILENT_ADDRESS = "127.2.0.1"
DNS_ADDRESS = "127.0.0.53"
TTL = 300
A, AAAA, SOA = 1, 28, 6
NOERROR, FORMERR, NXDOMAIN = 0, 1, 3
NAME = re.compile(r"([hs])(\d+)")


def host_address(n: int) -> str:
    """Where hN.bench.test points: one 127/8 address per host, all of them nginx's."""
    return f"127.1.{n >> 8}.{n & 255}"


def resolve(name: str) -> str | None:
    """The address of a benchmark name, or None for a name that does not exist."""
    suffix = "." + DOMAIN
    if not name.endswith(suffix):
        return None
    match = NAME.fullmatch(name[: -len(suffix)])
    if not match:
        return None
    kind, n = match[1], int(match[2])
    if kind == "s":
        return SILENT_ADDRESS
    return host_address(n) if 0 < n < 65536 else None


def encode_name(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def _soa_record() -> bytes:
    """The zone's SOA, sent with empty and NXDOMAIN answers (RFC 2308 negative answers)."""
    rdata = (
        encode_name("ns." + DOMAIN)
        + encode_name("admin." + DOMAIN)
        + struct.pack("!IIIII", 1, 3600, 600, 86400, TTL)
    )
    return encode_name(DOMAIN) + struct.pack("!HHIH", SOA, 1, TTL, len(rdata)) + rdata


SOA_RECORD = _soa_record()


def answer(query: bytes) -> tuple[bytes, str]:
    """The reply to one query, and what kind of query it was (for the counters)."""
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    reply_flags = 0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100) | 0x0080
    if qdcount != 1 or flags & 0x8000:
        return struct.pack("!HHHHHH", ident, reply_flags | FORMERR, 0, 0, 0, 0), "malformed"
    labels, pos = [], 12
    while query[pos]:
        length = query[pos]
        if length & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(query[pos + 1 : pos + 1 + length].decode("ascii").lower())
        pos += 1 + length
    qtype, _qclass = struct.unpack("!HH", query[pos + 1 : pos + 5])
    question = query[12 : pos + 5]
    address = resolve(".".join(labels))
    if address is None:
        header = struct.pack("!HHHHHH", ident, reply_flags | NXDOMAIN, 1, 0, 1, 0)
        return header + question + SOA_RECORD, "nxdomain"
    if qtype != A:
        header = struct.pack("!HHHHHH", ident, reply_flags | NOERROR, 1, 0, 1, 0)
        return header + question + SOA_RECORD, "aaaa" if qtype == AAAA else "other"
    header = struct.pack("!HHHHHH", ident, reply_flags | NOERROR, 1, 1, 0, 0)
    record = b"\xc0\x0c" + struct.pack("!HHIH", A, 1, TTL, 4) + socket.inet_aton(address)
    return header + question + record, "a"


class DnsServer(asyncio.DatagramProtocol):
    def __init__(self, delay: float, counts: Counter[str]) -> None:
        self.delay = delay
        self.counts = counts
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply, kind = answer(data)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            self.counts["unparseable"] += 1
            return
        self.counts[kind] += 1
        assert self.transport is not None
        asyncio.get_running_loop().call_later(self.delay, self.transport.sendto, reply, addr)


class Silent(asyncio.Protocol):
    """Accepts, reads and throws away whatever comes, never answers."""

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.counts["silent_connections"] += 1

    def data_received(self, data: bytes) -> None:
        pass


async def serve(control: str, delay: float) -> None:
    loop = asyncio.get_running_loop()
    counts: Counter[str] = Counter()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: a burst never drops
    sock.bind((DNS_ADDRESS, 53))
    keep: list[object] = [  # uvloop closes a server whose object is collected
        await loop.create_datagram_endpoint(lambda: DnsServer(delay, counts), sock=sock)
    ]
    for port in (80, 443):
        keep.append(
            await loop.create_server(
                lambda: Silent(counts), SILENT_ADDRESS, port, reuse_port=True, backlog=4096
            )
        )

    async def report(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(json.dumps(counts).encode() + b"\n")
        await writer.drain()
        writer.close()

    keep.append(await asyncio.start_unix_server(report, control))
    print("ready", flush=True)
    await asyncio.Event().wait()


# --- sampling nginx ------------------------------------------------------------------------


def poll(interval: float) -> None:
    """Read stub_status on one keep-alive connection every INTERVAL until stdin says stop (or
    closes). Prints "ready" once nothing else is connected, then a JSON summary at the end.
    Every reading counts itself: the client's requests are last - first - (readings - 1)."""
    conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=5)
    readings = connects = 0

    def read() -> tuple[int, int, int]:
        nonlocal readings, connects
        if conn.sock is None:
            connects += 1
        conn.request("GET", "/nginx_status")
        text = conn.getresponse().read().decode()
        readings += 1
        lines = text.splitlines()
        active = int(lines[0].split(":")[1])
        accepts, _handled, requests = map(int, lines[2].split())
        return active, accepts, requests

    first = read()
    deadline = time.monotonic() + 10
    while first[0] > 1 and time.monotonic() < deadline:  # the last client's closes
        time.sleep(0.05)
        first = read()
    stop = threading.Event()

    def wait_for_stop() -> None:
        sys.stdin.readline()  # "stop", or the end of the pipe
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    print("ready", first[0] - 1, flush=True)
    peak, samples = first[0], 0
    while not stop.wait(interval):
        active, _, _ = read()
        peak, samples = max(peak, active), samples + 1
    last = read()
    peak = max(peak, last[0])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = {
        "idle_before": first[0] - 1,
        "max_active": peak - 1,  # less this connection
        "samples": samples,
        "requests": last[2] - first[2] - (readings - 1),
        "accepts": last[1] - first[1] - (connects - 1),
        "cpu": usage.ru_utime + usage.ru_stime,  # for the driver's count of other load
    }
    print(json.dumps(summary), flush=True)


# --- checking the DNS server ---------------------------------------------------------------


async def dnscheck(count: int) -> None:
    """COUNT A queries at once; prints the seconds until the last correct answer."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    pending = set(range(count))
    wrong = 0

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            nonlocal wrong
            ident = struct.unpack("!H", data[:2])[0]
            got = socket.inet_ntoa(data[-4:])
            wrong += got != host_address(ident + 1)
            pending.discard(ident)
            if not pending and not done.done():
                done.set_result(None)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: all answers come at once
    sock.connect((DNS_ADDRESS, 53))
    transport, _ = await loop.create_datagram_endpoint(Client, sock=sock)
    started = time.perf_counter()
    for i in range(count):
        header = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
        name = encode_name(f"h{i + 1}.{DOMAIN}")
        transport.sendto(header + name + struct.pack("!HH", A, 1))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done, 10)
    elapsed = time.perf_counter() - started
    transport.close()
    print(json.dumps({"seconds": elapsed, "unanswered": len(pending), "wrong": wrong}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    servers = sub.add_parser("servers")
    servers.add_argument("--control", required=True, help="Unix socket that reports counters")
    servers.add_argument("--delay", type=float, default=0.02)
    sampler = sub.add_parser("poll")
    sampler.add_argument("--interval", type=float, default=0.02)
    check = sub.add_parser("dnscheck")
    check.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    if args.command == "servers":
        try:
            import uvloop
        except ImportError:
            asyncio.run(serve(args.control, args.delay))
        else:
            uvloop.run(serve(args.control, args.delay))
    elif args.command == "poll":
        poll(args.interval)
    else:
        asyncio.run(dnscheck(args.count))


if __name__ == "__main__":
    main()
