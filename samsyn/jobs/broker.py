"""The Dramatiq broker, chosen from SAMSYN_BROKER_URL once per process (never at import).

amqp://… → RabbitMQ, redis://… → Redis; unset → an in-process StubBroker whose worker runs
inside `samsyn worker` (the embedded default: no broker service needed).
"""
from __future__ import annotations

import functools
import os
from collections.abc import Mapping

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
        return RedisBroker(url=url, **redis_options())
    if url:
        scheme = url.split(":", 1)[0]
        raise ValueError(f"SAMSYN_BROKER_URL must be amqp:// or redis://, got {scheme!r}")
    return StubBroker()


def redis_options(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """Dramatiq's Redis requeue knobs, from the environment (unset: Dramatiq's defaults).

    A Redis worker that dies (SIGKILL, OOM) leaves the messages it had taken in its ack set;
    another worker puts them back on their queue during "maintenance", which a broker command
    runs with a chance of SAMSYN_REDIS_MAINTENANCE_CHANCE per million (default 1000), once the
    dead worker sent no heartbeat for SAMSYN_REDIS_HEARTBEAT_TIMEOUT ms (default 60000).
    """
    env = os.environ if env is None else env
    names = {"heartbeat_timeout": "SAMSYN_REDIS_HEARTBEAT_TIMEOUT",
             "maintenance_chance": "SAMSYN_REDIS_MAINTENANCE_CHANCE"}
    out = {}
    for option, name in names.items():
        value = env.get(name, "").strip()
        if value:
            if not value.isdigit() or int(value) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            out[option] = int(value)
    return out


@functools.cache
def setup_broker() -> Broker:
    """Install the process's broker (before the actors module is imported)."""
    from samsyn.settings import get_settings
    broker = make_broker(get_settings().broker_url)
    dramatiq.set_broker(broker)
    return broker
