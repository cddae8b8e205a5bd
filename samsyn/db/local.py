"""Database layer: a throwaway/local PostGIS cluster run from the Debian binaries, no system
service.

``ensure_local_cluster(data_dir)`` initdb's a cluster in ``data_dir`` (if absent), starts it on a
unix socket plus ``127.0.0.1:<port>`` and returns a :class:`LocalCluster`. It is idempotent: a
cluster already running in ``data_dir`` is reused, so several processes (pytest workers, the run
command) can share one. The cluster's default collation is ICU ``en-US`` like the legacy database
(NOTES.md §0: ``"Alpha" < "bravo" < "Charlie"``).

When we run as root the server runs as the ``postgres`` OS user (PostgreSQL refuses root): the data
directory is chowned to it and every server binary is started through ``runuser``/``setpriv``.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql

__all__ = [
    "APT_PACKAGES",
    "LocalCluster",
    "LocalPostgresError",
    "PostgresBinariesMissing",
    "ensure_local_cluster",
    "find_pg_bindir",
    "temporary_cluster",
]

APT_PACKAGES = "postgresql postgresql-contrib postgis postgresql-15-postgis-3"
ICU_LOCALE = "en-US"
_CONF_NAME = "samsyn.conf"
_PORT_FILE = "samsyn.port"
_SERVER_USER = "postgres"
# Unix socket paths are limited to 107 bytes (sun_path); long data dirs get a socket dir in /tmp.
_MAX_SOCKET_PATH = 100


class LocalPostgresError(RuntimeError):
    """The local PostgreSQL cluster could not be created, started or used."""


class PostgresBinariesMissing(LocalPostgresError):
    """The PostgreSQL server or PostGIS packages are not installed."""


def _missing(what: str) -> PostgresBinariesMissing:
    return PostgresBinariesMissing(
        f"{what}. samsyn's local PostGIS needs the PostgreSQL server and PostGIS installed: "
        f"on Debian/Ubuntu `apt-get install {APT_PACKAGES}` (or set SAMSYN_PG_BINDIR to a "
        f"directory holding initdb, pg_ctl and postgres; or set DATABASE_URL to an existing "
        f"PostGIS database)."
    )


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path)) or (0,)


def find_pg_bindir() -> Path:
    """Find the newest PostgreSQL server binaries.

    Order: ``$SAMSYN_PG_BINDIR``, the newest ``/usr/lib/postgresql/*/bin``, ``pg_config --bindir``.

    Returns:
        The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises:
        PostgresBinariesMissing: no usable server binaries were found.
    """
    candidates: list[Path] = []
    env = os.environ.get("SAMSYN_PG_BINDIR")
    if env:
        candidates.append(Path(env))
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        candidates.append(Path(d))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 check=True).stdout.strip()
            if out:
                candidates.append(Path(out))
    for c in candidates:
        if all((c / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
            return c
    raise _missing("No PostgreSQL server binaries (initdb, pg_ctl, postgres) found")


def _sharedir(bindir: Path) -> Path:
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True,
                                 check=True).stdout.strip()
            if out:
                return Path(out)
    version = bindir.parent.name  # /usr/lib/postgresql/<ver>/bin
    return Path("/usr/share/postgresql") / version


def _check_postgis(bindir: Path) -> None:
    ext = _sharedir(bindir) / "extension" / "postgis.control"
    if not ext.is_file():
        raise _missing(f"PostGIS is not installed for the PostgreSQL in {bindir} ({ext} missing)")


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(argv: list[str]) -> list[str]:
    """Prefix ``argv`` so that it runs as the ``postgres`` OS user when we are root."""
    if not _is_root():
        return argv
    try:
        pwd.getpwnam(_SERVER_USER)
    except KeyError:
        raise LocalPostgresError(
            f"running as root but there is no '{_SERVER_USER}' OS user to run PostgreSQL as "
            f"(PostgreSQL refuses to run as root); install the postgresql package or run as "
            f"a non-root user"
        ) from None
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", _SERVER_USER, "--", *argv]
    setpriv = shutil.which("setpriv")
    if setpriv:
        pw = pwd.getpwnam(_SERVER_USER)
        return [setpriv, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", *argv]
    raise LocalPostgresError("running as root and neither runuser nor setpriv is available")


def _chown_to_server_user(path: Path) -> None:
    if not _is_root():
        return
    pw = pwd.getpwnam(_SERVER_USER)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)


def _run(argv: list[str], what: str, *, timeout: float = 120) -> str:
    # cwd=/ : the server user may not be allowed into our cwd.
    proc = subprocess.run(_as_server_user(argv), capture_output=True, text=True, cwd="/",
                          timeout=timeout,
                          env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    if proc.returncode != 0:
        raise LocalPostgresError(
            f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n"
            f"{proc.stdout.strip()}\n{proc.stderr.strip()}".rstrip()
        )
    return proc.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _socket_dir_for(data_dir: Path) -> Path:
    if len(str(data_dir)) + len("/.s.PGSQL.65535") <= _MAX_SOCKET_PATH:
        return data_dir
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"samsyn-pg-{digest}"


@contextlib.contextmanager
def _lock(data_dir: Path) -> Iterator[None]:
    """Serialise ensure/stop across processes sharing ``data_dir``."""
    lock_path = data_dir.parent / f".{data_dir.name}.lock"
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class LocalCluster:
    """A running local PostgreSQL cluster (trust auth, superuser ``postgres``).

    Attributes:
        data_dir: The cluster's data directory.
        port: The TCP port on 127.0.0.1.
        socket_dir: The directory holding the unix socket.
        bindir: The PostgreSQL binaries used.
    """

    data_dir: Path
    port: int
    socket_dir: Path
    bindir: Path
    user: str = "postgres"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of database ``dbname`` over TCP (``postgresql+psycopg://...``)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq connection string (for psycopg, psql, pg_dump)."""
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname}"

    def connect(self, dbname: str = "postgres", *, autocommit: bool = True) -> psycopg.Connection:
        """A psycopg connection to ``dbname`` (autocommit by default)."""
        return psycopg.connect(self.dsn(dbname), autocommit=autocommit)

    def database_exists(self, name: str) -> bool:
        """Whether database ``name`` exists."""
        with self.connect() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (name,)).fetchone() is not None

    def create_database(self, name: str, *, template: str | None = None,
                        drop_existing: bool = False) -> str:
        """Create database ``name`` and return its SQLAlchemy URL.

        Without ``template`` the database is created from ``template0`` with ICU ``en-US``
        collation and gets ``CREATE EXTENSION postgis``; with one it is a copy of ``template``.
        An existing database is kept (and returned) unless ``drop_existing`` is true.

        Args:
            name: Database name.
            template: Database to copy (it must have no other connections).
            drop_existing: Drop ``name`` first (terminating its connections).

        Returns:
            The SQLAlchemy URL of the database.
        """
        with self.connect() as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone() is not None
            if exists and drop_existing:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
                exists = False
            if not exists:
                if template is None:
                    stmt = sql.SQL(
                        "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' "
                        "LOCALE_PROVIDER icu ICU_LOCALE {} LOCALE 'C.UTF-8'"
                    ).format(sql.Identifier(name), sql.Literal(ICU_LOCALE))
                else:
                    stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template))
                try:
                    conn.execute(stmt)
                except psycopg.errors.DuplicateDatabase:
                    pass  # another process won the race: same result
        if template is None:
            with self.connect(name) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists (terminating its connections)."""
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

    def is_running(self) -> bool:
        """Whether the server in ``data_dir`` is running."""
        return _status(self.bindir, self.data_dir)

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server (no-op if it is not running)."""
        with _lock(self.data_dir):
            if _status(self.bindir, self.data_dir):
                _run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w",
                      "stop"], "pg_ctl stop")
            if self.socket_dir != self.data_dir:
                with contextlib.suppress(OSError):  # only if empty: another server may use it
                    self.socket_dir.rmdir()


def _status(bindir: Path, data_dir: Path) -> bool:
    if not (data_dir / "postmaster.pid").exists():
        return False
    proc = subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data_dir), "status"]),
                          capture_output=True, text=True, cwd="/")
    return proc.returncode == 0


def _running_port(data_dir: Path) -> int | None:
    # postmaster.pid line 4 is the port (see PostgreSQL's pidfile.h).
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((data_dir / "postmaster.pid").read_text().splitlines()[3])
    return None


def _check_server_user_can_reach(path: Path) -> None:
    """As root, the server runs as ``postgres``: every parent of ``path`` must be searchable."""
    if not _is_root():
        return
    proc = subprocess.run(_as_server_user(["test", "-x", str(path)]), cwd="/",
                          capture_output=True)
    if proc.returncode != 0:
        raise LocalPostgresError(
            f"the '{_SERVER_USER}' OS user (which runs PostgreSQL because we are root) cannot "
            f"enter {path}; choose a data directory whose parents are world-searchable "
            f"(e.g. under the project directory or /tmp, not a 0700 pytest tmp dir)")


def _initdb(bindir: Path, data_dir: Path, for_tests: bool) -> None:
    _check_server_user_can_reach(data_dir.parent)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    _chown_to_server_user(data_dir)
    _run([str(bindir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust",
          "-E", "UTF8", "--locale=C.UTF-8", "--locale-provider=icu", f"--icu-locale={ICU_LOCALE}",
          "--no-instructions", *(["--no-sync"] if for_tests else [])], "initdb")


def _write_conf(data_dir: Path, port: int, socket_dir: Path, for_tests: bool) -> None:
    lines = [
        "# written by samsyn.db.local; edits are overwritten",
        "listen_addresses = '127.0.0.1'",
        f"port = {port}",
        f"unix_socket_directories = '{socket_dir}'",
        "max_connections = 200",
        "logging_collector = off",
        "timezone = 'UTC'",
    ]
    if for_tests:
        lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off",
                  "shared_buffers = 128MB"]
    conf = data_dir / _CONF_NAME
    conf.write_text("\n".join(lines) + "\n")
    main_conf = data_dir / "postgresql.conf"
    include = f"include_if_exists = '{_CONF_NAME}'"
    text = main_conf.read_text()
    if include not in text:
        main_conf.write_text(text.rstrip("\n") + "\n" + include + "\n")
    (data_dir / _PORT_FILE).write_text(f"{port}\n")
    _chown_to_server_user(data_dir)


def _stored_port(data_dir: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((data_dir / _PORT_FILE).read_text().strip())
    return None


def _wait_ready(cluster: LocalCluster, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with cluster.connect() as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.1)
    raise LocalPostgresError(f"local PostgreSQL on port {cluster.port} did not accept "
                             f"connections: {last}")


def ensure_local_cluster(data_dir: Path, *, port: int | None = None,
                         for_tests: bool = False) -> LocalCluster:
    """Create (if absent) and start (if stopped) a local PostGIS cluster in ``data_dir``.

    Idempotent: a server already running in ``data_dir`` is reused as it is (its port wins over
    ``port``). The chosen port is persisted in ``data_dir`` and reused on the next start.

    Args:
        data_dir: The data directory, e.g. ``<project>/.pgdata``.
        port: TCP port on 127.0.0.1; ``None`` reuses the persisted port or picks a free one.
        for_tests: Trade durability for speed (``fsync=off``, ``synchronous_commit=off``,
            ``full_page_writes=off``).

    Returns:
        The running cluster.

    Raises:
        PostgresBinariesMissing: PostgreSQL or PostGIS is not installed.
        LocalPostgresError: initdb or the server start failed.
    """
    bindir = find_pg_bindir()
    _check_postgis(bindir)
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    socket_dir = _socket_dir_for(data_dir)
    with _lock(data_dir):
        if not (data_dir / "PG_VERSION").exists():
            if data_dir.exists() and any(data_dir.iterdir()):
                raise LocalPostgresError(f"{data_dir} exists, is not empty and is not a "
                                         f"PostgreSQL data directory")
            _initdb(bindir, data_dir, for_tests)
        if _status(bindir, data_dir):
            running = _running_port(data_dir) or _stored_port(data_dir)
            if running is None:
                raise LocalPostgresError(f"cannot tell the port of the server in {data_dir}")
            cluster = LocalCluster(data_dir, running, socket_dir, bindir)
            _wait_ready(cluster)
            return cluster

        if socket_dir != data_dir:
            socket_dir.mkdir(mode=0o700, exist_ok=True)
            _chown_to_server_user(socket_dir)
        explicit = port is not None
        chosen = port if explicit else _stored_port(data_dir)
        if chosen is None or (not explicit and _port_in_use(chosen)):
            chosen = _free_port()
        attempts = 1 if explicit else 5
        for attempt in range(attempts):
            _write_conf(data_dir, chosen, socket_dir, for_tests)
            log = data_dir / "log" / "server.log"
            log.parent.mkdir(exist_ok=True)
            _chown_to_server_user(log.parent)
            try:
                _run([str(bindir / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-w",
                      "-t", "60", "start"], "pg_ctl start")
                break
            except LocalPostgresError as exc:
                if attempt == attempts - 1:
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise LocalPostgresError(f"{exc}\n--- server log ---\n{tail}") from None
                chosen = _free_port()  # lost a race for the port: pick another
        cluster = LocalCluster(data_dir, chosen, socket_dir, bindir)
        _wait_ready(cluster)
        return cluster


@contextlib.contextmanager
def temporary_cluster(*, for_tests: bool = True,
                      prefix: str = "samsyn-pg-") -> Iterator[LocalCluster]:
    """A throwaway cluster in a new temporary directory, stopped and deleted on exit.

    The directory is made world-searchable (not a 0700 pytest tmp dir) because the server may
    run as the ``postgres`` OS user.
    """
    base = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        os.chmod(base, 0o755)
        cluster = ensure_local_cluster(base / "pgdata", for_tests=for_tests)
        try:
            yield cluster
        finally:
            cluster.stop(mode="immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)
