"""ruff with the rules of pyproject.toml [tool.ruff], run here so that CI fails on a finding
(the Python files; ruff reads no Cython)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PATHS = ["samsyn", "samsyn_fast", "tests", "bench", "migrations", "scripts"]


def test_ruff_finds_nothing() -> None:
    out = subprocess.run([str(Path(sys.executable).with_name("ruff")), "check", "--no-cache",
                          *PATHS], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-8000:] + out.stderr[-2000:]
