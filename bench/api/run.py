"""Load test of samsyn's hot endpoints against two ceilings measured in the same run.

    python bench/api/run.py [--duration 15] [--connections 16] [--workers 2] [--quick]

Data set: bench/legacy-api.md (100 sources, 10,000 points on source 1, 100 layers, 25
projects x 4 layers) in a fresh database: DATABASE_URL's server, or an embedded PostGIS under
bench/data/pgdata. samsyn runs with its production command (`samsyn serve --workers N`); the
ceilings (bench/api/ceiling_app.py: a constant endpoint, and per case the same SQL through
psycopg + msgspec) are served the same way. wrk drives each URL (2 threads, --timeout 60s)
after a warm-up, samsyn and its bare endpoint in alternating rounds (medians). Last line:
`ratios: list_vs_ceiling=R detail_vs_ceiling=R projects_vs_ceiling=R wfs_vs_ceiling=R`
(samsyn req/s / bare endpoint req/s). The legacy's figures on this machine kind
(bench/legacy-api.md, 2 gunicorn workers) are printed alongside.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

CASES = [
    # name, samsyn path, bare path, legacy req/s (2 workers, bench/legacy-api.md)
    ("list", "/api/v1/sources/", "/bare/sources", 266.0),
    ("detail", "/api/v1/sources/50/", "/bare/sources/50", 346.0),
    ("projects", "/api/v1/projects/", "/bare/projects", 32.4),
    ("wfs", "/api/v1/wfs/?source_id=1&bbox=-1,-1,11,11", "/bare/wfs?source_id=1&bbox=-1,-1,11,11",
     13.1),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    from samsyn.db.local import ensure_local_cluster
    from samsyn.db.migrate import upgrade_head

    server = os.environ.get("DATABASE_URL")
    if server:
        import psycopg
        admin = server.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS samsyn_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE samsyn_bench TEMPLATE template0 LOCALE_PROVIDER icu "
                         "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
        url = admin.rsplit("/", 1)[0] + "/samsyn_bench"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    else:
        cluster = ensure_local_cluster(HERE.parent / "data" / "pgdata")
        url = cluster.create_database("samsyn_bench", drop_existing=True)
    upgrade_head(url)
    import psycopg
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        for statement in (HERE / "load.sql").read_text().split(";"):
            if statement.strip():
                conn.execute(statement)
    return url


def start(argv: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=REPO, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv} did not start")
            time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, non-2xx responses) of one wrk run."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s",
                          "--latency", url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(bad.group(1)) if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating samsyn/bare rounds per case (duration split between them)")
    ap.add_argument("--quick", action="store_true", help="5 s runs, 1 s warm-up")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.warmup = 5, 1
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2

    url = database_url()
    env = {**os.environ, "DATABASE_URL": url, "SAMSYN_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(REPO)}
    samsyn_port, ceiling_port = free_port(), free_port()
    samsyn = start([sys.executable, "-m", "samsyn.cli", "serve", "--port", str(samsyn_port),
                    "--workers", str(args.workers)], env, samsyn_port, "/health")
    ceiling = start([sys.executable, "-m", "granian", "--interface", "asgi", "--workers",
                     str(args.workers), "--port", str(ceiling_port), "--log-level", "warning",
                     "bench.api.ceiling_app:app"], env, ceiling_port, "/const")
    try:
        def measure(port: int, path: str) -> tuple[float, float, float, int]:
            target = f"http://127.0.0.1:{port}{path}"
            wrk(target, args.warmup, args.connections)
            return wrk(target, args.duration, args.connections)

        def interleaved(ours: str, bare: str) -> tuple[tuple[float, float, float, int], ...]:
            """samsyn and its bare endpoint in alternating rounds (the machine's drift hits
            both alike); per side the median req/s, p50 and p99 of the rounds."""
            for port, path in ((samsyn_port, ours), (ceiling_port, bare)):
                wrk(f"http://127.0.0.1:{port}{path}", args.warmup, args.connections)
            seconds = max(1, args.duration // args.rounds)
            runs: dict[int, list[tuple[float, float, float, int]]] = {samsyn_port: [],
                                                                      ceiling_port: []}
            for _ in range(args.rounds):
                for port, path in ((samsyn_port, ours), (ceiling_port, bare)):
                    runs[port].append(wrk(f"http://127.0.0.1:{port}{path}", seconds,
                                          args.connections))
            return tuple(
                (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
                 statistics.median(r[2] for r in rs), sum(r[3] for r in rs))
                for rs in (runs[samsyn_port], runs[ceiling_port]))

        const = measure(ceiling_port, "/const")
        print(f"machine: {os.cpu_count()} cores; wrk -t2 -c{args.connections}, {args.rounds} "
              f"alternating rounds of {max(1, args.duration // args.rounds)}s per side (medians); "
              f"{args.workers} worker processes each")
        print(f"{'case':<9} {'samsyn req/s':>13} {'p50 ms':>8} {'p99 ms':>8} | {'bare req/s':>11} "
              f"{'p50 ms':>8} {'p99 ms':>8} | {'const req/s':>11} | {'vs bare':>7} "
              f"{'vs legacy':>9}")
        ratios = {}
        for name, path, bare_path, legacy in CASES:
            ours, bare = interleaved(path, bare_path)
            ratios[name] = ours[0] / bare[0]
            errors = f"  ({ours[3]} non-2xx!)" if ours[3] else ""
            print(f"{name:<9} {ours[0]:>13.1f} {ours[1]:>8.2f} {ours[2]:>8.2f} | {bare[0]:>11.1f} "
                  f"{bare[1]:>8.2f} {bare[2]:>8.2f} | {const[0]:>11.1f} | {ratios[name]:>7.2f} "
                  f"{ours[0] / legacy:>8.1f}x{errors}")
        print("ratios: " + " ".join(f"{name}_vs_ceiling={ratios[name]:.2f}"
                                    for name, *_ in CASES))
    finally:
        stop(samsyn)
        stop(ceiling)
    return 0


if __name__ == "__main__":
    sys.exit(main())
