"""The legacy's e-mails (allauth 0.54 templates, Django's DEFAULT_FROM_EMAIL) written to the
`samsyn_mail_outbox` table in the caller's transaction, and their later delivery.

Writing a mail never fails a request (decision 4 of docs/architecture.md): the row commits
with the user, and a job delivers unsent rows. Delivery is at least once and, short of a crash
in the instant between the SMTP server's acceptance and the commit that records it, exactly
once: each
message is claimed (FOR UPDATE SKIP LOCKED: two workers never send the same one) and marked
sent in its own transaction right after the server accepted it, so a worker killed mid-batch
re-sends nothing it had finished. A failed message is retried with a growing backoff (30 s,
doubling, at most an hour apart) for about a day, then becomes dead: `samsyn mail dead` lists
it and `samsyn mail requeue` sends it again. Each message carries a stable Message-ID, so a
receiver can recognise the one duplicate a crash in that instant can cause.
"""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from samsyn.db.engine import get_sessions
from samsyn.domain.accounts import queries
from samsyn.settings import get_settings

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


def enqueue(db: Session, site: Site, to: str, subject: str, body: str) -> None:
    """adapter.send_mail: subject prefixed with `[<site name>] `, one recipient."""
    queries.insert_mail(db, sender=FROM_EMAIL, recipients=[to],
                        subject=f"[{site.domain}] {subject}", body=body,
                        content_type=CONTENT_TYPE)


def outbox(db: Session) -> list[dict[str, Any]]:
    """Every outbox message in sending order (the `mail_outbox` replay fixture shape)."""
    rows = queries.outbox_rows(db)
    return [{"from": r.sender, "to": ", ".join(r.recipients), "subject": r.subject,
             "content_type": r.content_type, "body": r.body} for r in rows]


Transport = Callable[[EmailMessage], None]

BACKOFF_FIRST_S = 30      # the first retry
BACKOFF_MAX_S = 3600      # retries at most an hour apart
# 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: the 30th failure comes ~23 h after the first.
MAX_ATTEMPTS = 30


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
    return min(BACKOFF_FIRST_S * 2 ** min(max(attempts, 1) - 1, 20), BACKOFF_MAX_S)


class SmtpTransport:
    """Django's default EMAIL_BACKEND target (SMTP to localhost:25), one connection reused for
    a delivery pass (a new one after any error)."""

    def __init__(self, host: str = "localhost", port: int = 25, timeout: float = 10) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._smtp: smtplib.SMTP | None = None

    def __call__(self, message: EmailMessage) -> None:
        reused = self._smtp is not None
        try:
            self._connection().send_message(message)
            return
        except smtplib.SMTPServerDisconnected:
            self.close()
            if not reused:
                raise
        except BaseException:
            self.close()
            raise
        try:  # the server had dropped the idle connection: once more on a new one
            self._connection().send_message(message)
        except BaseException:
            self.close()
            raise

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        return self._smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def smtp_transport(host: str = "localhost", port: int = 25, timeout: float = 10) -> Transport:
    return SmtpTransport(host, port, timeout)


def _unreachable(exc: BaseException) -> bool:
    """The server cannot be reached at all: the other messages would fail the same way."""
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    # SMTPException is an OSError too: only the socket's own errors mean "unreachable"
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _permanent(exc: BaseException) -> bool:
    """A 5xx answer: retrying the same message cannot succeed."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(
            exc, smtplib.SMTPConnectError):
        return exc.smtp_code >= 500
    return False


def _message(row: Any) -> EmailMessage:
    message = EmailMessage()
    message["From"] = row.sender
    message["To"] = ", ".join(row.recipients)
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created)
    # stable across re-sends: a crash between acceptance and commit sends it twice at most
    message["Message-ID"] = f"<{int(row.created.timestamp())}.{row.id}@samsyn.outbox>"
    message.set_content(row.body, charset="utf-8")
    return message


def deliver_pending(sessions: sessionmaker[Session], send: Transport, *,
                    limit: int = 100) -> tuple[int, int]:
    """Deliver up to `limit` due messages, oldest first, each in its own transaction.

    Returns (sent, failed). A failure is retried after retry_delay(attempts); the
    MAX_ATTEMPTS-th failure, or a permanent (5xx) one, makes the message dead. When the
    server cannot be reached the pass stops after the first failure: the other messages are
    not counted as attempted.
    """
    sent = failed = 0
    for _ in range(limit):
        with sessions.begin() as db:   # commits right after the server accepted the message
            row = queries.claim_due_mail(db)
            if row is None:
                break
            try:
                send(_message(row))
            except Exception as exc:  # noqa: BLE001 - recorded on the row, never a stuck queue
                failed += 1
                attempts = row.attempts + 1
                # not an SMTP or network error: the message itself cannot be built or sent
                unexpected = not isinstance(exc, OSError | smtplib.SMTPException)
                dead = attempts >= MAX_ATTEMPTS or unexpected or _permanent(exc)
                queries.mark_mail_failed(db, row.id, error=f"{type(exc).__name__}: {exc}",
                                         retry_in_s=retry_delay(attempts), dead=dead)
                if dead:
                    log.error("mail %s is dead after %d attempts (%s); `samsyn mail requeue "
                              "%s` sends it again", row.id, attempts, exc, row.id)
                else:
                    log.warning("mail %s not delivered (attempt %d, next in %d s): %s",
                                row.id, attempts, retry_delay(attempts), exc)
                stop = _unreachable(exc)
            else:
                sent += 1
                queries.mark_mail_sent(db, row.id)
                stop = False
        if stop:
            break
    return sent, failed


def deliver_outbox(*, limit: int = 100, transport: Transport | None = None) -> tuple[int, int]:
    """One delivery pass: the body of the periodic mail job (a Dramatiq actor calls this).
    SMTP target: the settings' smtp_host / smtp_port (SAMSYN_SMTP_HOST / SAMSYN_SMTP_PORT,
    Django's default localhost:25). Returns (sent, failed)."""
    if transport is None:
        settings = get_settings()
        send = smtp_transport(settings.smtp_host, settings.smtp_port)
    else:
        send = transport
    try:
        return deliver_pending(get_sessions(), send, limit=limit)
    finally:
        close = getattr(send, "close", None)
        if close is not None and transport is None:
            close()


def dead_messages(db: Session) -> list[Any]:
    """The messages delivery gave up on (for `samsyn mail dead`)."""
    return queries.dead_mails(db)


def requeue(db: Session, ids: Sequence[int] | None) -> list[int]:
    """Dead messages (`ids`, or every one for None) due again with a fresh attempt count;
    returns the ids requeued."""
    return sorted(queries.requeue_dead_mails(db, ids))
