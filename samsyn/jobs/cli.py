"""The job CLI: the legacy manage.py commands under their own names and flags, and `jobs`.

stdout carries exactly what the legacy printed (operators' scripts read it); the progress bar,
the summary and every error of samsyn's own go to stderr. A job runs on a worker (default:
enqueue and wait), in this process's own Dramatiq worker when no SAMSYN_BROKER_URL is set, or
inline with --sync.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import click

FINISHED = ("successful", "failed")
POLL_S = 0.1
LEGACY_BATCH = 500   # the legacy's chunked_bulk_create printed one line per 500 rows


class CommandFailed(click.ClickException):
    """`Error: <message>` on stdout or stderr and exit status 1, never a traceback."""

    def __init__(self, message: str, *, stdout: bool = False) -> None:
        super().__init__(message)
        self.stdout = stdout

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.message}", err=not self.stdout)


def _settings() -> Any:
    from samsyn.settings import SettingsError, get_settings
    try:
        return get_settings()
    except SettingsError as exc:
        raise CommandFailed(str(exc)) from None


# ------------------------------------------------------------------ progress and summary

def _console() -> Any:
    from rich.console import Console
    console = Console(stderr=True)
    if not console.is_terminal:
        # a log file or a pipe: rich's default 80 columns cut the counts ("1000000/10000…")
        console = Console(stderr=True, width=120)
    return console


class ProgressBar:
    """rich progress on stderr: rows done / total, rows per second, ETA."""

    def __init__(self, label: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class RowsPerSecond(ProgressColumn):
            def render(self, task: Any) -> Text:
                # rich forgets its speed samples when the total changes (a CSV's total is known
                # only at the end): then the average since the start.
                speed = task.finished_speed or task.speed or (
                    task.completed / task.elapsed if task.completed and task.elapsed else None)
                return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s")

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), RowsPerSecond(), TimeElapsedColumn(),
                                  TextColumn("ETA"), TimeRemainingColumn(),
                                  console=_console(), transient=False)
        self._task = self._progress.add_task(label, total=None)

    def update(self, done: int, total: int | None) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def _rows(numbers: list[int], first: int = 5) -> str:
    shown = ", ".join(str(n) for n in numbers[:first])
    return shown + (f" and {len(numbers) - first} more" if len(numbers) > first else "")


def summary(job: dict[str, Any]) -> str:
    """The final lines on stderr: rows loaded, skipped with reasons (first row numbers), time."""
    result = job.get("result") or {}
    seconds = result.get("seconds")
    if job["status"] != "successful":
        return f"job {job['id']} {job['status']} after {job['attempts']} attempt(s): {job['error']}"
    if "loaded" not in result:
        return f"job {job['id']} successful" + (f" in {seconds:.2f} s" if seconds else "")
    lines = [f"job {job['id']}: loaded {result['loaded']:,} of {result['total']:,} rows into "
             f"source {result['source_name']!r} (ID {result['source_pk']}, sid "
             f"{result['sid']!r}{', new' if result.get('created_source') else ''}) in "
             f"{seconds or 0:.2f} s"]
    if result.get("skipped"):
        by_reason: dict[str, list[int]] = {}
        for row, reason in result.get("skipped_rows") or []:
            by_reason.setdefault(reason, []).append(row)
        lines.append(f"skipped {result['skipped']:,} rows: " + "; ".join(
            f"{reason} (row {_rows(rows)})" for reason, rows in by_reason.items()))
    return "\n".join(lines)


# ------------------------------------------------------------------ running a job

def _quiet_dramatiq() -> None:
    # The worker logs a failed attempt with its traceback; the job row and our summary say
    # what failed, and a CLI never shows a traceback.
    log = logging.getLogger("dramatiq")
    log.handlers[:] = [logging.NullHandler()]
    log.propagate = False


def wait_for(job_id: int, bar: ProgressBar | None, *, timeout: float | None = None,
             database_url: str | None = None) -> dict[str, Any]:
    """Poll the job row until it is finished; the bar follows its progress."""
    from samsyn.jobs import queries, service
    deadline = None if timeout is None else time.monotonic() + timeout
    with service.connect(database_url) as conn:
        while True:
            job = queries.job_by_id(conn, job_id)
            if job is None:
                raise CommandFailed(f"no job with ID {job_id}")
            if bar is not None:
                bar.update(job["progress"], job["total"])
            if job["status"] in FINISHED:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise CommandFailed(f"job {job_id} still {job['status']} after {timeout:g} s")
            time.sleep(POLL_S)


def run(kind: str, args: dict[str, Any], *, no_wait: bool, sync: bool, label: str,
        show_bar: bool = True) -> dict[str, Any] | None:
    """Create the job and run it as asked; the finished job row (None with --no-wait)."""
    from samsyn.jobs import service
    settings = _settings()
    if no_wait and sync:
        raise CommandFailed("--no-wait and --sync exclude each other")
    try:
        job_id, _ = service.create_job(kind, args)
    except Exception as exc:
        raise CommandFailed(f"cannot record the job: {_error_line(exc)}") from None
    if no_wait:
        if settings.broker_url:
            _enqueue(job_id)
        else:
            _detach(job_id)
        click.echo(job_id)
        return None
    bar = ProgressBar(label) if show_bar else None
    try:
        if bar is not None:
            bar.__enter__()
        if sync:
            from samsyn.jobs import runner
            try:
                runner.run_inline(job_id, progress=bar.update if bar else None)
            except Exception:  # noqa: S110 - recorded in the job row, reported below
                pass
            job = service.get_job(job_id)
            assert job is not None
            if bar is not None:   # the total a CSV knows only at the end
                bar.update(job["progress"], job["total"])
            return job
        return _enqueue_and_wait(job_id, bar, in_process=not settings.broker_url)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _enqueue_and_wait(job_id: int, bar: ProgressBar | None, *,
                      in_process: bool) -> dict[str, Any]:
    """Send the job and wait for its row to finish; in_process: on a worker of our own."""
    worker = _enqueue(job_id, start_worker=in_process)
    try:
        return wait_for(job_id, bar)
    finally:
        if worker is not None:
            worker.stop()


def _enqueue(job_id: int, *, start_worker: bool = False) -> Any:
    _quiet_dramatiq()
    from samsyn.jobs import actors
    worker = None
    if start_worker:
        from dramatiq import Worker
        worker = Worker(actors._broker, worker_threads=1, worker_timeout=100)
        worker.start()
    try:
        actors.run_job.send(job_id)
    except Exception as exc:
        if worker is not None:
            worker.stop()
        raise CommandFailed(f"cannot enqueue job {job_id}: {_error_line(exc)}") from None
    return worker


def _detach(job_id: int) -> None:
    """--no-wait without a broker: the stub broker lives and dies with this process, so the
    message alone would never be consumed; a detached `samsyn jobs run ID` is the job's
    in-process worker instead."""
    import subprocess
    try:
        subprocess.Popen([sys.executable, "-m", "samsyn.cli", "jobs", "run", str(job_id)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        from samsyn.jobs import service
        service.fail_attempt(job_id, f"cannot start a worker: {exc}", final=True)
        raise CommandFailed(f"cannot start a worker for job {job_id}: {exc}") from None


def _error_line(exc: BaseException) -> str:
    from samsyn.jobs.runner import error_text
    return error_text(exc)


# ------------------------------------------------------------------ shared options

def _job_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--sync", is_flag=True,
                     help="Run the job inline in this process, without a broker.")(f)
    f = click.option("--no-wait", "no_wait", is_flag=True,
                     help="Enqueue the job, print its ID and return.")(f)
    return f


def _import_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed([
        click.option("--srid", type=int, help="Input CRS (EPSG code); overrides .prj / crs."),
        click.option("--simplify", type=float, metavar="TOL",
                     help="Douglas-Peucker tolerance in degrees (after reprojection)."),
        click.option("--encoding", help="Text encoding of the attributes (default: .cpg, "
                                        "else UTF-8 or Latin-1 detected from the records)."),
        click.option("--strict", is_flag=True, help="A bad row fails the job instead of "
                                                    "being skipped."),
        click.option("--stats/--no-stats", default=None,
                     help="Fill the source's attribute statistics after loading "
                          "(default: shapefile/GeoJSON yes, CSV no, as the legacy)."),
    ]):
        f = decorator(f)
    return f


def _existing_file(path: str) -> str:
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise CommandFailed(f"{path}: no such file")
    return full


def _import(kind: str, label: str, success: str, options: dict[str, Any], no_wait: bool,
            sync: bool, batch: int = LEGACY_BATCH) -> None:
    args = {k: v for k, v in options.items() if v is not None}
    job = run(kind, args, no_wait=no_wait, sync=sync, label=label)
    if job is None:
        return
    click.echo(summary(job), err=True)
    if job["status"] != "successful":
        sys.exit(1)
    loaded = int(job["result"]["loaded"])
    # The legacy printed the row count, then `i + chunk` for every chunk i (its own off-by-
    # chunk count, kept: scripts may parse it), then its success line.
    click.echo(str(loaded))
    for i in range(0, loaded, batch):
        click.echo(f"Created {i + batch} of {loaded} geometries")
    click.echo(success)


# ------------------------------------------------------------------ the legacy commands

@click.command("upload_csv_file")
@click.argument("path")
@click.option("--source_id", "--source-id", "source_id", help="The Source.sid to load into.")
@click.option("--source_name", "--source-name", "source_name", help="The source's name.")
@click.option("--lon", default="Longitude", show_default=True, help="Longitude column.")
@click.option("--lat", default="Latitude", show_default=True, help="Latitude column.")
@_import_options
@_job_options
def upload_csv_file(path: str, source_id: str | None, source_name: str | None, lon: str,
                    lat: str, srid: int | None, simplify: float | None, encoding: str | None,
                    strict: bool, stats: bool | None, no_wait: bool, sync: bool) -> None:
    """Load a CSV of points (Longitude/Latitude columns) into a source."""
    _import("import_csv", "CSV rows", "Successfully uploaded CSV file to Geometry model",
            {"path": _existing_file(path), "sid": source_id, "source_name": source_name,
             "lon": lon, "lat": lat, "srid": srid, "simplify": simplify, "encoding": encoding,
             "strict": strict, "stats": stats}, no_wait, sync)


@click.command("upload_shapefile")
@click.argument("path")
@click.option("--source_id", "--source-id", "source_id", help="The Source.sid to load into.")
@click.option("--source_name", "--source-name", "source_name", help="The source's name.")
@click.option("--description", default=None, help="The new source's description.")
@click.option("--source_type", "--source-type", "source_type", default=None,
              help="The new source's type.")
@click.option("--chunk_size", "--chunk-size", "chunk_size", type=click.IntRange(min=1),
              default=None, help="Records per chunk.")
@_import_options
@_job_options
def upload_shapefile(path: str, source_id: str | None, source_name: str | None,
                     description: str | None, source_type: str | None, chunk_size: int | None,
                     srid: int | None, simplify: float | None, encoding: str | None,
                     strict: bool, stats: bool | None, no_wait: bool, sync: bool) -> None:
    """Load a shapefile (.shp with .shx/.dbf/.prj/.cpg, or a .zip holding them)."""
    _import("import_shapefile", "shapefile records",
            "Successfully uploaded shapefile to Geometry model",
            {"path": _existing_file(path), "sid": source_id, "source_name": source_name,
             "description": description, "source_type": source_type, "chunk_size": chunk_size,
             "srid": srid, "simplify": simplify, "encoding": encoding, "strict": strict,
             "stats": stats}, no_wait, sync, batch=chunk_size or LEGACY_BATCH)


@click.command("upload_gmlh")
@click.argument("path")
@click.option("--source_name", "--source-name", "source_name", help="The source's name.")
@click.option("--source_id", "--source-id", "source_id", help="The Source.sid to load into.")
@_import_options
@_job_options
def upload_gmlh(path: str, source_name: str | None, source_id: str | None, srid: int | None,
                simplify: float | None, encoding: str | None, strict: bool,
                stats: bool | None, no_wait: bool, sync: bool) -> None:
    """Load a GeoJSON FeatureCollection into a source."""
    _import("import_geojson", "GeoJSON features",
            "Successfully uploaded GeoJSON file to Geometry model",
            {"path": _existing_file(path), "sid": source_id, "source_name": source_name,
             "srid": srid, "simplify": simplify, "encoding": encoding, "strict": strict,
             "stats": stats}, no_wait, sync)


@click.command("update_source_stats")
@click.argument("source_id")
@click.option("--create-function", "--create_function", "create_function", is_flag=True,
              help="(Re)create the SQL functions first.")
@_job_options
def update_source_stats(source_id: str, create_function: bool, no_wait: bool,
                        sync: bool) -> None:
    """Fill Source.attributes from the geometries' metadata, for ID or `all`."""
    if source_id != "all":
        try:
            int(source_id)
        except ValueError:
            raise CommandFailed(f"Invalid source_id: {source_id}. Must be an integer or 'all'",
                                stdout=True) from None
    job = run("update_source_stats", {"source": source_id, "create_function": create_function},
              no_wait=no_wait, sync=sync, label="sources")
    if job is None:
        return
    if job["status"] != "successful":
        raise CommandFailed(job["error"] or "failed", stdout=True)
    result = job["result"]
    seconds = result.get("seconds", 0.0)
    if source_id == "all":
        click.echo(f"Successfully updated attributes for all sources in {seconds:.2f} seconds")
    else:
        source = result["sources"][0]
        click.echo(f"Successfully updated attributes for source: {source['name']} "
                   f"(ID: {source['id']}) in {seconds:.2f} seconds")


@click.command("create_martin_functions")
@_job_options
def create_martin_functions(no_wait: bool, sync: bool) -> None:
    """(Re)create the martin tile and GeoJSON SQL functions (idempotent)."""
    job = run("create_martin_functions", {}, no_wait=no_wait, sync=sync, label="functions",
              show_bar=False)
    if job is None:
        return
    if job["status"] != "successful":
        raise CommandFailed(job["error"] or "failed")
    click.echo("Creates needed martin and geojson functions")


LEGACY_COMMANDS = [upload_csv_file, upload_shapefile, upload_gmlh, update_source_stats,
                   create_martin_functions]


# ------------------------------------------------------------------ samsyn jobs ...

@click.group()
def jobs() -> None:
    """Watch jobs: list, show, wait."""


def _plain(job: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in job.items()}


@jobs.command("list")
@click.option("--status", type=click.Choice(["accepted", "running", "successful", "failed"]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
def jobs_list(status: str | None, limit: int) -> None:
    """The newest jobs: id, kind, status, progress, attempts, created, error."""
    from samsyn.jobs import service
    _settings()
    count, rows = service.list_jobs(limit, 0, status)
    click.echo(f"{'ID':>6}  {'KIND':<24} {'STATUS':<10} {'PROGRESS':>15} {'TRIES':>5}  "
               f"{'CREATED':<19}  ERROR")
    for job in rows:
        progress = f"{job['progress']}/{job['total'] if job['total'] is not None else '?'}"
        click.echo(f"{job['id']:>6}  {job['kind']:<24} {job['status']:<10} {progress:>15} "
                   f"{job['attempts']:>5}  {job['created']:%Y-%m-%d %H:%M:%S}  "
                   f"{job['error'] or ''}")
    if count > len(rows):
        click.echo(f"({count - len(rows)} older jobs not shown)", err=True)


@jobs.command("show")
@click.argument("job_id", type=int)
def jobs_show(job_id: int) -> None:
    """One job as JSON (status, progress, attempts, worker, error, result)."""
    from samsyn.jobs import service
    _settings()
    job = service.get_job(job_id)
    if job is None:
        raise CommandFailed(f"no job with ID {job_id}")
    click.echo(json.dumps(_plain(job), indent=2, ensure_ascii=False))


@jobs.command("run", hidden=True)
@click.argument("job_id", type=int)
def jobs_run(job_id: int) -> None:
    """Run one job on this process's own worker (what --no-wait starts without a broker)."""
    if _settings().broker_url:
        raise CommandFailed("jobs run is the in-process worker of --no-wait; "
                            "SAMSYN_BROKER_URL is set")
    job = _enqueue_and_wait(job_id, None, in_process=True)
    sys.exit(0 if job["status"] == "successful" else 1)


@jobs.command("wait")
@click.argument("job_id", type=int)
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
def jobs_wait(job_id: int, timeout: float | None) -> None:
    """Wait for a job with a progress bar; exit 0 when it succeeded, 1 when it failed."""
    from samsyn.jobs import service
    _settings()
    if service.get_job(job_id) is None:
        raise CommandFailed(f"no job with ID {job_id}")
    with ProgressBar(f"job {job_id}") as bar:
        job = wait_for(job_id, bar, timeout=timeout)
    click.echo(summary(job), err=True)
    if job["status"] != "successful":
        sys.exit(1)
