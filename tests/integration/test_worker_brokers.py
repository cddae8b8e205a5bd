"""Real `samsyn worker` subprocesses against real brokers (RabbitMQ and Redis) and PostGIS.

Every test runs once per broker, on its own queue (SAMSYN_JOB_QUEUE), with the legacy CLI in
subprocesses as an operator runs it: `upload_shapefile --no-wait`, `jobs wait`, `jobs show`.
What it proves: a job runs exactly once and records attempts / worker / progress; a worker
SIGKILLed in the middle of an import leaves nothing behind and the redelivered message loads
the file exactly once; a transient error is retried and ends `failed` with its text; a
permanent one (ImportFailed) fails at the first attempt.

The brokers: the local service when it answers (127.0.0.1:5672 guest/guest, 127.0.0.1:6379),
otherwise a private `rabbitmq-server` / `redis-server` started here in a temporary directory
(SAMSYN_TEST_PRIVATE_BROKERS=1 forces that). With neither, the tests fail: never skipped.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from samsyn.db.migrate import upgrade_head

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "testdata"
SMALL_SHP = DATA / "r-cran-sf" / "nc.shp"         # 100 polygons
SMALL_ROWS = 100
BIG_ROWS = 120_000                                 # ~3 s of import: many progress writes
BIG_CHUNK = 1_000
MAX_RETRIES = 3                                    # samsyn.jobs.actors.run_job's max_retries
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
REDIS_URL = "redis://127.0.0.1:6379/0"
# Redis puts a dead worker's messages back only once it missed heartbeats this long, during
# the "maintenance" a broker command runs with this chance per million (samsyn/jobs/broker.py).
REDIS_ENV = {"SAMSYN_REDIS_HEARTBEAT_TIMEOUT": "4000", "SAMSYN_REDIS_MAINTENANCE_CHANCE": "1000000"}
_local = Path(sys.executable).with_name("samsyn")
SAMSYN = [str(_local)] if _local.exists() else [sys.executable, "-m", "samsyn.cli"]


# ------------------------------------------------------------------ brokers

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rabbitmq_answers(url: str) -> bool:
    import pika
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = 2
    params.blocked_connection_timeout = 2
    try:
        pika.BlockingConnection(params).close()
        return True
    except Exception:
        return False


def _redis_answers(url: str) -> bool:
    import redis
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _stop_group(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # also what the leader left behind
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _wait_until(answers: Callable[[], bool], proc: subprocess.Popen[Any], what: str,
                log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not answers():
        if proc.poll() is not None or time.monotonic() > deadline:
            text = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            _stop_group(proc)
            pytest.fail(f"the private {what} did not start within {timeout:g} s:\n{text}",
                        pytrace=False)
        time.sleep(0.3)


def _private_redis(base: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("Redis does not answer on 127.0.0.1:6379 and there is no redis-server "
                    "binary to start a private one: `scripts/install --test` installs it "
                    "(apt-get install redis-server)", pytrace=False)
    port = _free_port()
    log = base / "redis.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                 "--dir", str(base), "--save", "", "--appendonly", "no",
                                 "--daemonize", "no"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_until(lambda: _redis_answers(url), proc, "redis-server", log, 20)
        yield url
    finally:
        _stop_group(proc)


def _private_rabbitmq(base: Path) -> Iterator[str]:
    # The packaged wrapper (/usr/sbin/rabbitmq-server) re-runs itself as the rabbitmq user
    # and drops our environment; the script behind it runs as we are.
    direct = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
    binary = str(direct) if direct.exists() else shutil.which("rabbitmq-server")
    if binary is None:
        pytest.fail("RabbitMQ does not answer on 127.0.0.1:5672 and there is no rabbitmq-server "
                    "binary to start a private one: `scripts/install --test` installs it "
                    "(apt-get install rabbitmq-server)", pytrace=False)
    port, dist_port = _free_port(), _free_port()
    (base / "enabled_plugins").write_text("[].\n")
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.default = {port}\n"
                                        "loopback_users.guest = true\n")
    (base / "rabbitmq-env.conf").write_text("")   # not /etc/rabbitmq's NODENAME and port
    env = {**os.environ, "HOME": str(base), "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
           "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(dist_port),
           "RABBITMQ_NODENAME": f"samsyn-test-{secrets.token_hex(4)}@localhost",
           "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
           "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
           "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
           "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"), "ERL_EPMD_ADDRESS": "127.0.0.1"}
    log = base / "rabbitmq.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"amqp://guest:guest@127.0.0.1:{port}/%2F"
    try:
        _wait_until(lambda: _rabbitmq_answers(url), proc, "rabbitmq-server", log, 90)
        yield url
    finally:
        _stop_group(proc, grace=15)


@pytest.fixture(scope="module", params=["rabbitmq", "redis"])
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The broker's URL: the local service, else a private one for this module."""
    forced = os.environ.get("SAMSYN_TEST_PRIVATE_BROKERS") == "1"
    kind = request.param
    local, answers = ((RABBITMQ_URL, _rabbitmq_answers) if kind == "rabbitmq"
                      else (REDIS_URL, _redis_answers))
    if not forced and answers(local):
        yield local
        return
    base = Path(tempfile.mkdtemp(prefix=f"samsyn-test-{kind}-"))
    try:
        yield from (_private_rabbitmq(base) if kind == "rabbitmq" else _private_redis(base))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _delete_queues(url: str, queue: str) -> None:
    """Drop the test's queues (and delay / dead-letter queues) from a shared broker."""
    if url.startswith("amqp"):
        import pika
        params = pika.URLParameters(url)
        params.socket_timeout = 5
        with pika.BlockingConnection(params) as conn:
            channel = conn.channel()
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                channel.queue_delete(name)
    else:
        import redis
        client = redis.Redis.from_url(url, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=f"dramatiq:*{queue}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


# ------------------------------------------------------------------ database, files, CLI

@pytest.fixture(scope="module")
def database(new_database: Callable[..., str]) -> str:
    url = new_database("workers")
    upgrade_head(url)
    return url


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def big_shapefile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BIG_ROWS points (EPSG:4326, one integer field), written directly with numpy."""
    stem = tmp_path_factory.mktemp("big") / "points"
    n = BIG_ROWS
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-10, 30, n), rng.uniform(40, 70, n)

    def header(length_bytes: int) -> bytes:
        return (struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_bytes // 2)
                + struct.pack("<2i", 1000, 1)
                + struct.pack("<8d", x.min(), y.min(), x.max(), y.max(), 0, 0, 0, 0))

    rec = np.zeros(n, dtype=[("num", ">i4"), ("len", ">i4"), ("type", "<i4"), ("x", "<f8"),
                             ("y", "<f8")])
    rec["num"], rec["len"], rec["type"], rec["x"], rec["y"] = np.arange(1, n + 1), 10, 1, x, y
    stem.with_suffix(".shp").write_bytes(header(100 + 28 * n) + rec.tobytes())
    idx = np.zeros(n, dtype=[("offset", ">i4"), ("len", ">i4")])
    idx["offset"], idx["len"] = (100 + 28 * np.arange(n)) // 2, 10
    stem.with_suffix(".shx").write_bytes(header(100 + 8 * n) + idx.tobytes())
    width = 10
    dbf_head = struct.pack("<BBBBIHH20x", 3, 124, 1, 1, n, 32 + 32 + 1, 1 + width)
    field = struct.pack("<11sc4xBB14x", b"id", b"N", width, 0)
    records = np.char.add(b" ", np.char.rjust(np.arange(n).astype("S10"), width))
    stem.with_suffix(".dbf").write_bytes(dbf_head + field + b"\r" + records.tobytes() + b"\x1a")
    stem.with_suffix(".prj").write_text(
        'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,'
        '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')
    return stem.with_suffix(".shp")


class Jobs:
    """One test's queue on one broker: the CLI, the workers, the job rows."""

    def __init__(self, database_url: str, broker_url: str, logdir: Path) -> None:
        self.queue = f"samsyn-test-{uuid.uuid4().hex[:12]}"
        self.broker_url = broker_url
        self.dsn = _dsn(database_url)
        self.logdir = logdir
        self.env = {**os.environ, "DATABASE_URL": database_url, "SAMSYN_BROKER_URL": broker_url,
                    "SAMSYN_JOB_QUEUE": self.queue, "SAMSYN_LOG_LEVEL": "INFO",
                    **(REDIS_ENV if broker_url.startswith("redis") else {})}
        self.workers: list[subprocess.Popen[bytes]] = []

    # the CLI
    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SAMSYN, *args], env=self.env, cwd=REPO, capture_output=True,
                              text=True, timeout=timeout)

    def enqueue(self, path: Path, name: str, *extra: str) -> int:
        """`samsyn upload_shapefile PATH --no-wait`: the job id it prints."""
        out = self.cli("upload_shapefile", str(path), "--source_id", f"sid-{name}",
                       "--source_name", name, *extra, "--no-wait")
        assert out.returncode == 0, out.stderr
        return int(out.stdout.strip())

    # the workers
    def start_worker(self) -> subprocess.Popen[bytes]:
        log = self.logdir / f"worker-{len(self.workers)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([*SAMSYN, "worker", "--threads", "2", "--every", "3600"],
                                    env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.workers.append(proc)
        return proc

    def sigkill(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                         for p in sorted(self.logdir.glob("worker-*.log")))

    def close(self) -> None:
        for proc in self.workers:
            _stop_group(proc)
        _delete_queues(self.broker_url, self.queue)

    # the database
    def job(self, job_id: int) -> dict[str, Any]:
        with psycopg.connect(self.dsn, autocommit=True) as conn, \
                conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute("SELECT * FROM samsyn_job WHERE id = %s", (job_id,)).fetchone()
        assert row is not None
        return row

    def rows_of(self, name: str) -> tuple[int, int]:
        """(sources named `name`, their core_geometry rows)."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM core_source WHERE name = %s), "
                "(SELECT count(*) FROM core_geometry g JOIN core_source s ON s.id = g.source_id "
                " WHERE s.name = %s)", (name, name)).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def geometry_count(self) -> int:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM core_geometry").fetchone()
        assert row is not None
        return int(row[0])

    def watch(self, job_id: int, until: Callable[[dict[str, Any]], bool], *,
              timeout: float, every: float = 0.02) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Poll the job row until `until(row)`; (that row, every row seen)."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.dsn, autocommit=True) as conn, \
                conn.cursor(row_factory=dict_row) as cur:
            while True:
                row = cur.execute("SELECT * FROM samsyn_job WHERE id = %s", (job_id,)).fetchone()
                assert row is not None
                seen.append(row)
                if until(row):
                    return row, seen
                if time.monotonic() > deadline:
                    pytest.fail(f"job {job_id} still {row['status']} (progress {row['progress']}"
                                f"/{row['total']}, attempts {row['attempts']}) after "
                                f"{timeout:g} s\n{self.logs()}", pytrace=False)
                for proc in self.workers:
                    if proc.poll() not in (None, -signal.SIGKILL):
                        pytest.fail(f"a worker exited with {proc.returncode}\n{self.logs()}",
                                    pytrace=False)
                time.sleep(every)

    def finished(self, job_id: int, timeout: float = 60) -> dict[str, Any]:
        return self.watch(job_id, lambda r: r["status"] in ("successful", "failed"),
                          timeout=timeout, every=0.1)[0]


@pytest.fixture
def jobs(database: str, broker_url: str, tmp_path: Path) -> Iterator[Jobs]:
    (tmp_path / "logs").mkdir()
    j = Jobs(database, broker_url, tmp_path / "logs")
    try:
        yield j
    finally:
        j.close()


def _worker_of(proc: subprocess.Popen[bytes]) -> str:
    """What samsyn.jobs.service.worker_name() is in that process."""
    return f"{socket.gethostname()}:{proc.pid}"


def _name() -> str:
    return f"w-{uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------------ the tests

def test_enqueued_import_runs_once_on_the_worker(jobs: Jobs) -> None:
    worker = jobs.start_worker()
    name = _name()
    job_id = jobs.enqueue(SMALL_SHP, name)
    assert jobs.job(job_id)["status"] in ("accepted", "running", "successful")
    waited = jobs.cli("jobs", "wait", str(job_id), "--timeout", "60", timeout=90)
    assert waited.returncode == 0, waited.stderr + jobs.logs()
    assert f"loaded {SMALL_ROWS} of {SMALL_ROWS} rows" in waited.stderr
    job = jobs.job(job_id)
    assert job["status"] == "successful" and job["error"] is None
    assert job["attempts"] == 1
    assert job["worker"] == _worker_of(worker)
    assert job["progress"] == job["total"] == SMALL_ROWS
    assert job["result"]["loaded"] == SMALL_ROWS and job["result"]["source_name"] == name
    assert jobs.rows_of(name) == (1, SMALL_ROWS)
    shown = json.loads(jobs.cli("jobs", "show", str(job_id)).stdout)
    assert shown["status"] == "successful" and shown["id"] == job_id


def test_progress_is_visible_while_the_import_runs(jobs: Jobs, big_shapefile: Path) -> None:
    jobs.start_worker()
    name = _name()
    job_id = jobs.enqueue(big_shapefile, name, "--chunk_size", str(BIG_CHUNK), "--no-stats")
    job, seen = jobs.watch(job_id, lambda r: r["status"] in ("successful", "failed"),
                           timeout=120)
    assert job["status"] == "successful", (job["error"], jobs.logs())
    running = [(r["progress"], r["total"]) for r in seen if r["status"] == "running"]
    partial = [(p, t) for p, t in running if t == BIG_ROWS and 0 < p < t]
    assert partial, f"never saw 0 < progress < total while running: {running[:20]}"
    assert [p for p, _ in running] == sorted(p for p, _ in running)   # never goes back
    assert job["progress"] == job["total"] == BIG_ROWS and job["attempts"] == 1
    assert jobs.rows_of(name) == (1, BIG_ROWS)


def test_sigkilled_worker_leaves_nothing_and_redelivery_loads_once(
        jobs: Jobs, big_shapefile: Path) -> None:
    before = jobs.geometry_count()
    first = jobs.start_worker()
    name = _name()
    job_id = jobs.enqueue(big_shapefile, name, "--chunk_size", str(BIG_CHUNK), "--no-stats")
    job, _ = jobs.watch(job_id, lambda r: r["status"] != "accepted" and r["progress"] > 0,
                        timeout=60)
    assert job["status"] == "running" and 0 < job["progress"] < BIG_ROWS, job
    jobs.sigkill(first)

    # The attempt died with its transaction: no rows, no source; the row still says running.
    assert jobs.rows_of(name) == (0, 0)
    assert jobs.geometry_count() == before
    job = jobs.job(job_id)
    assert (job["status"], job["attempts"], job["worker"]) == ("running", 1, _worker_of(first))

    second = jobs.start_worker()
    job = jobs.finished(job_id, timeout=120)
    assert job["status"] == "successful", (job["error"], jobs.logs())
    assert job["attempts"] == 2
    assert job["worker"] == _worker_of(second)
    assert job["progress"] == job["total"] == BIG_ROWS
    assert jobs.rows_of(name) == (1, BIG_ROWS)
    assert jobs.geometry_count() == before + BIG_ROWS


@pytest.fixture
def refusing_database(jobs: Jobs) -> Iterator[str]:
    """A source name whose INSERT the database refuses with a serialization failure (SQLSTATE
    40001, the textbook transient error) every time: a trigger, dropped afterwards."""
    name = f"transient-{uuid.uuid4().hex[:8]}"
    trigger = f"refuse_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(jobs.dsn, autocommit=True) as conn:
        conn.execute(f"""
            CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'could not serialize access (test outage)'
                USING ERRCODE = 'serialization_failure';
            END $$""")
        conn.execute(f"CREATE TRIGGER {trigger} BEFORE INSERT ON core_source FOR EACH ROW "
                     f"WHEN (NEW.name = '{name}') EXECUTE FUNCTION {trigger}()")
    try:
        yield name
    finally:
        with psycopg.connect(jobs.dsn, autocommit=True) as conn:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger} ON core_source")
            conn.execute(f"DROP FUNCTION IF EXISTS {trigger}()")


def test_transient_error_is_retried_then_fails_with_its_text(
        jobs: Jobs, refusing_database: str) -> None:
    jobs.start_worker()
    name = refusing_database
    job_id = jobs.enqueue(SMALL_SHP, name)
    # Dramatiq's backoff before the retries: 1-2 s, 2-4 s, 4-8 s (min_backoff 1 s).
    job = jobs.finished(job_id, timeout=60)
    expected = "database error: could not serialize access (test outage)"
    assert (job["status"], job["error"]) == ("failed", expected), jobs.logs()
    assert job["attempts"] == MAX_RETRIES + 1
    assert job["finished"] is not None
    shown = jobs.cli("jobs", "show", str(job_id))
    assert shown.returncode == 0
    data = json.loads(shown.stdout)
    assert (data["status"], data["error"], data["attempts"]) == ("failed", expected,
                                                                  MAX_RETRIES + 1)
    waited = jobs.cli("jobs", "wait", str(job_id), "--timeout", "10")
    assert waited.returncode == 1
    assert f"failed after {MAX_RETRIES + 1} attempt(s): {expected}" in waited.stderr
    assert "Traceback" not in waited.stderr
    assert jobs.rows_of(name) == (0, 0)


def test_permanent_error_fails_at_the_first_attempt(jobs: Jobs, tmp_path: Path) -> None:
    for ext in (".shp", ".shx", ".dbf"):
        shutil.copy(SMALL_SHP.with_suffix(ext), tmp_path / f"corrupt{ext}")
    shp = tmp_path / "corrupt.shp"
    data = shp.read_bytes()
    shp.write_bytes(data[:len(data) // 2])          # a truncated .shp
    jobs.start_worker()
    name = _name()
    job_id = jobs.enqueue(shp, name)
    job = jobs.finished(job_id, timeout=60)
    assert job["status"] == "failed" and job["attempts"] == 1, (job, jobs.logs())
    error = job["error"]
    assert str(shp) in error and "record" in error, error
    assert "Traceback" not in error and "\n" not in error
    waited = jobs.cli("jobs", "wait", str(job_id), "--timeout", "10")
    assert waited.returncode == 1 and "Traceback" not in waited.stderr
    assert f"failed after 1 attempt(s): {error}" in waited.stderr
    assert json.loads(jobs.cli("jobs", "show", str(job_id)).stdout)["error"] == error
    assert jobs.rows_of(name) == (0, 0)


def test_redis_requeue_knobs_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from dramatiq.brokers.redis import RedisBroker

    from samsyn.jobs.broker import make_broker, redis_options
    assert redis_options({}) == {}
    assert redis_options(REDIS_ENV) == {"heartbeat_timeout": 4000, "maintenance_chance": 1_000_000}
    with pytest.raises(ValueError, match="SAMSYN_REDIS_HEARTBEAT_TIMEOUT"):
        redis_options({"SAMSYN_REDIS_HEARTBEAT_TIMEOUT": "soon"})
    for key, value in REDIS_ENV.items():
        monkeypatch.setenv(key, value)
    broker = make_broker("redis://127.0.0.1:1/0")     # no connection until used
    assert isinstance(broker, RedisBroker)
    assert (broker.heartbeat_timeout, broker.maintenance_chance) == (4000, 1_000_000)
