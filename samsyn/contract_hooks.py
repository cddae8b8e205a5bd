"""The replay hooks (contract/README.md): reset the database, run fixtures. Used by the CLI."""
from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from samsyn.db.engine import dsn
from samsyn.domain.accounts.passwords import make_password

# Rows Django's migrations created; everything else is emptied by a reset.
KEEP_TABLES = {"spatial_ref_sys", "alembic_version", "django_migrations", "django_content_type",
               "auth_permission"}


def reset(database_url: str, profile: str, wait_url: str | None = None) -> None:
    """Empty every data table, restart every sequence, then wait until the server answers.

    Every profile is served alike: samsyn has no response cache to switch on (`locmem`: the
    legacy's stale reads are drift D6) and never sends mail inline (`smtp`: drift D11).
    """
    if profile not in ("default", "locmem", "smtp"):
        raise ValueError(f"unknown profile {profile!r}")
    with psycopg.connect(dsn(database_url), autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        data_tables = [t for t in tables if t not in KEEP_TABLES]
        if data_tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in data_tables)
                         + " RESTART IDENTITY CASCADE")
    if wait_url:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(wait_url.rstrip("/") + "/health", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def _error_text(exc: psycopg.Error) -> str:
    return exc.diag.message_primary or str(exc)


def fixture(database_url: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run one fixture request; see contract/README.md for the kinds."""
    kind = request.get("kind")
    handler = FIXTURES.get(kind)  # type: ignore[arg-type]
    if handler is None:
        return {"error": f"unknown fixture kind {kind!r}"}
    with psycopg.connect(dsn(database_url), autocommit=True) as conn:
        return handler(conn, request)


def _create_user(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    superuser = req.get("method") == "createsuperuser" or req.get("is_superuser", False)
    row = conn.execute(
        "INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, "
        "last_name, email, is_staff, is_active, date_joined) VALUES "
        "(%s, NULL, %s, %s, %s, %s, %s, %s, %s, now()) RETURNING id",
        (make_password(req["password"]) if req.get("password") is not None else "!",
         bool(superuser), req["username"], req.get("first_name", ""), req.get("last_name", ""),
         req.get("email", "") or "", bool(req.get("is_staff", superuser)),
         bool(req.get("is_active", True)))).fetchone()
    assert row is not None
    return {"id": row[0]}


def _user_info(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(
        "SELECT u.id, u.username, u.email, u.password, u.is_active, u.is_staff, u.is_superuser, "
        "EXISTS (SELECT 1 FROM authtoken_token t WHERE t.user_id = u.id), u.last_login IS NOT NULL "
        "FROM auth_user u WHERE u.username = %s", (req["username"],)).fetchone()
    if row is None:
        return {"error": "no such user"}
    emails = conn.execute(
        'SELECT email, verified, "primary" FROM account_emailaddress WHERE user_id = %s '
        'ORDER BY id',
        (row[0],)).fetchall()
    return {"id": row[0], "username": row[1], "email": row[2], "password": row[3],
            "is_active": row[4], "is_staff": row[5], "is_superuser": row[6], "has_token": row[7],
            "last_login_set": row[8],
            "emailaddresses": [{"email": e, "verified": v, "primary": p} for e, v, p in emails]}


def _insert_geometries(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    rows = req["rows"][:1] if req.get("expect_error") else req["rows"]
    gids = []
    try:
        with conn.transaction():
            for r in rows:
                conn.execute(
                    "INSERT INTO core_geometry (gid, geom, metadata, geometry_type, source_id) "
                    "VALUES (%s, ST_GeomFromText(%s, %s), %s, %s, %s)",
                    (r["gid"], r["wkt"], r.get("srid", 4326), Jsonb(r.get("metadata", {})),
                     r["geometry_type"], r["source_id"]))
                gids.append(r["gid"])
            conn.execute("SELECT setval(pg_get_serial_sequence('core_geometry', 'gid'), "
                         "GREATEST((SELECT max(gid) FROM core_geometry), 1))")
    except psycopg.Error as exc:
        if req.get("expect_error"):
            return {"error": _error_text(exc)}
        raise
    return {"gids": gids}


def _insert_layers(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    ids = []
    with conn.transaction():
        for r in req["rows"]:
            row = conn.execute(
                "INSERT INTO core_layer (lid, name, style, source_id, attributes) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (r["lid"], r["name"], Jsonb(r.get("style", {})), r["source_id"],
                 Jsonb(r.get("attributes", {})))).fetchone()
            assert row is not None
            ids.append(row[0])
    return {"ids": ids}


def _link_project_layers(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    with conn.transaction():
        for layer_id in req["layer_ids"]:
            conn.execute("INSERT INTO core_project_layers (project_id, layer_id) VALUES (%s, %s) "
                         "ON CONFLICT DO NOTHING", (req["project_id"], layer_id))
    return {"project_id": req["project_id"], "layer_ids": sorted(req["layer_ids"])}


def _sql(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    try:
        cur = conn.execute(req["sql"], req.get("params"))
        rows = cur.fetchall() if cur.description else []
    except psycopg.Error as exc:
        if req.get("expect_error"):
            return {"error": _error_text(exc)}
        raise
    return {"rows": json.loads(json.dumps(rows, default=str))}


def _password_reset_token(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    """uid (base36 pk) and an allauth reset token the confirm endpoint accepts."""
    import os

    from samsyn.domain.accounts import tokens
    from samsyn.settings import DEV_SECRET_KEY
    row = conn.execute("SELECT id, password, last_login, email FROM auth_user WHERE username = %s",
                       (req["username"],)).fetchone()
    if row is None:
        return {"error": "no such user"}
    user_id, password, last_login, email = row
    with conn.transaction():
        # allauth's EmailAwarePasswordResetTokenGenerator syncs the user's address first
        if email and conn.execute(
                "SELECT 1 FROM account_emailaddress WHERE upper(email) = upper(%s)",
                (email,)).fetchone() is None:
            conn.execute('INSERT INTO account_emailaddress (email, verified, "primary", user_id) '
                         "VALUES (%s, false, false, %s)", (email, user_id))
        emails = tuple(r[0] for r in conn.execute(
            "SELECT email FROM account_emailaddress WHERE user_id = %s ORDER BY id", (user_id,)))
    user = tokens.ResetUser(user_id, password, last_login, email or "", emails)
    secret = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
    return {"uid": tokens.uid_of(user_id), "token": tokens.make_reset_token(user, secret)}


def _mail_outbox(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    """Every message written to samsyn_mail_outbox, in sending order; `clear` empties it."""
    rows = conn.execute("SELECT sender, recipients, subject, content_type, body "
                        "FROM samsyn_mail_outbox ORDER BY id").fetchall()
    if req.get("clear"):
        conn.execute("DELETE FROM samsyn_mail_outbox")
    messages = [{"from": s, "to": ", ".join(r), "subject": subj, "content_type": ct, "body": b}
                for s, r, subj, ct, b in rows]
    return {"count": len(messages), "messages": messages}


def _manage(conn: psycopg.Connection, req: dict[str, Any]) -> dict[str, Any]:
    """`python manage.py <command> <args>` of the legacy, as `samsyn <command> <args>`: the
    file (if any) written to a temporary directory and `{file}` replaced by its path."""
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="samsyn-manage-") as tmp:
        path = None
        if req.get("file"):
            path = os.path.join(tmp, os.path.basename(req["file"]["name"]))
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(req["file"]["content"])
        args = [a.replace("{file}", path) if path else a for a in req.get("args", [])]
        # the same DATABASE_URL (the fixture command's environment) and no terminal: the
        # progress bar and summary go to stderr, stdout holds the legacy's lines; jobs run on
        # the command's own in-process worker (a configured broker may have no worker here)
        env = {k: v for k, v in os.environ.items() if k != "SAMSYN_BROKER_URL"}
        done = subprocess.run([sys.executable, "-m", "samsyn.cli", req["command"], *args],
                              capture_output=True, text=True, cwd=tmp, timeout=600, env=env)
    return {"exit_code": done.returncode, "stdout": done.stdout.strip(),
            "stderr_tail": "\n".join(done.stderr.strip().splitlines()[-5:])}


FIXTURES = {
    "create_user": _create_user,
    "user_info": _user_info,
    "insert_geometries": _insert_geometries,
    "insert_layers": _insert_layers,
    "link_project_layers": _link_project_layers,
    "sql": _sql,
    "password_reset_token": _password_reset_token,
    "mail_outbox": _mail_outbox,
    "manage": _manage,
}
