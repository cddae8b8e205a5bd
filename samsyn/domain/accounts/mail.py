"""The legacy's e-mails (allauth 0.54 templates, Django's DEFAULT_FROM_EMAIL) written to the
`samsyn_mail_outbox` table in the caller's transaction, and their later delivery.

Writing a mail never fails a request (DESIGN.md §1.4): the row commits with the user, and a
job delivers unsent rows, retrying with the error kept in `last_error`.
"""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

log = logging.getLogger("samsyn.mail")

FROM_EMAIL = "webmaster@localhost"
CONTENT_TYPE = 'text/plain; charset="utf-8"'
CONFIRM_SUBJECT = "Please Confirm Your E-mail Address"
RESET_SUBJECT = "Password Reset E-mail"


@dataclass(frozen=True, slots=True)
class Site:
    """allauth's current site without django.contrib.sites: the request's Host."""

    domain: str   # request.get_host(), e.g. "127.0.0.1:8000"
    origin: str   # scheme://host, for absolute links


def _wrap(site: Site, content: str) -> str:
    # account/email/base_message.txt
    return (f"Hello from {site.domain}!\n\n{content}\n\n"
            f"Thank you for using {site.domain}!\n{site.domain}\n")


def confirmation_body(site: Site, username: str, key: str) -> str:
    """account/email/email_confirmation_(signup_)message.txt."""
    url = f"{site.origin}/api/rest-auth/registration/account-confirm-email/{key}/"
    return _wrap(site, f"You're receiving this e-mail because user {username} has given your "
                       f"e-mail address to register an account on {site.domain}.\n\n"
                       f"To confirm this is correct, go to {url}")


def reset_url(site: Site, uid: str, token: str) -> str:
    """The link of the reset mail: the confirm page for uid/token (see routes)."""
    return f"{site.origin}/api/rest-auth/password/reset/confirm/{uid}/{token}/"


def reset_body(site: Site, username: str, url: str) -> str:
    """account/email/password_reset_key_message.txt."""
    return _wrap(site, "You're receiving this e-mail because you or someone else has requested "
                       "a password for your user account.\nIt can be safely ignored if you did "
                       "not request a password reset. Click the link below to reset your "
                       f"password.\n\n{url}\n\nIn case you forgot, your username is {username}.")


_INSERT = text(
    "INSERT INTO samsyn_mail_outbox (sender, recipients, subject, body, content_type) "
    "VALUES (:sender, :recipients, :subject, :body, :content_type)"
).bindparams(bindparam("recipients", type_=JSONB))


def enqueue(db: Session, site: Site, to: str, subject: str, body: str) -> None:
    """adapter.send_mail: subject prefixed with `[<site name>] `, one recipient."""
    db.execute(_INSERT, {"sender": FROM_EMAIL, "recipients": [to],
                         "subject": f"[{site.domain}] {subject}", "body": body,
                         "content_type": CONTENT_TYPE})


def outbox(db: Session) -> list[dict[str, Any]]:
    """Every outbox message in sending order (the `mail_outbox` replay fixture shape)."""
    rows = db.execute(text("SELECT sender, recipients, subject, content_type, body "
                           "FROM samsyn_mail_outbox ORDER BY id")).all()
    return [{"from": r.sender, "to": ", ".join(r.recipients), "subject": r.subject,
             "content_type": r.content_type, "body": r.body} for r in rows]


Transport = Callable[[EmailMessage], None]


def smtp_transport(host: str = "localhost", port: int = 25, timeout: float = 10) -> Transport:
    """Django's default EMAIL_BACKEND target (SMTP to localhost:25)."""
    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.send_message(message)
    return send


def deliver_pending(db: Session, send: Transport, *, limit: int = 100,
                    max_attempts: int = 20) -> tuple[int, int]:
    """Deliver unsent mail, oldest first; rows are locked so that workers do not collide.
    Returns (sent, failed); failures stay queued with attempts/last_error updated."""
    rows = db.execute(text(
        "SELECT id, sender, recipients, subject, body FROM samsyn_mail_outbox "
        "WHERE sent_at IS NULL AND attempts < :max ORDER BY created, id LIMIT :limit "
        "FOR UPDATE SKIP LOCKED"), {"max": max_attempts, "limit": limit}).all()
    sent = failed = 0
    for row in rows:
        message = EmailMessage()
        message["From"] = row.sender
        message["To"] = ", ".join(row.recipients)
        message["Subject"] = row.subject
        message.set_content(row.body, charset="utf-8")
        try:
            send(message)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            log.warning("mail %s not delivered: %s", row.id, exc)
            db.execute(text("UPDATE samsyn_mail_outbox SET attempts = attempts + 1, "
                            "last_error = :e WHERE id = :id"), {"e": str(exc), "id": row.id})
        else:
            sent += 1
            db.execute(text("UPDATE samsyn_mail_outbox SET attempts = attempts + 1, "
                            "sent_at = now(), last_error = NULL WHERE id = :id"), {"id": row.id})
    return sent, failed


def deliver_outbox(*, limit: int = 100, transport: Transport | None = None) -> tuple[int, int]:
    """One delivery pass in its own transaction: the body of the periodic mail job (a Dramatiq
    actor calls this). SMTP target: SAMSYN_SMTP_HOST / SAMSYN_SMTP_PORT (Django's default
    localhost:25). Returns (sent, failed)."""
    import os

    from samsyn.db.engine import get_sessions
    send = transport or smtp_transport(os.environ.get("SAMSYN_SMTP_HOST", "localhost"),
                                       int(os.environ.get("SAMSYN_SMTP_PORT", "25")))
    with get_sessions().begin() as db:
        return deliver_pending(db, send, limit=limit)
