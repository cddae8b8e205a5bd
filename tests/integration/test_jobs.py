"""The job worker's actors with Dramatiq's StubBroker on a real PostGIS database."""
from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import psycopg
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from samsyn.jobs.broker import make_broker


@pytest.fixture
def jobs(migrated_url: str,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[StubBroker, list[EmailMessage]]]:
    from samsyn.db import engine
    from samsyn.domain.accounts import mail
    from samsyn.jobs import broker as broker_module
    from samsyn.settings import get_settings
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.delenv("SAMSYN_BROKER_URL", raising=False)
    for cached in (get_settings, engine.get_engine, engine.get_sessions,
                   broker_module.setup_broker):
        cached.cache_clear()
    sent: list[EmailMessage] = []
    monkeypatch.setattr(mail, "smtp_transport", lambda *a, **k: sent.append)
    broker = broker_module.setup_broker()
    import importlib
    import sys
    if "samsyn.jobs.actors" in sys.modules:  # declare the actors on this test's broker
        importlib.reload(sys.modules["samsyn.jobs.actors"])
    else:
        importlib.import_module("samsyn.jobs.actors")
    worker = Worker(broker, worker_timeout=100)
    worker.start()
    try:
        yield broker, sent
    finally:
        worker.stop()
        for cached in (get_settings, engine.get_engine, engine.get_sessions,
                       broker_module.setup_broker):
            cached.cache_clear()


def test_broker_urls() -> None:
    assert isinstance(make_broker(""), StubBroker)
    with pytest.raises(ValueError):
        make_broker("kafka://x")


def test_deliver_mail_sends_the_outbox_once(jobs: tuple[StubBroker, list[EmailMessage]],
                                            migrated_url: str) -> None:
    broker, sent = jobs
    from samsyn.jobs import actors
    with psycopg.connect(migrated_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute("DELETE FROM samsyn_mail_outbox")
        conn.execute("INSERT INTO samsyn_mail_outbox (sender, recipients, subject, body) VALUES "
                     "('webmaster@localhost', '[\"a@example.com\"]', 'Hello', 'Body')")
        actors.deliver_mail.send()
        actors.deliver_mail.send()     # a second pass finds nothing left to send
        broker.join(actors.deliver_mail.queue_name, fail_fast=True)
        assert [m["To"] for m in sent] == ["a@example.com"]
        assert conn.execute("SELECT count(*) FROM samsyn_mail_outbox WHERE sent_at IS NOT NULL"
                            ).fetchone() == (1,)


def test_purge_expired_runs(jobs: tuple[StubBroker, list[EmailMessage]], migrated_url: str) -> None:
    broker, _ = jobs
    from samsyn.jobs import actors
    with psycopg.connect(migrated_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute("INSERT INTO samsyn_token_denylist VALUES ('old', now() - interval '1 day'), "
                     "('new', now() + interval '1 day') ON CONFLICT DO NOTHING")
        actors.purge_expired.send()
        broker.join(actors.purge_expired.queue_name, fail_fast=True)
        # the session's database also holds other tests' live denylist entries
        jtis = {r[0] for r in conn.execute("SELECT jti FROM samsyn_token_denylist")}
        assert "old" not in jtis and "new" in jtis
