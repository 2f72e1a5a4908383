"""--workers fitted to the CPUs and to the URLs known in advance."""

from __future__ import annotations

from fetchcli.run.cores import fit_workers, usable_cpus
from fetchcli.settings.model import Config, PoolConfig


def _config(workers: int, *sources: str) -> Config:
    return Config(sources=sources, pool=PoolConfig(workers=workers))


def test_never_more_workers_than_url_arguments() -> None:
    fitted, warning = fit_workers(_config(8, "https://a.test/", "https://b.test/"), cpus=16)
    assert fitted.pool.workers == 2
    assert warning == "--workers 8: 2 URLs, so 2 workers"


def test_a_list_file_is_not_counted_and_fitting_workers_says_nothing() -> None:
    config = _config(4, "urls.txt", "https://a.test/")
    assert fit_workers(config, cpus=4) == (config, None)


def test_the_cpus_bound_first() -> None:
    fitted, warning = fit_workers(_config(999, "-"), cpus=3)
    assert (fitted.pool.workers, warning) == (3, "--workers 999: 3 usable CPUs here, so 3 workers")


def test_usable_cpus_is_the_affinity_mask() -> None:
    import os

    assert usable_cpus() == len(os.sched_getaffinity(0))
