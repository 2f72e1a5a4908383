"""Running out of file descriptors: told apart from the URL's own failure (the process's
shortage, waited out or reported as kind `io`, never as a network error). The budget that
keeps a run inside the limit is run/budget.py."""

from __future__ import annotations

import errno
import resource

from fetchcli.errors import exception_chain

_EXHAUSTED = (errno.EMFILE, errno.ENFILE)


def exhausted(exc: BaseException) -> bool:
    """True when `exc` is, or was caused by, running out of descriptors (EMFILE, ENFILE)."""
    return any(
        isinstance(cause, OSError) and cause.errno in _EXHAUSTED for cause in exception_chain(exc)
    )


def exhausted_message() -> str:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return f"out of file descriptors: the open-file limit (ulimit -n) is {soft}"
