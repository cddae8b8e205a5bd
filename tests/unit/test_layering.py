"""Dependencies point one way (docs/architecture.md): the import-linter contracts of
pyproject.toml [tool.importlinter], run here so that CI fails on a violation; and the one rule
import-linter cannot see, because it reads no Cython: the .pyx kernels never import samsyn."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CONTRACTS = 9


def test_import_linter_contracts_hold() -> None:
    # The kernels never import samsyn; routes -> service -> queries in every domain package; no
    # HTTP framework below the routes; services, schemas and queries never import the HTTP
    # glue or the OpenAPI declarations, which only the app imports; the compat layer is
    # framework-free and below the domain; no circles among siblings; the pipelines below the
    # jobs, the jobs below the HTTP layer. lint-imports follows indirect imports too.
    out = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"Contracts: {CONTRACTS} kept, 0 broken." in out.stdout, out.stdout[-2000:]


@pytest.mark.parametrize("path", sorted(REPO.glob("samsyn_fast/**/*.pyx"))
                         + sorted(REPO.glob("samsyn_fast/**/*.pxd")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_cython_kernels_never_import_samsyn(path: Path) -> None:
    imports = re.findall(r"^\s*(?:cimport|import|from)\s+([\w.]+)", path.read_text(), re.M)
    assert not [name for name in imports if name.split(".")[0] == "samsyn"], imports
