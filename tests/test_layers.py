"""The package's folders are its layers: every import runs down, nothing forms a circle, and
typer, rich, httpx and aiohttp stay inside the parts that own them (pyproject.toml's
[tool.importlinter] contracts, checked by import-linter)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_import_contracts_are_kept() -> None:
    """lint-imports finds every contract kept."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    done = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:]
