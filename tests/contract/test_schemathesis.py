"""Schemathesis against the served contract (issue 11 item 1).

Every operation of the recorded OpenAPI document (contract/openapi.json, the legacy's own
bytes) is fuzzed over real HTTP on `samsyn serve`: schema-valid and schema-violating requests,
without credentials and with a valid Bearer login key, all of schemathesis's checks. What must
hold everywhere: no 5xx, no body with a traceback or SQL text. Every other check failure must
match an entry of contract/schemathesis-register.yaml, where each legacy behaviour that makes a
check fail (drf-spectacular documents only success codes, DRF refuses blank strings the schema
allows, ...) is listed once with its reason; a new kind of failure fails this test.

Bounded: EXAMPLES per operation, mode and credential (deterministic: derandomized), and a
wall-clock budget after which the remaining operations run with MIN_EXAMPLES.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import ignored_auth
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode

from samsyn.contract_hooks import FIXTURES
from samsyn.domain.accounts.passwords import make_password
from tests.conftest import REPO, Server
from tests.integration.test_bad_input import assert_no_leak

SCHEMA = REPO / "contract" / "openapi.json"
REGISTER = REPO / "contract" / "schemathesis-register.yaml"
EXAMPLES = 25
MIN_EXAMPLES = 5
BUDGET_SECONDS = 240.0
USERNAME, PASSWORD, KEY = "fuzzer", "Str0ng-Pass-123", "f" * 40
UNTHROTTLED = {f"SAMSYN_THROTTLE_{scope}": "1000000/day" for scope in
               ("LOGIN_IP", "LOGIN_ACCOUNT", "PASSWORD_RESET_IP", "PASSWORD_RESET_ACCOUNT")}


@dataclass(frozen=True)
class Entry:
    """One register entry: a check code, and what narrows it (all optional)."""
    code: str
    reason: str
    status: frozenset[int] = frozenset()
    operations: frozenset[str] = frozenset()
    credential: str | None = None
    media_type: str | None = None
    body: re.Pattern[str] | None = None
    message: re.Pattern[str] | None = None

    def matches(self, code: str, label: str, credential: str, media_type: str | None,
                status: int, body: str, message: str) -> bool:
        return (code == self.code and (not self.status or status in self.status)
                and (not self.operations or label in self.operations)
                and (self.credential is None or credential == self.credential)
                and (self.media_type is None or media_type == self.media_type)
                and (self.body is None or self.body.search(body) is not None)
                and (self.message is None or self.message.search(message) is not None))


def load_register() -> list[Entry]:
    entries = []
    for raw in yaml.safe_load(REGISTER.read_text()):
        assert set(raw) <= {"code", "reason", "status", "operations", "credential",
                            "media_type", "body", "message"}, raw
        assert raw.get("reason", "").strip(), f"register entry without a reason: {raw}"
        entries.append(Entry(code=raw["code"], reason=raw["reason"],
                             status=frozenset(raw.get("status", ())),
                             operations=frozenset(raw.get("operations", ())),
                             credential=raw.get("credential"),
                             media_type=raw.get("media_type"),
                             body=re.compile(raw["body"]) if "body" in raw else None,
                             message=re.compile(raw["message"]) if "message" in raw else None))
    return entries


@dataclass
class Findings:
    calls: int = 0
    server_errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    unregistered: dict[tuple[str, str, str, int], str] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)


@pytest.fixture(scope="module")
def fuzz_server(new_database: Callable[..., str]) -> Iterator[tuple[Server, str]]:
    from samsyn.db.migrate import upgrade_head
    url = new_database("schemathesis")
    upgrade_head(url)
    srv = Server(url, extra_env=UNTHROTTLED)
    try:
        yield srv, url.replace("postgresql+psycopg://", "postgresql://")
    finally:
        srv.stop()


def _restore(conn: psycopg.Connection, user_id: int, password_hash: str) -> None:
    """Before each signed-in case: the fuzzed user as created, with its login key. A fuzzed
    logout, password change or username change must not turn later cases anonymous."""
    conn.execute("UPDATE auth_user SET username = %s, password = %s, is_active = true "
                 "WHERE id = %s", (USERNAME, password_hash, user_id))
    conn.execute("INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, now(), %s) "
                 "ON CONFLICT (user_id) DO UPDATE SET key = EXCLUDED.key, created = now()",
                 (KEY, user_id))


def _seed(conn: psycopg.Connection) -> None:
    """Rows with small ids, so detail, update and delete cases also meet existing objects
    (schemathesis draws small integers first); fuzzed deletes remove them, so before each
    operation they come back."""
    statements = (
        "INSERT INTO core_source (id, sid, name, description, source_type, attributes) "
        "VALUES (%(pk)s, 'seed-' || %(pk)s, 'n', 'd', 't', '{}') ON CONFLICT DO NOTHING",
        "INSERT INTO core_layer (id, lid, name, source_id, attributes, style) "
        "VALUES (%(pk)s, 'seed-' || %(pk)s, 'n', %(pk)s, '{}', '{}') ON CONFLICT DO NOTHING",
        "INSERT INTO core_project (id, pid, name, description, project_type) "
        "VALUES (%(pk)s, 'seed-' || %(pk)s, 'n', 'd', 't') ON CONFLICT DO NOTHING")
    for pk in (0, 1, 2):
        for statement in statements:
            try:
                conn.execute(statement, {"pk": pk})
            except psycopg.errors.ForeignKeyViolation:
                pass  # its source was renamed away by a fuzzed update: seeded next time


def test_schemathesis_finds_no_server_error_leak_or_unregistered_failure(
        fuzz_server: tuple[Server, str]) -> None:
    srv, dsn = fuzz_server
    register = load_register()
    schema = schemathesis.openapi.from_path(str(SCHEMA))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 34
    findings = Findings()
    session = requests.Session()
    password_hash = make_password(PASSWORD)
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        user_id = FIXTURES["create_user"](conn, {"username": USERNAME, "password": PASSWORD,
                                                 "email": "fuzzer@example.com"})["id"]
        for credential in ("anonymous", "bearer"):
            for operation in operations:
                _seed(conn)
                late = time.monotonic() - started > BUDGET_SECONDS
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _fuzz(operation, mode, credential, MIN_EXAMPLES if late else EXAMPLES,
                          srv, session, conn, user_id, password_hash, register, findings)
    seconds = time.monotonic() - started
    print(f"schemathesis: {findings.calls} requests in {seconds:.0f} s; register entries "
          f"matched: {len(findings.used)} of {len(register)}")
    assert findings.calls > 34 * 2 * 2 * MIN_EXAMPLES // 2
    assert not findings.server_errors, "\n".join(findings.server_errors[:20])
    assert not findings.leaks, "\n".join(findings.leaks[:20])
    assert not findings.unregistered, "failures no register entry explains:\n" + "\n".join(
        f"{key}: {example}" for key, example in sorted(findings.unregistered.items())[:40])


def _fuzz(operation: Any, mode: GenerationMode, credential: str, examples: int, srv: Server,
          session: requests.Session, conn: psycopg.Connection, user_id: int,
          password_hash: str, register: list[Entry], findings: Findings) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case: Any) -> None:
        headers = dict(case.headers or {})
        # schemathesis draws a random bearer token; a negative case may have dropped it on
        # purpose (a required header missing), and stays without one.
        drawn = headers.pop("Authorization", None)
        if credential == "bearer" and (mode is GenerationMode.POSITIVE or drawn is not None):
            _restore(conn, user_id, password_hash)
            headers["Authorization"] = f"Bearer {KEY}"
        case.headers = headers
        response = case.call(base_url=srv.base_url, session=session)
        findings.calls += 1
        where = (f"{case.method} {case.formatted_path} query={case.query} "
                 f"body={str(case.body)[:120]!r} -> {response.status_code} {response.text[:200]!r}")
        if response.status_code >= 500:
            findings.server_errors.append(where)
        try:
            assert_no_leak(response.content)
        except AssertionError as exc:
            findings.leaks.append(f"{exc}: {where}")
        try:
            # With the login key in the case's own headers, schemathesis's "ignored auth" check
            # would replay the request with that key and call the answer accepted bad auth.
            case.validate_response(response, excluded_checks=[ignored_auth]
                                   if credential == "bearer" else None)
        except (FailureGroup, Failure) as error:
            failures = error.exceptions if isinstance(error, FailureGroup) else [error]
            for failure in failures:
                code = getattr(failure, "code", type(failure).__name__)
                message = " ".join(str(failure.message).split())
                matched = [i for i, entry in enumerate(register) if entry.matches(
                    code, operation.label, credential, case.media_type, response.status_code,
                    response.text, message)]
                if matched:
                    findings.used.update(matched)
                else:
                    key = (operation.label, credential, f"{code} {failure.title}",
                           response.status_code)
                    findings.unregistered.setdefault(
                        key, f"{where} [{case.media_type}] {message[:300]}")

    try:
        run()
    except Unsatisfiable:  # a negative mode with nothing to negate (no parameters, no body)
        pass
