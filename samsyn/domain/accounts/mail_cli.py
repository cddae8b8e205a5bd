"""`samsyn mail dead|requeue`: the outbox messages delivery gave up on, and sending them again."""
from __future__ import annotations

import click

from samsyn.settings import SettingsError, get_settings


def _sessions():  # type: ignore[no-untyped-def]
    # lazy: `samsyn` imports this module for its click group; `samsyn --help` loads no
    # database layer (SQLAlchemy, psycopg)
    from samsyn.db.engine import get_sessions
    try:
        get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    return get_sessions()


@click.group("mail")
def mail() -> None:
    """The mail outbox: dead messages (delivery gave up after ~24 h or a 5xx answer)."""


@mail.command("dead")
def dead() -> None:
    """List the dead messages: id, when it died, attempts, recipients, subject, last error."""
    from samsyn.domain.accounts.mail import dead_messages  # lazy: see _sessions
    with _sessions()() as db:
        rows = dead_messages(db)
    for r in rows:
        click.echo(f"{r.id}\t{r.dead_at:%Y-%m-%d %H:%M:%S%z}\t{r.attempts} attempts\t"
                   f"{', '.join(r.recipients)}\t{r.subject}\t{r.last_error or ''}")
    click.echo(f"{len(rows)} dead message(s)", err=True)


@mail.command("requeue")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_", is_flag=True, help="Every dead message.")
def requeue(ids: tuple[int, ...], all_: bool) -> None:
    """Make dead messages (IDS, or --all) due again with a fresh retry budget."""
    from samsyn.domain.accounts.mail import requeue as requeue_messages  # lazy: see _sessions
    if bool(ids) == all_:
        raise click.UsageError("give message ids or --all (not both)")
    with _sessions().begin() as db:
        done = requeue_messages(db, None if all_ else ids)
    missing = sorted(set(ids) - set(done))
    click.echo(f"requeued {len(done)} message(s)"
               + (f": {' '.join(map(str, done))}" if done else ""))
    if missing:
        raise click.ClickException(f"not dead (or unknown): {' '.join(map(str, missing))}")
