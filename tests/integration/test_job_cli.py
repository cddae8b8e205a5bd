"""The `samsyn` job commands as an operator runs them: the real executable in subprocesses, with
DATABASE_URL set to a migrated database and no SAMSYN_BROKER_URL (jobs run on the command's own
in-process worker, or inline with --sync).

Checked per command: exit code, stdout (the legacy's lines as recorded in
contract/golden/management.jsonl where a step covers them), the summary and the errors on
stderr (one line, never a traceback), the database effect, `samsyn jobs list|show|wait` after
--no-wait, and the progress bar with and without a terminal. What the pipelines load row by
row is tests/integration/test_imports.py's; this file tests the command-line surface.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import shapefile as pyshp

from samsyn.db.adopt import LEGACY_FUNCTIONS
from samsyn.db.migrate import upgrade_head

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "testdata"
NC = DATA / "r-cran-sf" / "nc"                       # 100 county multipolygons, NAD27
CYCLE_HIRE = DATA / "r-cran-spdata" / "cycle_hire.geojson"
CASES = REPO / "contract" / "cases" / "management.json"
GOLDEN = REPO / "contract" / "golden" / "management.jsonl"
_BIN = Path(sys.executable).with_name("samsyn")      # the console script of pyproject.toml
SAMSYN = [str(_BIN)] if _BIN.exists() else [sys.executable, "-m", "samsyn.cli"]
TIMEOUT = 120          # per subprocess; every command here takes about a second
# rich reads these; a developer's shell must not turn the non-terminal output into a TTY's
_RICH_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES",
             "TERM", "JUPYTER_COLUMNS", "JUPYTER_LINES")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SUMMARY = re.compile(r"job (?P<job>\d+): loaded (?P<loaded>[\d,]+) of (?P<total>[\d,]+) rows "
                     r"into source '(?P<name>.*)' \(ID (?P<pk>\d+), sid '(?P<sid>.*?)'"
                     r"(?P<new>, new)?\) in (?P<seconds>\d+\.\d\d) s")

SUCCESS = {"upload_csv_file": "Successfully uploaded CSV file to Geometry model",
           "upload_shapefile": "Successfully uploaded shapefile to Geometry model",
           "upload_gmlh": "Successfully uploaded GeoJSON file to Geometry model"}


# ----------------------------------------------------------------------- the recorded legacy

def _steps() -> dict[str, dict[str, Any]]:
    """Each step of management.json with its golden record (`result` of a fixture step,
    `response` of an HTTP step)."""
    steps = {s["id"]: s for s in json.loads(CASES.read_text())["steps"]}
    for line in GOLDEN.read_text().splitlines():
        golden = json.loads(line)
        steps.setdefault(golden["id"], {}).update(
            {k: v for k, v in golden.items() if k in ("result", "response")})
    return steps


STEPS = _steps()


def recorded(step: str) -> dict[str, Any]:
    """The legacy's {exit_code, stdout, stderr_tail} of a manage step."""
    return STEPS[step]["result"]


def recorded_pattern(step: str) -> str:
    """The regex of a step whose stdout is volatile (`<<re:...>>`)."""
    m = re.fullmatch(r"<<re:(.*)>>", recorded(step)["stdout"], flags=re.S)
    assert m, recorded(step)["stdout"]
    return m.group(1)


def case_file(step: str, tmp_path: Path) -> Path:
    """The step's input file, written as contract_hooks._manage writes it."""
    spec = STEPS[step]["fixture"]["file"]
    path = tmp_path / spec["name"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(spec["content"])
    return path


def legacy_import_stdout(loaded: int, success: str, batch: int = 500) -> str:
    """What the legacy upload commands printed: the count, `i + chunk` per chunk, success."""
    lines = [str(loaded)] + [f"Created {i + batch} of {loaded} geometries"
                             for i in range(0, loaded, batch)] + [success]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------- fixtures, helpers

@pytest.fixture(scope="module")
def url(new_database: Callable[..., str]) -> str:
    u = new_database("jobcli")
    upgrade_head(u)
    return u


@pytest.fixture(scope="module")
def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def env(url: str) -> dict[str, str]:
    drop = {"SAMSYN_BROKER_URL", "SAMSYN_JOB_QUEUE", *_RICH_ENV}
    out = {k: v for k, v in os.environ.items() if k not in drop}
    out["DATABASE_URL"] = url
    return out


Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def cli(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A function running `samsyn *args`: its CompletedProcess (text, no stdin, not a terminal)."""
    cwd = tmp_path_factory.mktemp("cwd")

    def run(*args: object, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        done = subprocess.run([*SAMSYN, *map(str, args)], env=env, cwd=cwd, timeout=timeout,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done

    return run


def sql(dsn: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description is not None else []


def source_by_sid(dsn: str, sid: str) -> dict[str, Any] | None:
    rows = sql(dsn, "SELECT id, sid, name, description, source_type, attributes FROM "
                    "core_source WHERE sid = %s", sid)
    if not rows:
        return None
    keys = ("id", "sid", "name", "description", "source_type", "attributes")
    return dict(zip(keys, rows[0], strict=True))


def geometries(dsn: str, source_pk: int) -> list[tuple[str, dict, str]]:
    return [(g, m, t) for g, m, t in sql(
        dsn, "SELECT ST_AsText(geom), metadata, geometry_type FROM core_geometry "
             "WHERE source_id = %s ORDER BY gid", source_pk)]


def state(dsn: str) -> tuple[int, int, int]:
    """(sources, geometries, jobs not failed) of the whole database."""
    (row,) = sql(dsn, "SELECT (SELECT count(*) FROM core_source), "
                      "(SELECT count(*) FROM core_geometry), "
                      "(SELECT count(*) FROM samsyn_job WHERE status <> 'failed')")
    return row


def job(dsn: str, job_id: int) -> dict[str, Any]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        found = cur.execute("SELECT * FROM samsyn_job WHERE id = %s", (job_id,)).fetchone()
    assert found is not None
    return found


def summary_of(stderr: str) -> re.Match[str]:
    lines = stderr.splitlines()
    for line in lines:
        m = SUMMARY.fullmatch(line)
        if m:
            return m
    raise AssertionError(f"no summary line on stderr:\n{stderr}")


def bar_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(label + " ")]


def check_bar_without_terminal(stderr: str, label: str, done: str) -> None:
    """Not a terminal: no control codes, one final bar line (rows done/total, rows/s)."""
    assert "\x1b" not in stderr and "\r" not in stderr, repr(stderr)
    (bar,) = bar_lines(stderr, label)
    assert f" {done} " in bar and re.search(r" ([\d,]+|-) rows/s ", bar), bar


@pytest.fixture(scope="module")
def shops_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return case_file("mgmt-001", tmp_path_factory.mktemp("shops"))


def expected_shops() -> list[tuple[str, dict, str]]:
    """mgmt-003: the legacy's wfs features of the shops CSV (their properties, less the two the
    view adds, are the rows' metadata)."""
    out = []
    for f in STEPS["mgmt-003"]["response"]["body"]["features"]:
        x, y = f["geometry"]["coordinates"]
        meta = {k: v for k, v in f["properties"].items()
                if k not in ("source_id", "geometry_type")}
        out.append((f"POINT({x:g} {y:g})", meta, f["geometry"]["type"]))
    return out


def shapefile_copy(dst: Path, exts: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj")) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    for ext in exts:
        shutil.copy(NC.with_suffix(ext), dst.with_suffix(ext))
    return dst.with_suffix(".shp")


def nc_fields() -> set[str]:
    return {f[0] for f in pyshp.Reader(str(NC)).fields[1:]}


# ------------------------------------------------------------------ upload_csv_file

@pytest.mark.parametrize("mode", ["wait", "sync"])
def test_upload_csv_file(cli: Run, dsn: str, shops_csv: Path, mode: str) -> None:
    """mgmt-001 as recorded: exit 0, the legacy's three lines; the summary on stderr; the
    source with the given sid/name, the rows of the legacy's wfs answer, no statistics."""
    sid = {"wait": "42", "sync": "42-sync"}[mode]
    done = cli("upload_csv_file", shops_csv, f"--source_id={sid}", "--source_name=CSV shops",
               *(["--sync"] if mode == "sync" else []))
    want = recorded("mgmt-001")
    assert done.returncode == want["exit_code"] == 0, done.stderr
    assert done.stdout == want["stdout"] + "\n"
    m = summary_of(done.stderr)
    assert (m["loaded"], m["total"], m["name"], m["sid"], m["new"]) == (
        "3", "4", "CSV shops", sid, ", new")
    assert "skipped 1 rows: no coordinates (row 4)" in done.stderr.splitlines()
    # the bar ends at rows done/total also with --sync (a CSV's total is known at the end)
    check_bar_without_terminal(done.stderr, "CSV rows", "4/4")
    src = source_by_sid(dsn, sid)
    assert src is not None and src["id"] == int(m["pk"])
    assert (src["name"], src["description"], src["source_type"], src["attributes"]) == (
        "CSV shops", "", "", {})        # upload_csv_file fills no statistics, as the legacy
    assert geometries(dsn, src["id"]) == expected_shops()
    row = job(dsn, int(m["job"]))
    assert (row["kind"], row["status"], row["attempts"], row["args"]["sid"]) == (
        "import_csv", "successful", 1, sid)


def test_csv_bad_rows_skipped_and_reported(cli: Run, dsn: str, tmp_path: Path) -> None:
    """mgmt-012's file (the legacy crashed on its empty latitude after creating the source):
    D15, the bad rows are skipped with their row numbers, the good row is loaded."""
    path = case_file("mgmt-012", tmp_path)
    done = cli("upload_csv_file", path, "--source_id=d15-crash", "--source_name=Crash")
    assert done.returncode == 0, done.stderr
    assert done.stdout == legacy_import_stdout(1, SUCCESS["upload_csv_file"])
    assert ("skipped 2 rows: no coordinates (row 2); empty latitude (row 3)"
            in done.stderr.splitlines())
    src = source_by_sid(dsn, "d15-crash")
    assert src is not None
    assert geometries(dsn, src["id"]) == [("POINT(10 10)", {"label": "a"}, "Point")]


def test_reupload_appends_without_burning_ids(cli: Run, dsn: str, shops_csv: Path) -> None:
    """mgmt-011 (the legacy's IntegrityError after the statistics were filled, and a burnt
    id): the re-upload appends to the sid's source, prints the legacy's lines again, and takes
    no id from core_source's sequence."""
    first = cli("upload_csv_file", shops_csv, "--source_id=rerun", "--source_name=CSV shops")
    assert first.returncode == 0, first.stderr
    pk = int(summary_of(first.stderr)["pk"])
    stats = cli("update_source_stats", pk)
    assert stats.returncode == 0, stats.stdout + stats.stderr
    assert source_by_sid(dsn, "rerun")["attributes"] != {}
    (seq,) = sql(dsn, "SELECT pg_get_serial_sequence('core_source', 'id')")[0]
    (before,) = sql(dsn, f"SELECT last_value FROM {seq}")[0]
    again = cli("upload_csv_file", shops_csv, "--source_id=rerun", "--source_name=other name")
    assert again.returncode == 0, again.stderr
    assert again.stdout == recorded("mgmt-001")["stdout"] + "\n"
    m = summary_of(again.stderr)
    assert (int(m["pk"]), m["name"], m["new"]) == (pk, "CSV shops", None)
    assert sql(dsn, f"SELECT last_value FROM {seq}")[0][0] == before
    assert len(geometries(dsn, pk)) == 6
    assert sql(dsn, "SELECT count(*) FROM core_source WHERE sid = 'rerun'") == [(1,)]
    new = cli("upload_csv_file", shops_csv, "--source_id=rerun-next", "--sync")
    assert int(summary_of(new.stderr)["pk"]) == before + 1


# ------------------------------------------------------------------ upload_shapefile, _gmlh

def test_upload_shapefile_wait_and_sync(cli: Run, dsn: str) -> None:
    """--source_id/--source_name/--description/--source_type land in core_source; the legacy's
    `Created i + chunk` lines per --chunk_size; statistics filled; --sync loads the same."""
    loaded: dict[str, Any] = {}
    for mode in ("wait", "sync"):
        sid = f"nc-{mode}"
        done = cli("upload_shapefile", NC.with_suffix(".shp"), "--source_id", sid,
                   "--source_name", "NC counties", "--description", "North Carolina, 1974-79",
                   "--source_type", "vector", "--chunk_size", 30,
                   *(["--sync"] if mode == "sync" else []))
        assert done.returncode == 0, done.stderr
        assert done.stdout == legacy_import_stdout(100, SUCCESS["upload_shapefile"], 30)
        m = summary_of(done.stderr)
        assert (m["loaded"], m["total"], m["sid"], m["new"]) == ("100", "100", sid, ", new")
        check_bar_without_terminal(done.stderr, "shapefile records", "100/100")
        src = source_by_sid(dsn, sid)
        assert src is not None and src["id"] == int(m["pk"])
        assert (src["name"], src["description"], src["source_type"]) == (
            "NC counties", "North Carolina, 1974-79", "vector")
        assert set(src["attributes"]) == nc_fields()
        assert src["attributes"]["AREA"] == {"dtype": "numeric", "min": 0.042, "max": 0.241}
        rows = geometries(dsn, src["id"])
        assert len(rows) == 100 and {t for _, _, t in rows} <= {"Polygon", "MultiPolygon"}
        loaded[mode] = (rows, src["attributes"])
    assert loaded["wait"] == loaded["sync"]


def test_upload_gmlh_wait_and_sync(cli: Run, dsn: str, tmp_path: Path) -> None:
    """mgmt-018's file (the legacy's FieldError on 'attritutes'): a new source "gml" whose sid
    is its id, the feature and its statistics; --sync the same; a real GeoJSON file."""
    path = case_file("mgmt-018", tmp_path)
    effect = {}
    for mode in ("wait", "sync"):
        done = cli("upload_gmlh", path, "--source_name=gml",
                   *(["--sync"] if mode == "sync" else []))
        assert done.returncode == 0, done.stderr
        assert done.stdout == legacy_import_stdout(1, SUCCESS["upload_gmlh"])
        m = summary_of(done.stderr)
        src = source_by_sid(dsn, m["sid"])
        assert src is not None and m["sid"] == str(src["id"]) == m["pk"] and m["new"]
        assert src["name"] == "gml"
        assert src["attributes"] == {"a": {"dtype": "numeric", "min": 1, "max": 1}}
        effect[mode] = geometries(dsn, src["id"])
    assert effect["wait"] == effect["sync"] == [("POINT(1 2)", {"a": 1}, "Point")]

    features = json.loads(CYCLE_HIRE.read_text())["features"]
    with_geometry = sum(1 for f in features if f.get("geometry"))
    done = cli("upload_gmlh", CYCLE_HIRE, "--source_id=cycles", "--source_name=Cycle hire")
    assert done.returncode == 0, done.stderr
    assert done.stdout == legacy_import_stdout(with_geometry, SUCCESS["upload_gmlh"])
    src = source_by_sid(dsn, "cycles")
    assert src is not None and len(geometries(dsn, src["id"])) == with_geometry
    assert set(src["attributes"]) == set(features[0]["properties"])


# ------------------------------------------------------------------ update_source_stats

def test_update_source_stats_one_wait_and_sync(cli: Run, dsn: str, shops_csv: Path) -> None:
    """mgmt-004/005: the legacy's line (name and ID), the attributes the legacy computed."""
    up = cli("upload_csv_file", shops_csv, "--source_id=stats-one", "--source_name=CSV shops",
             "--sync")
    pk = int(summary_of(up.stderr)["pk"])
    pattern = recorded_pattern("mgmt-004").replace(r"\(ID: 1\)", rf"\(ID: {pk}\)")
    for mode in ("wait", "sync"):
        sql(dsn, "UPDATE core_source SET attributes = '{}' WHERE id = %s", pk)
        done = cli("update_source_stats", pk, *(["--sync"] if mode == "sync" else []))
        assert done.returncode == recorded("mgmt-004")["exit_code"] == 0, done.stderr
        assert re.fullmatch(pattern + "\n", done.stdout), done.stdout
        check_bar_without_terminal(done.stderr, "sources", "1/1")
        assert (source_by_sid(dsn, "stats-one")["attributes"]
                == STEPS["mgmt-005"]["response"]["body"]["attributes"])


def test_update_source_stats_all(cli: Run, dsn: str, shops_csv: Path) -> None:
    """mgmt-007/008 on a database with sources: exit 0 and the legacy's line; every source
    with geometries gets its statistics, one without keeps its attributes."""
    cli("upload_csv_file", shops_csv, "--source_id=stats-all", "--sync")
    sql(dsn, "INSERT INTO core_source (sid, name, description, source_type, attributes) "
             "VALUES ('api-src', 'API source', 'desc', 'vector', '{\"keep\": true}')")
    sql(dsn, "UPDATE core_source SET attributes = '{}' WHERE sid <> 'api-src'")
    done = cli("update_source_stats", "all")
    assert done.returncode == recorded("mgmt-007")["exit_code"] == 0, done.stderr
    assert re.fullmatch(recorded_pattern("mgmt-007") + "\n", done.stdout), done.stdout
    rows = sql(dsn, "SELECT sid, attributes, EXISTS (SELECT 1 FROM core_geometry g "
                    "WHERE g.source_id = s.id) FROM core_source s")
    assert len(rows) >= 2
    for sid, attributes, has_geometries in rows:
        if has_geometries:
            assert attributes, sid
    assert source_by_sid(dsn, "api-src")["attributes"] == {"keep": True}
    assert (source_by_sid(dsn, "stats-all")["attributes"]
            == STEPS["mgmt-005"]["response"]["body"]["attributes"])


def test_update_source_stats_unknown_and_invalid_id(cli: Run, dsn: str) -> None:
    """mgmt-009/010: exit 1 and the legacy's `Error: ...` line on stdout, nothing else."""
    assert not sql(dsn, "SELECT 1 FROM core_source WHERE id IN (999, 999999)")
    before = sql(dsn, "SELECT id, attributes FROM core_source ORDER BY id")
    for arg, step in (("999", "mgmt-009"), ("999999", None), ("abc", "mgmt-010")):
        done = cli("update_source_stats", arg)
        want = recorded(step) if step else {
            "exit_code": 1, "stdout": "Error: Source with ID 999999 does not exist"}
        assert (done.returncode, done.stdout) == (want["exit_code"], want["stdout"] + "\n")
        assert "Error" not in done.stderr
    assert sql(dsn, "SELECT id, attributes FROM core_source ORDER BY id") == before


# ------------------------------------------------------------------ create_martin_functions

def test_create_martin_functions(cli: Run, dsn: str) -> None:
    """mgmt-016: the functions are (re)created, idempotently, the legacy's line."""
    names = {sig.split("(", 1)[0] for sig in LEGACY_FUNCTIONS}

    def present() -> set[str]:
        return {n for (n,) in sql(dsn, "SELECT p.proname FROM pg_proc p JOIN pg_namespace s "
                                       "ON s.oid = p.pronamespace WHERE s.nspname = 'public' "
                                       "AND p.proname = ANY(%s)", list(names))}

    for sig in LEGACY_FUNCTIONS:
        sql(dsn, f"DROP FUNCTION public.{sig}")
    assert present() == set()
    for extra in ([], ["--sync"]):
        done = cli("create_martin_functions", *extra)
        assert done.returncode == recorded("mgmt-016")["exit_code"] == 0, done.stderr
        assert done.stdout == recorded("mgmt-016")["stdout"] + "\n"
        assert present() == names


# ------------------------------------------------------------------ --no-wait, samsyn jobs

@pytest.fixture(scope="module")
def no_wait_jobs(cli: Run, dsn: str, shops_csv: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, float]]:
    """One --no-wait job of every command (all enqueued before any is waited for):
    {command: (job id, seconds the command took)}."""
    gml = case_file("mgmt-018", tmp_path_factory.mktemp("gml"))
    commands = {
        "upload_csv_file": [shops_csv, "--source_id=nw-csv"],
        "upload_shapefile": [NC.with_suffix(".shp"), "--source_id=nw-shp"],
        "upload_gmlh": [gml, "--source_id=nw-gml"],
        "update_source_stats": ["all"],
        "create_martin_functions": [],
    }
    out = {}
    for command, args in commands.items():
        started = time.monotonic()
        done = cli(command, *args, "--no-wait")
        assert done.returncode == 0, done.stderr
        assert re.fullmatch(r"\d+\n", done.stdout), done.stdout
        assert done.stderr == ""
        out[command] = (int(done.stdout), time.monotonic() - started)
    return out


@pytest.mark.parametrize("command", ["upload_csv_file", "upload_shapefile", "upload_gmlh",
                                     "update_source_stats", "create_martin_functions"])
def test_no_wait_then_jobs_wait_and_show(cli: Run, dsn: str, command: str,
                                         no_wait_jobs: dict[str, tuple[int, float]]) -> None:
    """--no-wait prints the job's ID and returns (its job then runs without a broker);
    `jobs wait ID` exits 0 with the summary, `jobs show ID` has the finished job."""
    job_id, seconds = no_wait_jobs[command]
    assert seconds < 30
    waited = cli("jobs", "wait", job_id, "--timeout", 90)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert waited.stdout == ""
    assert "\x1b" not in waited.stderr and bar_lines(waited.stderr, f"job {job_id}")
    shown = cli("jobs", "show", job_id)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["id"], data["status"], data["attempts"], data["error"]) == (
        job_id, "successful", 1, None)
    assert data["finished"] and data["worker"]
    if command.startswith("upload_"):
        expect = {"upload_csv_file": (4, 3, "nw-csv"), "upload_shapefile": (100, 100, "nw-shp"),
                  "upload_gmlh": (1, 1, "nw-gml")}[command]
        total, loaded, sid = expect
        assert (data["progress"], data["total"]) == (total, total)
        assert (data["result"]["loaded"], data["result"]["sid"]) == (loaded, sid)
        m = summary_of(waited.stderr)
        assert (int(m["job"]), int(m["loaded"].replace(",", ""))) == (job_id, loaded)
        src = source_by_sid(dsn, sid)
        assert src is not None and len(geometries(dsn, src["id"])) == loaded
    else:
        assert waited.stderr.splitlines()[-1].startswith(f"job {job_id} successful")
        if command == "update_source_stats":
            assert data["result"]["source"] == "all" and data["result"]["sources"]


def test_jobs_list_and_status_filter(cli: Run, dsn: str, tmp_path: Path,
                                     no_wait_jobs: dict[str, tuple[int, float]]) -> None:
    """`jobs list` shows the jobs newest first; --status keeps only that status; a failed
    --no-wait job: `jobs wait` exits 1 with its error, `jobs show` says failed."""
    bad = tmp_path / "bad.csv"
    bad.write_text("Name,Longitude,Latitude\na,1,2\nno lat,4,\n")
    done = cli("upload_csv_file", bad, "--strict", "--source_id=nw-bad", "--no-wait")
    assert done.returncode == 0, done.stderr
    failed_id = int(done.stdout)
    waited = cli("jobs", "wait", failed_id, "--timeout", 90)
    assert waited.returncode == 1
    assert waited.stderr.splitlines()[-1] == (
        f"job {failed_id} failed after 1 attempt(s): {bad}: row 2: empty latitude")
    data = json.loads(cli("jobs", "show", failed_id).stdout)
    assert (data["status"], data["error"]) == ("failed", f"{bad}: row 2: empty latitude")
    assert source_by_sid(dsn, "nw-bad") is None

    ids = {job_id for job_id, _ in no_wait_jobs.values()}
    for job_id in ids:     # done by now (test order), else wait here
        assert cli("jobs", "wait", job_id, "--timeout", 90).returncode == 0

    def listed(*args: object) -> dict[int, str]:
        out = cli("jobs", "list", "--limit", 200, *args)
        assert out.returncode == 0, out.stderr
        header, *lines = out.stdout.splitlines()
        assert header.split()[:4] == ["ID", "KIND", "STATUS", "PROGRESS"]
        rows = {int(line.split()[0]): line for line in lines}
        assert list(rows) == sorted(rows, reverse=True)    # newest first
        return rows

    everything = listed()
    assert ids | {failed_id} <= set(everything)
    assert everything[failed_id].split()[1:3] == ["import_csv", "failed"]
    assert f"{bad}: row 2: empty latitude" in everything[failed_id]
    csv_id = no_wait_jobs["upload_csv_file"][0]
    assert everything[csv_id].split()[1:5] == ["import_csv", "successful", "4/4", "1"]
    successful = listed("--status", "successful")
    assert ids <= set(successful) and failed_id not in successful
    assert all(line.split()[2] == "successful" for line in successful.values())
    failed = listed("--status", "failed")
    assert failed_id in failed and not ids & set(failed)
    newest = cli("jobs", "list", "--limit", 1)
    assert len(newest.stdout.splitlines()) == 2 and "older jobs not shown" in newest.stderr


def test_jobs_commands_unknown_id(cli: Run) -> None:
    for args in (("show", 987654), ("wait", 987654)):
        done = cli("jobs", *args)
        assert done.returncode == 1 and done.stderr == "Error: no job with ID 987654\n"


# ------------------------------------------------------------------ bad inputs

def _truncated_shp(tmp: Path) -> Path:
    shp = shapefile_copy(tmp / "trunc" / "nc")
    data = shp.read_bytes()
    shp.write_bytes(data[:len(data) // 2])
    return shp


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


BAD_INPUTS: dict[str, Callable[[Path], tuple[list[object], str]]] = {
    # name: tmp -> (args, regex of the one stderr line, {path} = the file)
    "missing csv": lambda t: (["upload_csv_file", t / "nope.csv", "--source_id=bad"],
                              r"Error: {path}: no such file"),
    "missing shapefile": lambda t: (["upload_shapefile", t / "nope.shp", "--source_id=bad"],
                                    r"Error: {path}: no such file"),
    "missing geojson": lambda t: (["upload_gmlh", t / "nope.geojson", "--source_id=bad"],
                                  r"Error: {path}: no such file"),
    "truncated shp": lambda t: (["upload_shapefile", _truncated_shp(t), "--source_id=bad",
                                 "--chunk_size", 10],
                                r"job \d+ failed after 1 attempt\(s\): {path}: .*record \d+.*"),
    "csv without coordinates": lambda t: (
        ["upload_csv_file", _write(t, "nocoords.csv", b"a,b\n1,2\n"), "--source_id=bad"],
        r"job \d+ failed after 1 attempt\(s\): {path}: CSV header has no 'Longitude' / "
        r"'Latitude' column; columns found: \['a', 'b'\]"),
    "unknown encoding": lambda t: (
        ["upload_csv_file", _write(t, "enc.csv", b"Longitude,Latitude\n1,2\n"),
         "--source_id=bad", "--encoding=klingon"],
        r"job \d+ failed after 1 attempt\(s\): {path}: unknown encoding 'klingon'"),
    "strict bad row": lambda t: (
        ["upload_csv_file", _write(t, "crash.csv", STEPS["mgmt-012"]["fixture"]["file"][
            "content"].encode()), "--source_id=bad", "--strict"],
        r"job \d+ failed after 1 attempt\(s\): {path}: row 2: no coordinates"),
    "strict bad row, --sync": lambda t: (
        ["upload_csv_file", _write(t, "crash.csv", b"Longitude,Latitude\n1,2\n3,\n"),
         "--source_id=bad", "--strict", "--sync"],
        r"job \d+ failed after 1 attempt\(s\): {path}: row 2: empty latitude"),
    "corrupt geojson": lambda t: (
        ["upload_gmlh", _write(t, "bad.geojson", b'{"type": "FeatureCollection", "features": '
                                                  b'[{"type": "Feature", "geometry": '),
         "--source_id=bad"],
        r"job \d+ failed after 1 attempt\(s\): {path}: .+"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input(cli: Run, dsn: str, tmp_path: Path, case: str) -> None:
    """Exit 1 (the legacy's status for a crash or a CommandError), nothing on stdout (the
    legacy's crashes printed nothing there), one last stderr line naming the file (and the
    record or row), no traceback, and no rows, no source, no successful job left behind."""
    args, line = BAD_INPUTS[case](tmp_path)
    before = state(dsn)
    done = cli(*args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    last = done.stderr.splitlines()[-1]
    assert re.fullmatch(line.format(path=re.escape(str(args[1]))), last), done.stderr
    assert state(dsn) == before
    assert source_by_sid(dsn, "bad") is None
    if not last.startswith("Error:"):
        failed = job(dsn, int(last.split()[1]))
        assert failed["status"] == "failed" and failed["error"] in last


def test_no_wait_with_sync_is_refused(cli: Run, dsn: str, shops_csv: Path) -> None:
    before = state(dsn), sql(dsn, "SELECT count(*) FROM samsyn_job")
    done = cli("upload_csv_file", shops_csv, "--source_id=bad", "--no-wait", "--sync")
    assert done.returncode == 1
    assert done.stderr == "Error: --no-wait and --sync exclude each other\n"
    assert (state(dsn), sql(dsn, "SELECT count(*) FROM samsyn_job")) == before


# ------------------------------------------------------------------ progress bar

@pytest.fixture(scope="module")
def many_points(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40,000-point shapefile (WGS 84), to be loaded in ten chunks."""
    base = tmp_path_factory.mktemp("points") / "points"
    w = pyshp.Writer(str(base), shapeType=pyshp.POINT)
    w.field("n", "N", 10)
    for i in range(40_000):
        w.point((i % 3600) / 10 - 180, (i % 1800) / 10 - 90)
        w.record(i)
    w.close()
    base.with_suffix(".prj").write_text(
        'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]],'
        'PRIMEM["Greenwich",0],UNIT["Degree",0.017453292519943295]]')
    return base.with_suffix(".shp")


def test_progress_without_a_terminal_multi_chunk(cli: Run, dsn: str) -> None:
    """stderr not a terminal: ten chunks give one plain bar line (no control codes, no line per
    chunk or per redraw), then the summary; stdout is only the legacy's lines."""
    done = cli("upload_shapefile", NC.with_suffix(".shp"), "--source_id=bar-plain",
               "--chunk_size", 10)
    assert done.returncode == 0, done.stderr
    assert done.stdout == legacy_import_stdout(100, SUCCESS["upload_shapefile"], 10)
    check_bar_without_terminal(done.stderr, "shapefile records", "100/100")
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and SUMMARY.fullmatch(lines[1])


def _run_in_pty(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, what the terminal on stderr received)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 132, 0, 0))
    proc = subprocess.Popen(argv, env={**env, "TERM": "xterm-256color"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:       # EIO: every writer closed the terminal
                    break
                if not chunk:
                    break
                received += chunk
            elif proc.poll() is not None:
                break
        stdout = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, stdout, received


def test_progress_bar_on_a_terminal(env: dict[str, str], many_points: Path) -> None:
    """Under a pseudo-terminal the bar redraws in place (rows done/total, rows/s) while the
    in-process worker loads ten chunks; the final frame has 40000/40000 and a speed; stdout
    (a pipe) holds only the legacy's lines."""
    code, stdout, received = _run_in_pty(
        [*SAMSYN, "upload_shapefile", str(many_points), "--source_id=bar-tty",
         "--chunk_size", "4000"], env, TIMEOUT)
    text = received.decode()
    assert code == 0, text
    assert stdout.decode() == legacy_import_stdout(40_000, SUCCESS["upload_shapefile"], 4000)
    assert "Traceback" not in text
    assert "\r\x1b[2K" in text          # redrawn in place, not a line per refresh
    frames = [ANSI.sub("", f).strip() for f in re.split(r"\r\x1b\[2K|\r\n", text)]
    bars = [f for f in frames if f.startswith("shapefile records")]
    assert len(bars) >= 2, frames
    done_values = []
    for bar in bars:
        m = re.search(r" (\d+)/(\d+|\?) (- |[\d,]+ )rows/s ", bar)
        assert m, bar
        done_values.append(int(m[1]))
        assert m[2] in ("?", "40000")
    assert done_values == sorted(done_values)
    final = re.search(r" 40000/40000 ([\d,]+) rows/s ", bars[-1])
    assert final and int(final[1].replace(",", "")) > 0, bars[-1]
    assert "loaded 40,000 of 40,000 rows" in ANSI.sub("", text)
