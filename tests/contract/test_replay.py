"""The golden replay: contract/replay.py against a running samsyn, one case file per test.

Every step must pass or be listed in contract/drift.json (docs/architecture.md, "Compatibility
decisions"), with no key-order or float-format warnings on JSON bodies.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO, Server

CONTRACT = REPO / "contract"
# Every case file (management.json through the job CLI that replaces the manage.py commands).
CASE_FILES = ["management", "sources", "layers", "projects", "listing", "http_semantics", "cors",
              "wfs", "schema_docs", "cache_locmem", "auth_jwt", "rest_auth", "registration",
              "smtp_default"]
_LAST_LINE = re.compile(r"^(\d+) passed, (\d+) failed$")
_FORMAT_WARNING = re.compile(r"key order differs|raw JSON bytes differ")


def replay(server: Server, case_file: str) -> tuple[int, int, str]:
    cmd = [sys.executable, str(CONTRACT / "replay.py"), "--base-url", server.base_url,
           str(CONTRACT / "cases" / f"{case_file}.json"),
           "--reset-command", f"{sys.executable} -m samsyn.cli contract reset {{profile}}",
           "--fixture-command", f"{sys.executable} -m samsyn.cli contract fixture",
           "--drift", str(CONTRACT / "drift.json"), "--quiet"]
    done = subprocess.run(cmd, env=server.env, capture_output=True, text=True, timeout=600,
                          cwd=REPO)
    output = done.stdout + done.stderr
    lines = [ln for ln in output.strip().splitlines() if _LAST_LINE.match(ln.strip())]
    assert lines, f"replay printed no summary line:\n{output[-4000:]}"
    match = _LAST_LINE.match(lines[-1].strip())
    assert match is not None
    return int(match.group(1)), int(match.group(2)), output


@pytest.mark.parametrize("case_file", CASE_FILES)
def test_golden_replay(server: Server, case_file: str) -> None:
    passed, failed, output = replay(server, case_file)
    assert failed == 0, output[-8000:]
    assert passed > 0
    format_warnings = [ln for ln in output.splitlines() if _FORMAT_WARNING.search(ln)]
    assert not format_warnings, "\n".join(format_warnings)
