"""Run a command and print its peak RSS in KiB: `python -m tests.peak_rss CMD...`.

A child's ru_maxrss includes the memory of the process it was forked from, before its exec;
forked from a test process holding a server, it would report that process's size. Launched
from this small process instead, the figure is the command's own.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main() -> None:
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)


if __name__ == "__main__":
    main()
