"""Faults over real HTTP: the database stopped under load, restarted, workers killed.

The database tests run on a cluster of their own (stopping the session's shared one would break
every other test) and a `samsyn serve` against it.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from samsyn.db.local import LocalCluster, ensure_local_cluster, temporary_cluster
from tests.conftest import Server, free_port
from tests.integration.test_bad_input import assert_no_leak

UNAVAILABLE = {"detail": "Service temporarily unavailable, try again later."}
PATHS = ["/api/v1/sources/", "/api/v1/layers/", "/api/v1/projects/", "/api/v1/sources/999999/"]


def timed(port: int, method: str, path: str, body: bytes | None = None
          ) -> tuple[float, int, dict[str, str], bytes]:
    """(seconds, status, headers, body) of one request on a new connection."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body,
                     headers={"Content-Type": "application/json"} if body else {})
        resp = conn.getresponse()
        data = resp.read()
        return (time.perf_counter() - started, resp.status,
                {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


# Probes sent from a process of their own: the load's client threads share the test process's
# GIL, and a probe timed from there also waited for them (medians doubled).
PROBER = r"""
import http.client, json, sys, time
port, seconds, paths = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
started, probes = time.monotonic(), []
while time.monotonic() < started + seconds:
    for path in paths:
        sent = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        probes.append((path, sent - started, time.monotonic() - sent, response.status, body))
    time.sleep(0.05)
print(json.dumps(probes))
"""


def probe(port: int, seconds: float, paths: list[str]) -> list[tuple[str, float, float, int, str]]:
    """(path, seconds after the start, seconds taken, status, body) of every probe."""
    done = subprocess.run([sys.executable, "-c", PROBER, str(port), str(seconds), *paths],
                          capture_output=True, text=True, check=True, timeout=seconds + 120)
    return [tuple(p) for p in json.loads(done.stdout)]  # type: ignore[misc]


class Load:
    """`clients` threads sending requests back to back; every answer is recorded with the
    monotonic time it was sent."""

    def __init__(self, port: int, clients: int, paths: list[str] | None = None) -> None:
        self.port = port
        self.paths = paths
        self.results: list[tuple[float, float, str, int, dict[str, str], bytes]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, index: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            if index % 8 == 0:  # a quarter of the clients write (the ORM session path)
                path, method = "/api/v1/sources/", "POST"
                body = json.dumps({"sid": f"f{uuid.uuid4().hex[:12]}", "name": "n",
                                   "description": "d", "source_type": "t"}).encode()
            else:
                paths = self.paths or PATHS
                path, method, body = paths[(index + n) % len(paths)], "GET", None
            sent = time.monotonic()
            try:
                elapsed, status, headers, data = timed(self.port, method, path, body)
            except OSError as exc:
                elapsed, status, headers, data = time.monotonic() - sent, -1, {}, repr(exc).encode()
            with self._lock:
                self.results.append((sent, elapsed, f"{method} {path}", status, headers, data))

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)

    def between(self, start: float,
                end: float) -> list[tuple[float, float, str, int, dict[str, str], bytes]]:
        with self._lock:
            return [r for r in self.results if start <= r[0] < end]


@pytest.fixture
def own_cluster() -> Iterator[tuple[LocalCluster, str]]:
    """A cluster only this test stops and starts, with a migrated database."""
    from samsyn.db.migrate import upgrade_head
    with temporary_cluster(prefix="samsyn-test-faults-") as cluster:
        url = cluster.create_database("faults")
        upgrade_head(url)
        yield cluster, url
        ensure_local_cluster(cluster.data_dir, port=cluster.port, for_tests=True)


def restart(cluster: LocalCluster) -> None:
    ensure_local_cluster(cluster.data_dir, port=cluster.port, for_tests=True)


def test_database_down_under_load_fails_fast_with_503(own_cluster: tuple[LocalCluster, str]
                                                       ) -> None:
    cluster, url = own_cluster
    srv = Server(url)
    try:
        with Load(srv.port, 32) as load:
            time.sleep(1.5)
            stopping_at = time.monotonic()
            cluster.stop(mode="fast")
            down_at = time.monotonic()
            probes = probe(srv.port, 4, ["/health", "/ready"])
            restarting_at = time.monotonic()   # requests from here on may find it up again
            restart(cluster)
            up_at = time.monotonic()
            time.sleep(4)
        down = load.between(down_at, restarting_at)
        around_the_stop = load.between(stopping_at - 0.5, restarting_at)
        late = load.between(up_at + 2, up_at + 4)
        everything = load.results
    finally:
        srv.stop()

    assert len(down) > 100, "the load did not run"
    slow = sorted(r[1] for r in down)[-5:]
    assert slow[-1] < 2.0, f"answers took up to {slow} s while the database was down"
    # Requests in flight as it stopped found their pooled connections closed: none waited for
    # the pool to refill (1 s, on the event loop, stalling every other request with it).
    slow = sorted((round(r[1], 3), round(r[0] - down_at, 3)) for r in around_the_stop)[-5:]
    assert slow[-1][0] < 0.8, f"(seconds, sent after the stop): {slow}"
    for _, _, what, status, headers, body in down:
        assert status == 503, (what, status, body[:200])
        assert headers["content-type"] == "application/json"
        assert int(headers["retry-after"]) >= 1
        assert json.loads(body) == UNAVAILABLE
    health = [p for p in probes if p[0] == "/health"]
    ready = [p for p in probes if p[0] == "/ready"]
    assert all(p[3] == 200 for p in health)
    assert max(p[2] for p in health) < 0.1, sorted(p[2] for p in health)[-5:]
    assert all(p[3] == 503 and json.loads(p[4]) == {"status": "database unavailable"}
               for p in ready)
    # Never a connect or pool timeout (2 s, 1 s): the breaker is open, /ready reads a state.
    assert max(p[2] for p in ready) < 0.5, sorted((p[2], p[1]) for p in ready)[-5:]
    # Back up: the breaker closes by itself, and nothing on the way was a 500.
    assert len(late) > 50 and all(r[3] in (200, 201, 404) for r in late), \
        sorted({(r[2], r[3]) for r in late})
    assert not [r for r in everything if r[3] not in (200, 201, 404, 503)], \
        sorted({(r[2], r[3]) for r in everything if r[3] not in (200, 201, 404, 503)})


def test_probes_answer_at_once_under_a_wfs_load(own_cluster: tuple[LocalCluster, str]) -> None:
    # A large wfs answer holds its handler for tens of milliseconds; 48 clients asking for it
    # back to back must not make /ready (an orchestrator's readiness probe) wait behind them.
    cluster, url = own_cluster
    with cluster.connect("faults") as conn:
        (pk,) = conn.execute(
            "INSERT INTO core_source (sid, name, description, source_type, attributes) "
            "VALUES ('big', 'big', '', '', '{}') RETURNING id").fetchone()
        conn.execute(
            "INSERT INTO core_geometry (geom, metadata, geometry_type, source_id) "
            "SELECT ST_SetSRID(ST_MakePoint(i %% 360 - 180, i %% 170 - 85), 4326), "
            "jsonb_build_object('n', i, 'name', 'feature ' || i), 'Point', %s "
            "FROM generate_series(1, 10000) AS i", (pk,))
    srv = Server(url)
    try:
        with Load(srv.port, 48, paths=[f"/api/v1/wfs/?source_id={pk}"]) as load:
            time.sleep(1.5)
            probes = probe(srv.port, 4, ["/health", "/ready"])
        served = [r for r in load.results if r[3] == 200]
    finally:
        srv.stop()
    assert len(served) > 20, "the load did not run"
    assert all(len(r[5]) > 500_000 for r in served[:5])          # 10,000 features each
    ready = sorted(p[2] for p in probes if p[0] == "/ready")
    health = sorted(p[2] for p in probes if p[0] == "/health")
    assert all(p[3] == 200 for p in probes)
    assert health[-1] < 0.25, health[-5:]     # granian's own file: never behind the handlers
    # With wfs on the event loop: median 0.62 s, none under 0.5 s. In the thread pool, on 2
    # cores saturated by the 48 clients, PostgreSQL and the server: median 0.13-0.39 s, max
    # 0.30-0.78 s; under the 1 s probe timeout of Kubernetes' default.
    assert ready[len(ready) // 2] < 0.5 and ready[-1] < 1.0, ready


def test_database_never_reachable_is_a_503_and_not_ready() -> None:
    down = Server(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        assert timed(down.port, "GET", "/health")[1] == 200
        elapsed, status, _, body = timed(down.port, "GET", "/ready")
        assert status == 503 and json.loads(body) == {"status": "database unavailable"}
        for _ in range(3):
            elapsed, status, headers, body = timed(down.port, "GET", "/api/v1/sources/")
            assert (status, headers["content-type"]) == (503, "application/json")
            assert json.loads(body) == UNAVAILABLE and elapsed < 2.0
            assert_no_leak(body)
    finally:
        down.stop()


def test_database_restart_reuses_no_dead_connection(own_cluster: tuple[LocalCluster, str]
                                                    ) -> None:
    """A quick PostgreSQL restart between two requests: the pooled connections it closed are
    replaced, the next requests succeed (no 500, no 503)."""
    cluster, url = own_cluster
    srv = Server(url)
    try:
        body = json.dumps({"sid": "restart-1", "name": "n", "description": "d",
                           "source_type": "t"}).encode()
        assert timed(srv.port, "POST", "/api/v1/sources/", body)[1] == 201
        for path in PATHS * 3:
            assert timed(srv.port, "GET", path)[1] in (200, 404)
        cluster.stop(mode="fast")
        restart(cluster)
        body = body.replace(b"restart-1", b"restart-2")
        answers = [timed(srv.port, "POST", "/api/v1/sources/", body)[1]]
        answers += [timed(srv.port, "GET", path)[1] for path in PATHS * 3]
        assert timed(srv.port, "GET", "/ready")[1] == 200
    finally:
        srv.stop()
    assert answers == [201] + [200, 200, 200, 404] * 3


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def test_killed_workers_are_respawned(migrated_url: str) -> None:
    """Three worker crashes within a few seconds (granian alone calls that a crash loop and
    exits): the server keeps answering."""
    srv = Server(migrated_url, workers=2)
    try:
        killed: set[int] = set()
        crashes_started = time.monotonic()
        for _ in range(3):
            deadline = time.monotonic() + 10
            while not (workers := _children(srv.proc.pid) - killed):  # respawning
                assert srv.proc.poll() is None, "samsyn serve exited"
                assert time.monotonic() < deadline, "no worker processes"
                time.sleep(0.05)
            # The newest worker: the one granian respawned last (its crash-loop detector
            # watches the same worker slot dying again within 5.5 s).
            newest = max(workers)
            os.kill(newest, signal.SIGKILL)
            killed.add(newest)
            time.sleep(1.0)
        assert time.monotonic() - crashes_started < 10
        deadline = time.monotonic() + 30
        while True:
            try:
                if timed(srv.port, "GET", "/api/v1/sources/")[1] == 200:
                    break
            except OSError:
                pass
            assert srv.proc.poll() is None, "samsyn serve exited"
            assert time.monotonic() < deadline, "no answer 30 s after the crashes"
            time.sleep(0.2)
        assert srv.proc.poll() is None
        answers = [timed(srv.port, "GET", "/api/v1/sources/")[1] for _ in range(20)]
        assert answers == [200] * 20
    finally:
        srv.stop()


def test_compose_restarts_dead_processes() -> None:
    import yaml
    services = yaml.safe_load((Path(__file__).parents[2] / "compose.yaml").read_text())["services"]
    for name in ("api", "worker"):
        assert services[name].get("restart") in ("always", "unless-stopped"), name
