"""contract/drift.json must be exactly what DRIFT.md documents, and name real step ids."""
from __future__ import annotations

import importlib.util
import json

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("drift_register",
                                               REPO / "contract" / "drift_register.py")
assert _spec and _spec.loader
drift_register = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drift_register)


def test_drift_json_matches_drift_md() -> None:
    expected = drift_register.register((REPO / "contract" / "DRIFT.md").read_text())
    assert json.loads((REPO / "contract" / "drift.json").read_text()) == expected


def test_every_drift_step_exists_in_the_corpus() -> None:
    ids = set()
    for golden in (REPO / "contract" / "golden").glob("*.jsonl"):
        ids |= {json.loads(line)["id"] for line in golden.read_text().splitlines() if line}
    drift = json.loads((REPO / "contract" / "drift.json").read_text())
    assert set(drift) <= ids, sorted(set(drift) - ids)
