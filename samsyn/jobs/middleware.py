"""Dramatiq middleware that keeps samsyn_job in step with the messages of `run_job`."""
from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.middleware import SkipMessage

from samsyn.jobs import runner, service

log = logging.getLogger("samsyn.jobs")


class JobStatus(dramatiq.Middleware):
    """running + worker + attempts when an attempt starts; on a failed attempt the error, and
    `failed` once Retries gave up (its after hook runs first) or the error is permanent, else
    `accepted` again for the retry. Add it before Retries: after_* hooks run in reverse order
    of the middleware list, and this one must run once Retries decided."""

    actor_names = frozenset({"run_job"})

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if message.actor_name not in self.actor_names:
            return
        if not service.start_attempt(int(message.args[0])):
            log.info("job %s already finished; message %s skipped", message.args[0],
                     message.message_id)
            raise SkipMessage

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        if exception is None or message.actor_name not in self.actor_names:
            return
        final = message.failed or isinstance(exception, runner.permanent_errors())
        try:
            service.fail_attempt(int(message.args[0]), runner.error_text(exception), final=final)
        except Exception:  # the database may be what failed; the retry records it next time
            log.exception("could not record the failure of job %s", message.args[0])
