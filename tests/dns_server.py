"""A DNS server for the tests, and a way to run fetchcli against it without touching the system.

`DnsServer` answers on 127.0.0.153:53 (UDP): names under `fetch.test` resolve to 127.0.0.1,
names under `silent.fetch.test` get no answer at all, every other name is NXDOMAIN. It counts
the questions it was asked. `resolver_sandbox()` runs a command in a mount namespace of its own
(`unshare -m`) where /etc/resolv.conf names that server and /etc/hosts is the test's file, so
neither the machine's files nor a real DNS server take part. Both need root.
"""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

ADDRESS = "127.0.0.153"
DOMAIN = "fetch.test"
SILENT = f"silent.{DOMAIN}"


class DnsServer:
    """Answers in a daemon thread until `stop()`."""

    def __init__(self) -> None:
        self.questions: collections.Counter[tuple[str, str]] = collections.Counter()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((ADDRESS, 53))
        self._sock.settimeout(0.1)  # so that stop() is seen promptly
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="DnsServer", daemon=True)
        self._thread.start()

    def asked(self, name: str, qtype: str = "A") -> int:
        return self.questions[(name, qtype)]

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                packet, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            reply = self._answer(DNSRecord.parse(packet))
            if reply is not None:
                self._sock.sendto(reply.pack(), peer)

    def _answer(self, query: DNSRecord) -> DNSRecord | None:
        name = str(query.q.qname).rstrip(".").lower()
        qtype = QTYPE[query.q.qtype]
        self.questions[(name, qtype)] += 1
        if name == SILENT or name.endswith(f".{SILENT}"):
            return None
        reply = query.reply()
        if name == DOMAIN or name.endswith(f".{DOMAIN}"):
            if qtype == "A":
                reply.add_answer(RR(name, QTYPE.A, rdata=A("127.0.0.1"), ttl=60))
            return reply  # NOERROR; no AAAA record (NODATA)
        reply.header.rcode = RCODE.NXDOMAIN
        return reply


def sandbox_available() -> bool:
    """Root, and a mount namespace can be made here."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=10)
    return probe.returncode == 0


def resolver_sandbox(directory: Path, hosts: str) -> list[str]:
    """The command prefix that runs a program with /etc/hosts holding `hosts` and the test DNS
    server as the only name server."""
    hosts_file, resolv_file = directory / "hosts", directory / "resolv.conf"
    hosts_file.write_text(hosts)
    resolv_file.write_text(f"nameserver {ADDRESS}\n")
    script = (
        'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"'
    )
    return ["unshare", "-m", "--", "sh", "-c", script, "sh", str(hosts_file), str(resolv_file)]
