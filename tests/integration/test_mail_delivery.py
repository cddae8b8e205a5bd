"""Mail delivery against a real SMTP server (a small one in this file, on a local port): a
worker killed mid-batch re-sends nothing and loses nothing, two workers never send the same
message, an outage is retried with a growing backoff, and what delivery gives up on is dead,
listed and requeued by `samsyn mail` (issue 13)."""
from __future__ import annotations

import datetime as dt
import email
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email import policy
from typing import Any

import psycopg
import pytest
from sqlalchemy.orm import Session, sessionmaker

from samsyn.db.engine import make_engine
from samsyn.domain.accounts import mail
from samsyn.settings import normalize_database_url
from tests.conftest import REPO, free_port


class SmtpServer:
    """A minimal SMTP server (RFC 5321 commands smtplib uses) that records what it accepted.

    `rcpt_reply` set to e.g. "451 4.3.0 try later" refuses every recipient; `on_mail(n)` runs
    when the n-th MAIL command arrives, before it is answered.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.accepted: list[email.message.EmailMessage] = []
        self.mail_commands = 0
        self.rcpt_reply: str | None = None
        self.on_mail: Callable[[int], None] | None = None
        self.lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self) -> None:
                self.reply("220 test ESMTP")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        self.reply("250-test")
                        self.reply("250 8BITMIME")
                    elif verb in (b"HELO", b"RSET", b"NOOP"):
                        self.reply("250 ok")
                    elif verb == b"MAIL":
                        with owner.lock:
                            owner.mail_commands += 1
                            n = owner.mail_commands
                        if owner.on_mail is not None:
                            owner.on_mail(n)
                        self.reply("250 ok")
                    elif verb == b"RCPT":
                        self.reply(owner.rcpt_reply or "250 ok")
                    elif verb == b"DATA":
                        self.reply("354 go ahead")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        if not chunk:
                            return   # the client died: nothing was accepted
                        message = email.message_from_bytes(b"".join(data), policy=policy.SMTP)
                        with owner.lock:
                            owner.accepted.append(message)   # type: ignore[arg-type]
                        self.reply("250 queued")
                    elif verb == b"QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(m["Subject"]) for m in self.accepted]


@pytest.fixture
def outbox_url(new_database: Callable[..., str]) -> str:
    from samsyn.db.migrate import upgrade_head
    url = new_database("mail")
    upgrade_head(url)
    return url


@pytest.fixture
def conn(outbox_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(outbox_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as c:
        yield c


@pytest.fixture
def sessions(outbox_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(normalize_database_url(outbox_url), pool_size=2, max_overflow=0)
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    try:
        yield server
    finally:
        server.stop()


def _enqueue(conn: psycopg.Connection, n: int) -> None:
    conn.execute("INSERT INTO samsyn_mail_outbox (sender, recipients, subject, body) "
                 "SELECT 'webmaster@localhost', '[\"to@example.com\"]', 'msg-' || i, 'Body ' || i "
                 "FROM generate_series(1, %s) AS i", (n,))


def _unsent(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM samsyn_mail_outbox WHERE sent_at IS NULL").fetchone()
    assert row is not None
    return int(row[0])


WORKER = ("import time\nfrom samsyn.jobs.pipelines import mail\n"
          "while True:\n    mail.run()\n    time.sleep(0.02)\n")


def _worker(url: str, smtp: SmtpServer) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "SAMSYN_SMTP_HOST": "127.0.0.1",
           "SAMSYN_SMTP_PORT": str(smtp.port)}
    return subprocess.Popen([sys.executable, "-c", WORKER], env=env, cwd=REPO)


def _wait(predicate: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_worker_killed_mid_batch_resends_nothing_and_loses_nothing(
        outbox_url: str, conn: psycopg.Connection, smtp: SmtpServer) -> None:
    # Given 600 queued messages and a worker that is SIGKILLed in the middle of its second
    # batch of 100 (when it starts the SMTP transaction of the 150th message)
    total = 600
    _enqueue(conn, total)
    smtp.start()
    first = _worker(outbox_url, smtp)
    smtp.on_mail = lambda n: os.kill(first.pid, signal.SIGKILL) if n == 150 else None
    try:
        assert first.wait(timeout=120) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    smtp.on_mail = None
    assert len(smtp.subjects()) == 149 and _unsent(conn) == total - 149
    # When two workers take over
    workers = [_worker(outbox_url, smtp), _worker(outbox_url, smtp)]
    try:
        _wait(lambda: _unsent(conn) == 0)
    finally:
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
    # Then every message was accepted exactly once
    subjects = smtp.subjects()
    duplicates = len(subjects) - len(set(subjects))
    assert duplicates == 0, f"{duplicates} messages sent twice"
    assert set(subjects) == {f"msg-{i}" for i in range(1, total + 1)}
    with smtp.lock:
        ids = [str(m["Message-ID"]) for m in smtp.accepted]
    assert len(set(ids)) == total        # a stable Message-ID per outbox row
    assert conn.execute("SELECT count(*) FROM samsyn_mail_outbox WHERE attempts <> 1"
                        ).fetchone() == (0,)


def _rows(conn: psycopg.Connection) -> list[Any]:
    return conn.execute(
        "SELECT id, attempts, sent_at IS NOT NULL, dead_at IS NOT NULL, "
        "greatest(0, round(extract(epoch FROM next_attempt_at - now()))), last_error "
        "FROM samsyn_mail_outbox ORDER BY id").fetchall()


def _due_now(conn: psycopg.Connection) -> None:
    """Time passes: every waiting message is due."""
    conn.execute("UPDATE samsyn_mail_outbox SET next_attempt_at = now() WHERE sent_at IS NULL")


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "samsyn.cli", "mail", *args], cwd=REPO,
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True,
                          text=True, timeout=60)


def test_outage_backoff_dead_and_requeue(outbox_url: str, conn: psycopg.Connection,
                                         sessions: sessionmaker[Session],
                                         smtp: SmtpServer) -> None:
    def deliver() -> tuple[int, int]:
        transport = mail.SmtpTransport("127.0.0.1", smtp.port, timeout=5)
        try:
            return mail.deliver_pending(sessions, transport)
        finally:
            transport.close()

    _enqueue(conn, 3)
    # nothing listens: the pass stops at the first refused connection, retried in 30 s
    assert deliver() == (0, 1)
    rows = _rows(conn)
    assert [(r[1], r[4]) for r in rows] == [(1, 30), (0, 0), (0, 0)]
    assert "ConnectionRefusedError" in rows[0][5]
    assert deliver() == (0, 1) and _rows(conn)[0][1] == 1   # message 1 waits; message 2 tried
    # the server answers, but refuses every recipient for now (4xx): each message backs off
    smtp.rcpt_reply = "451 4.3.0 try again later"
    smtp.start()
    _due_now(conn)
    assert deliver() == (0, 3)
    assert [(r[1], r[4]) for r in _rows(conn)] == [(2, 60), (2, 60), (1, 30)]
    _due_now(conn)
    assert deliver() == (0, 3)
    assert [r[4] for r in _rows(conn)] == [120, 120, 60]
    # after ~a day of failures (the 30th attempt) message 1 is dead, and stays so
    conn.execute("UPDATE samsyn_mail_outbox SET attempts = 29 WHERE id = 1")
    _due_now(conn)
    assert deliver() == (0, 3)
    assert [(r[1], r[3]) for r in _rows(conn)] == [(30, True), (4, False), (3, False)]
    listed = _cli(outbox_url, "dead")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert line.startswith("1\t") and "30 attempts" in line and "msg-1" in line
    assert "451" in line
    # the server accepts again: the waiting messages go, the dead one does not
    smtp.rcpt_reply = None
    _due_now(conn)
    assert deliver() == (2, 0)
    assert smtp.subjects() == ["msg-2", "msg-3"]
    # requeued, it goes at the next pass
    assert _cli(outbox_url, "requeue").returncode != 0            # ids or --all
    assert _cli(outbox_url, "requeue", "2").returncode != 0       # sent, not dead
    done = _cli(outbox_url, "requeue", "1")
    assert done.returncode == 0 and "requeued 1 message(s): 1" in done.stdout
    assert _cli(outbox_url, "dead").stdout == ""
    assert deliver() == (1, 0)
    assert smtp.subjects() == ["msg-2", "msg-3", "msg-1"]


def test_a_permanent_refusal_is_dead_at_once_and_requeue_all(
        outbox_url: str, conn: psycopg.Connection, sessions: sessionmaker[Session],
        smtp: SmtpServer) -> None:
    _enqueue(conn, 2)
    smtp.rcpt_reply = "550 5.1.1 no such user"
    smtp.start()
    transport = mail.SmtpTransport("127.0.0.1", smtp.port, timeout=5)
    assert mail.deliver_pending(sessions, transport) == (0, 2)
    assert [(r[1], r[3]) for r in _rows(conn)] == [(1, True), (1, True)]
    smtp.rcpt_reply = None
    assert mail.deliver_pending(sessions, transport) == (0, 0)
    done = _cli(outbox_url, "requeue", "--all")
    assert done.returncode == 0 and "requeued 2 message(s): 1 2" in done.stdout
    assert mail.deliver_pending(sessions, transport) == (2, 0)
    transport.close()
    assert smtp.subjects() == ["msg-1", "msg-2"]


def test_retry_delays_grow_to_an_hour_and_end_after_about_a_day() -> None:
    assert [mail.retry_delay(n) for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert mail.retry_delay(10_000) == 3600
    total = dt.timedelta(seconds=sum(mail.retry_delay(n) for n in range(1, mail.MAX_ATTEMPTS)))
    assert dt.timedelta(hours=20) < total < dt.timedelta(hours=26)
