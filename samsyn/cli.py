"""The `samsyn` command: serve, database, contract hooks and (later) the import jobs."""
from __future__ import annotations

import json
import os
import sys

import click


def _settings_or_exit():  # type: ignore[no-untyped-def]
    from samsyn.settings import SettingsError, get_settings
    try:
        return get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """samsyn: the legacy maps API, fast."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="Worker processes (production: one per core).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API on HOST:PORT (uses DATABASE_URL).

    Granian serves the ASGI app: a Rust HTTP server that is faster than the Python ones and,
    like the legacy's gunicorn, passes any method token through to the app (DRF's 405 for FOO).
    """
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings_or_exit()
    _refuse_unmigrated(settings.database_url)
    health = _health_dir()
    _supervise(lambda: Granian(
        "samsyn.app:create_app", factory=True, interface=Interfaces.ASGI, address=host, port=port,
        workers=workers, log_dictconfig=logging_config(settings.log_level),
        respawn_failed_workers=True, backlog=2048,
        # /health answered by granian itself from a file: it never waits behind requests that
        # hold the worker's event loop (handlers run inline on it), e.g. under a WFS load.
        static_path_route=["/health"], static_path_mount=[health],
        static_path_dir_to_file="health.json", static_path_expires=0,
    ))


def _health_dir():  # type: ignore[no-untyped-def]
    import atexit
    import shutil
    import tempfile
    from pathlib import Path
    path = Path(tempfile.mkdtemp(prefix="samsyn-health-"))
    (path / "health.json").write_bytes(b'{"status":"ok"}')
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _supervise(make_server, *, first_delay: float = 1.0, max_delay: float = 30.0,
               stable_after: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Run granian until it is stopped by a signal; start it again when it gives up.

    Granian respawns a crashed worker at once, but exits ("Worker crash loop detected") when
    the same worker dies again within 5.5 s. Then the whole server is started again after 1, 2,
    4 ... 30 s (back to 1 s once it ran for a minute), so that a worker that crashes at start-up
    is retried slowly instead of in a tight loop, and a burst of crashes never ends the service.
    """
    import signal
    import threading
    import time

    delay = first_delay
    while True:
        started = time.monotonic()
        try:
            make_server().serve()
            return  # SIGINT/SIGTERM: granian stopped its workers and returned
        except SystemExit as exc:
            if not exc.code:
                return
        if time.monotonic() - started > stable_after:
            delay = first_delay
        click.echo(f"samsyn serve: granian exited; starting it again in {delay:g} s", err=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):  # granian's handlers died with it
            signal.signal(sig, lambda *_: stop.set())
        if stop.wait(delay):
            return
        delay = min(delay * 2, max_delay)


def _refuse_unmigrated(database_url: str) -> None:
    """Exit with one line when the database is behind the code's migrations (every request
    would fail on a missing table or column)."""
    from samsyn.db.migrate import unmigrated_reason
    reason = unmigrated_reason(database_url)
    if reason:
        raise click.ClickException(f"the database is {reason}: run `samsyn db upgrade` first")


def logging_config(level: str) -> dict[str, object]:
    """JSON lines on stderr: samsyn's own records are JSON objects already."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {"_granian": {"level": "WARNING"}, "granian.access": {"level": "WARNING"}},
    }


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--data-dir", default=".pgdata", show_default=True,
              help="Where the embedded PostGIS lives when DATABASE_URL is not set.")
def run(host: str, port: int, workers: int, data_dir: str) -> None:
    """Migrate and serve; without DATABASE_URL, on an embedded PostGIS under --data-dir."""
    from pathlib import Path

    from samsyn.db.migrate import upgrade_head

    if not os.environ.get("DATABASE_URL"):
        from samsyn.db.local import ensure_local_cluster
        cluster = ensure_local_cluster(Path(data_dir))
        if not cluster.database_exists("samsyn"):
            cluster.create_database("samsyn")
        os.environ["DATABASE_URL"] = cluster.url("samsyn")
        click.echo(f"embedded PostGIS in {Path(data_dir).resolve()} on port {cluster.port}",
                   err=True)
    settings = _settings_or_exit()
    upgrade_head(settings.database_url)
    click.echo(f"samsyn on http://{host}:{port}/api/v1/sources/", err=True)
    serve.callback(host=host, port=port, workers=workers)  # type: ignore[misc]


@main.command()
@click.option("--threads", default=2, show_default=True, type=int)
@click.option("--every", default=30.0, show_default=True, type=float,
              help="Seconds between scheduled mail delivery passes.")
def worker(threads: int, every: float) -> None:
    """Run the job worker: consumes the queues of SAMSYN_BROKER_URL (or, without one, an
    in-process queue) and schedules the periodic jobs (mail outbox, housekeeping)."""
    import signal
    import threading

    from dramatiq import Worker

    _settings_or_exit()
    from samsyn import logs
    from samsyn.jobs import actors
    from samsyn.jobs.broker import setup_broker
    logs.configure()
    broker = setup_broker()
    running = Worker(broker, worker_threads=threads)
    running.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    passes = 0
    while not stop.is_set():
        actors.deliver_mail.send()
        if passes % max(1, int(3600 / every)) == 0:
            actors.purge_expired.send()
        passes += 1
        stop.wait(every)
    running.stop()


@main.group()
def db() -> None:
    """Database schema: migrate, adopt a legacy Django database, check."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations to DATABASE_URL (default: up to head)."""
    from samsyn.db.migrate import collation_note, upgrade
    url = _settings_or_exit().database_url
    upgrade(url, revision)
    click.echo(f"database at {revision}")
    note = collation_note(url)
    if note:
        click.echo(note, err=True)


@db.command("adopt")
@click.option("--dry-run", is_flag=True, help="Only verify; change nothing.")
def db_adopt(dry_run: bool) -> None:
    """Take an existing Django database as it is: verify it table by table, then stamp it.

    A mismatch is reported table by table and nothing is changed (exit status 1).
    """
    from samsyn.db.adopt import adopt
    from samsyn.db.migrate import collation_note
    url = _settings_or_exit().database_url
    report = adopt(url, dry_run=dry_run)
    click.echo(str(report))
    note = collation_note(url)
    if note:
        click.echo(note, err=True)
    if not report.adopted and not dry_run:
        sys.exit(1)


@db.command("current")
def db_current() -> None:
    """Print the database's Alembic revision and the code's head."""
    from samsyn.db.migrate import current_revision, head_revision
    url = _settings_or_exit().database_url
    click.echo(f"current: {current_revision(url)}\nhead:    {head_revision()}")


@main.group()
def contract() -> None:
    """Hooks that let contract/replay.py drive samsyn."""


@contract.command("reset")
@click.argument("profile", default="default")
@click.option("--wait-url", default=None, help="Wait until this base URL answers /health.")
def contract_reset(profile: str, wait_url: str | None) -> None:
    """Empty the database at DATABASE_URL (ids restart at 1) and wait for the server."""
    from samsyn.contract_hooks import reset
    settings = _settings_or_exit()
    reset(settings.database_url, profile, wait_url or os.environ.get("SAMSYN_BASE_URL"))


@contract.command("fixture")
def contract_fixture() -> None:
    """One JSON object in on stdin, one JSON object out."""
    from samsyn.contract_hooks import fixture
    settings = _settings_or_exit()
    request = json.loads(sys.stdin.read())
    result = fixture(settings.database_url, request)
    sys.stdout.write(json.dumps(result))


from samsyn.domain.accounts import mail_cli  # noqa: E402  (click only; imports its work lazily)
from samsyn.jobs import cli as jobs_cli  # noqa: E402  (click only; imports its work lazily)

main.add_command(mail_cli.mail)
main.add_command(jobs_cli.jobs)
for _command in jobs_cli.LEGACY_COMMANDS:   # the manage.py commands, same names and flags
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
