"""What bench.py (one host) and many_hosts.py share: the report file's two parts, a tmpfs, the
byte-code of the tree under test."""

from __future__ import annotations

import compileall
import os
import subprocess
import tempfile
from pathlib import Path

# docs/benchmarks.md holds the one-host report, then this line, then the many-hosts section;
# each script rewrites its own part and keeps the other.
MANY_HOSTS_MARKER = (
    "<!-- many-hosts: the part below is written by benchmarks/many_hosts.py "
    "(benchmarks/run.sh --many-hosts) -->"
)
# docs/benchmarks-cores.md: cores.py's part, then this section, which many_hosts.py --workers
# rewrites; each keeps the other's.
WORKERS_SECTION = "## Many hosts, HTTPS, `--workers`"


def compile_bytecode(package: Path) -> None:
    """Every module of `package` compiled, and children free to write byte-code, before any
    contender runs: a user's install is compiled (pip writes the .pyc files), the editable
    install here has only what earlier runs left, and none at all when PYTHONDONTWRITEBYTECODE
    is set, which made every fetchcli run compile a third of its modules again (the clients
    beside it were pip-installed, compiled)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(package, quiet=1)


def write_part(path: Path, part: str, lines: list[str]) -> None:
    """Replace PART ("one-host" or "many-hosts") of the report at PATH with LINES."""
    head: list[str] = []
    tail: list[str] = []
    if path.exists():
        text = path.read_text().splitlines()
        if MANY_HOSTS_MARKER in text:
            at = text.index(MANY_HOSTS_MARKER)
            head, tail = text[:at], text[at + 1 :]
        else:
            head = text
    if part == "one-host":
        head = lines
    elif part == "many-hosts":
        tail = lines
    else:
        raise ValueError(part)
    while head and not head[-1].strip():
        head.pop()
    body = head + (["", MANY_HOSTS_MARKER, "", *tail] if tail else [])
    while body and not body[0].strip():
        body.pop(0)
    path.write_text("\n".join(body).rstrip("\n") + "\n")


def tmpfs_dir(prefix: str, fallback_parent: Path) -> Path:
    """A fresh directory in memory: in /dev/shm when that is a tmpfs, else on a tmpfs mounted
    under FALLBACK_PARENT (needs root). Remove it with remove_tmpfs_dir."""
    mounts = Path("/proc/mounts").read_text().splitlines()
    if any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in mounts):
        return Path(tempfile.mkdtemp(prefix=prefix, dir="/dev/shm"))
    target = fallback_parent / f"{prefix}tmpfs"
    target.mkdir(parents=True, exist_ok=True)
    if not any(line.split()[1:2] == [str(target)] for line in mounts):
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g", "tmpfs", str(target)], check=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=target))


def remove_tmpfs_dir(path: Path) -> None:
    subprocess.run(["rm", "-rf", "--", str(path)], check=False)
