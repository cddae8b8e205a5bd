"""drift.json is generated from DRIFT.md: `python contract/drift_register.py` rewrites it.

Each `## Dn — title` section of DRIFT.md names its step ids; drift.json maps every id to
"Dn: title" so replay.py --drift can report why a step differs.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEP_ID = re.compile(r"\b((?:http|wfs|cors|lay|lm|src|lst|prj|doc|jwt|ra|reg|smtp|mgmt)-\d{3})\b")


def register(markdown: str) -> dict[str, str]:
    drift: dict[str, str] = {}
    for section in re.split(r"\n## ", markdown)[1:]:
        title = section.splitlines()[0]
        match = re.match(r"(D\d+) — (.*)", title)
        if not match:
            continue
        for step in STEP_ID.findall(section):
            if step in drift and not drift[step].startswith(match.group(1) + ":"):
                raise ValueError(f"{step} is listed under two drift sections")
            drift.setdefault(step, f"{match.group(1)}: {match.group(2)}")
    return dict(sorted(drift.items()))


def main() -> int:
    drift = register((HERE / "DRIFT.md").read_text())
    (HERE / "drift.json").write_text(json.dumps(drift, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(drift)} drift steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
