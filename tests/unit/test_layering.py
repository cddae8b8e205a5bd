"""Dependencies point one way (STYLE.md §1): routes -> service -> queries -> models;
services and queries never import Litestar; samsyn_fast never imports samsyn."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(pattern: str) -> list[Path]:
    return sorted(REPO.glob(pattern))


@pytest.mark.parametrize("path", modules("samsyn_fast/**/*.py") + modules("samsyn_fast/**/*.pyx"),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_kernels_never_import_samsyn(path: Path) -> None:
    text = path.read_text()
    if path.suffix == ".pyx":  # Cython is not Python syntax: look at the import lines
        lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(("import ", "from "))]
        assert not [ln for ln in lines if ln.split()[1].split(".")[0] == "samsyn"], lines
        return
    assert not {m for m in imports(path) if m.split(".")[0] == "samsyn"}


@pytest.mark.parametrize("path", modules("samsyn/domain/*/service.py") + modules("samsyn/domain/*/queries.py")
                         + modules("samsyn/db/*.py"), ids=lambda p: str(p.relative_to(REPO)))
def test_services_and_queries_know_no_http(path: Path) -> None:
    bad = {m for m in imports(path) if m.split(".")[0] == "litestar"
           or m.startswith("samsyn.api.compat.views") or m.endswith(".routes")}
    assert not bad, bad


@pytest.mark.parametrize("path", modules("samsyn/domain/*/queries.py") + modules("samsyn/db/*.py"),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_queries_do_not_reach_up(path: Path) -> None:
    bad = {m for m in imports(path) if m.endswith(".service") or m.endswith(".routes")
           or m.startswith("samsyn.api")}
    assert not bad, bad


def test_import_linter_contracts_hold() -> None:
    # pyproject.toml [tool.importlinter]: the kernels never import samsyn, routes -> service ->
    # queries in every domain package, no HTTP framework below the routes, the pipelines below
    # the jobs and the API; lint-imports follows indirect imports too.
    import subprocess
    import sys
    out = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
