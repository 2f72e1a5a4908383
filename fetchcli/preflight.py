"""Everything a run will read or must write, checked once, before anything is fetched: a typo
in a file name or an unwritable directory is a usage error (exit 2), not a thousand failures."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from fetchcli.config import Config
from fetchcli.errors import UsageError, cannot_read, cannot_write
from fetchcli.input.sources import STDIN, is_url_argument
from fetchcli.output.save import prepare_directory


def check_inputs(config: Config) -> None:
    """Raise UsageError for the first input that cannot be read or output that cannot be made."""
    files: list[tuple[Path, str | None]] = [
        (Path(s), None) for s in config.sources if s != STDIN and not is_url_argument(s)
    ]
    skip_done = config.input.skip_done
    if skip_done is not None and skip_done.exists():  # missing: a cron job's first run
        files.append((skip_done, "--skip-done"))
    if config.request.cacert is not None:
        files.append((config.request.cacert, "--cacert"))
    for path, option in files:
        _check_readable(path, option)
    if config.request.cacert is not None:
        _check_certificates(config.request.cacert)
    if config.output.save is not None:
        try:
            prepare_directory(config.output.save)
        except OSError as exc:
            raise cannot_write(config.output.save, exc, "--save") from None
    run = config.run
    written_later = (
        (run.failed_out, "--failed-out"),
        (run.metrics, "--metrics"),
        (run.state, "--state"),
    )
    for written, option in written_later:
        if written is not None:
            _check_writable(written, option)


def _check_readable(path: Path, option: str | None) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise cannot_read(path, exc, option) from None


def _check_writable(path: Path, option: str) -> None:
    """A file written when the run ends must be writable now: a temporary file beside it."""
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent or ".", prefix=".fetchcli-"):
            pass
    except OSError as exc:
        raise cannot_write(path, exc, option) from None


def _check_certificates(path: Path) -> None:
    """A --cacert file must hold at least one certificate that OpenSSL can load."""
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:
        raise UsageError(f"--cacert: no certificate in '{path}' (PEM expected)") from None
