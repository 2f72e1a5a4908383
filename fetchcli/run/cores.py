"""`--workers` fitted to the machine: never more processes than CPUs this process may run on
(each worker is a whole interpreter, ~0.3 s of CPU and ~35 MB to start: `--workers 999` once
ran a machine out of memory), nor more than the URLs when they are all given as arguments."""

from __future__ import annotations

import dataclasses
import os

from fetchcli.input.sources import is_url_argument
from fetchcli.settings.model import Config


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask (taskset, a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def fit_workers(config: Config, cpus: int) -> tuple[Config, str | None]:
    """The config with at most `cpus` workers, and at most one per URL argument; and the
    warning that says so when it lowered `--workers`.

    >>> from fetchcli.settings.model import PoolConfig
    >>> config = Config(sources=("urls.txt",), pool=PoolConfig(workers=64))
    >>> fitted, warning = fit_workers(config, cpus=2)
    >>> fitted.pool.workers, warning
    (2, '--workers 64: 2 usable CPUs here, so 2 workers')
    """
    asked = config.pool.workers
    workers, why = asked, ""
    if workers > cpus:
        workers, why = cpus, _count(cpus, "usable CPU") + " here"
    urls = len(config.sources)
    if urls < workers and all(is_url_argument(source) for source in config.sources):
        workers, why = max(1, urls), _count(urls, "URL")
    if workers == asked:
        return config, None
    fitted = dataclasses.replace(config, pool=dataclasses.replace(config.pool, workers=workers))
    return fitted, f"--workers {asked}: {why}, so {_count(workers, 'worker')}"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"
