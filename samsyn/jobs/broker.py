"""The Dramatiq broker, chosen from SAMSYN_BROKER_URL once per process (never at import).

amqp://… → RabbitMQ, redis://… → Redis; unset → an in-process StubBroker whose worker runs
inside `samsyn worker` (the embedded default: no broker service needed).
"""
from __future__ import annotations

import functools

import dramatiq
from dramatiq.broker import Broker
from dramatiq.brokers.stub import StubBroker


def make_broker(url: str) -> Broker:
    """The broker for a URL ('' for the in-process stub)."""
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker
        return RabbitmqBroker(url=url)
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker
        return RedisBroker(url=url)
    if url:
        raise ValueError(f"SAMSYN_BROKER_URL must be amqp:// or redis://, got {url.split(':', 1)[0]!r}")
    return StubBroker()


@functools.cache
def setup_broker() -> Broker:
    """Install the process's broker (before the actors module is imported)."""
    from samsyn.settings import get_settings
    broker = make_broker(get_settings().broker_url)
    dramatiq.set_broker(broker)
    return broker
