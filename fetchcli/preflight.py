"""Everything a run will read or must write, checked once, before anything is fetched: a typo
in a file name or an unwritable directory is a usage error (exit 2), not a thousand failures."""

from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path
from typing import BinaryIO

from fetchcli.errors import UsageError, cannot_read, cannot_write
from fetchcli.input.sources import STDIN, is_special_file, is_url_argument
from fetchcli.settings.model import Config


def check_inputs(config: Config, stdout: BinaryIO | None = None) -> None:
    """Raise UsageError for the first input that cannot be read or output that cannot be made,
    or an output that is also an input (`stdout`: the run's, when it may be a file)."""
    sources = [Path(s) for s in config.sources if s != STDIN and not is_url_argument(s)]
    files: list[tuple[Path, str | None]] = [(source, None) for source in sources]
    skip_done = config.input.skip_done
    if skip_done is not None and skip_done.exists():  # missing: a cron job's first run
        files.append((skip_done, "--skip-done"))
    if config.request.cacert is not None:
        files.append((config.request.cacert, "--cacert"))
    for path, option in files:
        _check_readable(path, option)
    if config.run.merge:
        for source in sources:
            if is_special_file(str(source)):
                raise UsageError(f"--merge: '{source}' is not a plain file: each is read twice")
    _check_not_read_back(sources, config.output.records, stdout)
    if config.request.cacert is not None:
        _check_certificates(config.request.cacert)
    if config.output.save is not None:
        from fetchcli.output.save import prepare_directory  # a one-off run saves nothing

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
    """Open a file to see that it can be read; a FIFO only by its permissions: opening it would
    wait for a writer, and closing it again would lose what the writer sent."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            if not os.access(path, os.R_OK):
                raise PermissionError(13, os.strerror(13))
            return
        with path.open("rb"):
            pass
    except OSError as exc:
        raise cannot_read(path, exc, option) from None


def _check_not_read_back(
    sources: list[Path], records: Path | None, stdout: BinaryIO | None
) -> None:
    """A run whose records go into one of its own SOURCE files would read them back as URLs."""
    outputs: list[tuple[str, os.stat_result]] = []
    if records is not None and records.exists():
        outputs.append((f"--records: '{records}'", records.stat()))
    stdout_file = _regular_file(stdout)
    if stdout_file is not None:
        outputs.append(("stdout", stdout_file))
    for source in sources:
        found = source.stat()
        for name, output in outputs:
            if (found.st_dev, found.st_ino) == (output.st_dev, output.st_ino):
                raise UsageError(
                    f"{name} is the SOURCE '{source}': the run would read its own output back"
                )


def _regular_file(stream: BinaryIO | None) -> os.stat_result | None:
    try:
        status = os.fstat(stream.fileno()) if stream is not None else None
    except (OSError, AttributeError, ValueError):
        return None  # a BytesIO in a test, a closed stdout
    return status if status is not None and stat.S_ISREG(status.st_mode) else None


def _check_writable(path: Path, option: str) -> None:
    """A file written when the run ends must be writable now: a temporary file beside it."""
    import tempfile  # only for a file the run will write: not at every start

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
