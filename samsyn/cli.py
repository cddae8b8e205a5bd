"""The `samsyn` command: serve, database, contract hooks and (later) the import jobs."""
from __future__ import annotations

import json
import logging
import os
import sys

import click


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)


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
              help="Worker processes (production: one or two per core).")
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the API on HOST:PORT (uses DATABASE_URL)."""
    import uvicorn

    settings = _settings_or_exit()
    _configure_logging(settings.log_level)
    if not access_log:
        logging.getLogger("samsyn.access").setLevel(logging.WARNING)
        os.environ["SAMSYN_ACCESS_LOG"] = "0"
    uvicorn.run("samsyn.app:create_app", factory=True, host=host, port=port, workers=workers,
                http="httptools", loop="uvloop", log_level="warning", access_log=False,
                server_header=False, date_header=True)


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


if __name__ == "__main__":  # pragma: no cover
    main()
