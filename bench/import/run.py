"""bench/import: file on disk -> committed, indexed rows in PostGIS, same server, same run.

Every candidate loads into a fresh database cloned from one migrated by samsyn (durable settings),
so core_geometry has the legacy's indexes as samsyn leaves them (revision 0006 dropped the 5 exact
copies of the 12: pkey, unique (gid, source_id), GiST on geom, GIN on metadata, btrees on
source_id and geometry_type, and its varchar_pattern_ops twin) and the deferred FK to
core_source. Per dataset:
  samsyn              samsyn.imports.run_import in a subprocess (wall time + VmHWM of it)
  ogr2ogr             ogr2ogr -append -nln core_geometry (PG_USE_COPY=YES) with -dialect SQLite
                      -sql "SELECT json_object(...) AS metadata, '<type>' AS geometry_type,
                      1 AS source_id, geometry FROM <layer>": samsyn's job, same target
  shp2pgsql           shp2pgsql -D -k [-S] -s SRID[:4326] into a staging table, then INSERT INTO
                      core_geometry SELECT geom, to_jsonb(s) - 'gid' - 'geom', ... and DROP,
                      one psql
  ceiling             psycopg 3 COPY (FORMAT binary) of the PGCOPY stream samsyn would send,
                      prebuilt before timing, into core_geometry: the bare COPY + index cost
  ... own table       ogr2ogr / shp2pgsql -I into a fresh table of their own (one GiST)
  ... lean table      samsyn / ceiling into core_geometry cut to pkey + one GiST
  read+encode         samsyn's chunks + PGCOPY encoding in one thread, the COPY sent nowhere
After every load into core_geometry: row count and the first row (metadata, geometry_type,
source_id, geometry within 1e-7) checked against samsyn's.
Datasets from bench/gen_data.py (a: points.shp, b: lines.shp, d: points.csv) plus lines_3857.shp
made here from lines.shp (coordinates rewritten to EPSG:3857 in place, numpy over the .shx).

Usage: python bench/import/run.py [--data DIR] [--rounds N] [--only points,csv,lines,lines_simplify]
Prints a table (markdown) and a final `ratios:` line.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

PRJ_3857 = ('PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM['
            '"D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
            'UNIT["Degree",0.0174532925199433]],PROJECTION["Mercator_Auxiliary_Sphere"],'
            'PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],'
            'PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],'
            'PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]')


def make_3857(src: Path, dst: Path) -> None:
    """Copy a polyline shapefile with every coordinate (and the bboxes) in EPSG:3857."""
    if dst.with_suffix(".shp").exists():
        return
    from samsyn_fast import reproject
    buf = bytearray(src.with_suffix(".shp").read_bytes())
    arr = np.frombuffer(buf, dtype=np.uint8)
    shx = np.frombuffer(src.with_suffix(".shx").read_bytes()[100:], dtype=">i4").reshape(-1, 2)
    off = shx[:, 0].astype(np.int64) * 2                   # record header offsets (bytes)
    content = off + 8
    def i32(pos):
        return arr[pos[:, None] + np.arange(4)].copy().view("<i4").ravel().astype(np.int64)
    nparts, npts = i32(content + 36), i32(content + 40)
    pstart = content + 44 + 4 * nparts
    pos = np.repeat(pstart, npts) + 16 * (np.arange(npts.sum())
                                          - np.repeat(np.cumsum(npts) - npts, npts))
    idx = pos[:, None] + np.arange(16)
    xy = arr[idx].copy().view("<f8").reshape(-1, 2)
    out = reproject(xy, 4326, 3857)
    arr[idx] = np.ascontiguousarray(out).view(np.uint8).reshape(-1, 16)
    starts = np.cumsum(npts) - npts
    bb = np.column_stack([np.minimum.reduceat(out[:, 0], starts),
                          np.minimum.reduceat(out[:, 1], starts),
                          np.maximum.reduceat(out[:, 0], starts),
                          np.maximum.reduceat(out[:, 1], starts)])
    arr[(content + 4)[:, None] + np.arange(32)] = bb.astype("<f8").view(np.uint8).reshape(-1, 32)
    head = np.array([out[:, 0].min(), out[:, 1].min(), out[:, 0].max(), out[:, 1].max()], "<f8")
    arr[36:68] = head.view(np.uint8)
    dst.with_suffix(".shp").write_bytes(bytes(buf))
    shx_bytes = bytearray(src.with_suffix(".shx").read_bytes())
    shx_bytes[36:68] = head.tobytes()
    dst.with_suffix(".shx").write_bytes(bytes(shx_bytes))
    shutil.copy(src.with_suffix(".dbf"), dst.with_suffix(".dbf"))
    dst.with_suffix(".prj").write_text(PRJ_3857)


# ------------------------------------------------------------------------- candidates

SAMSYN_CHILD = r"""
import json, resource, sys, time, psycopg
from samsyn.imports import ImportOptions, run_import
opts = ImportOptions(**json.loads(sys.argv[2]))
import samsyn.imports.shapefile, samsyn.imports.csv, samsyn_fast, pyproj  # noqa: E401
def hwm():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = hwm()
t = time.perf_counter()
with psycopg.connect(sys.argv[1]) as conn:
    res = run_import(conn, opts)
print(json.dumps({"seconds": time.perf_counter() - t, "loaded": res.loaded,
                  "base_kb": base,
                  "maxrss_kb": hwm()}))
"""


def run_samsyn(dsn: str, opts: dict) -> tuple[float, dict]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", SAMSYN_CHILD, dsn, json.dumps(opts)],
                         check=True, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t
    return wall, json.loads(out.stdout.strip().splitlines()[-1])


def ogr2ogr_command(cluster, db: str, path: str, reproject: bool, csv: bool,
                    mode: tuple[str, ...], *args: str) -> list[str]:
    """ogr2ogr [mode] -f PostgreSQL with COPY, reprojection to 4326 and the CSV's coordinate
    columns."""
    pg = f"PG:host=127.0.0.1 port={cluster.port} user=postgres dbname={db}"
    cmd = ["ogr2ogr", *mode, "-f", "PostgreSQL", "--config", "PG_USE_COPY", "YES", pg, path,
           *args]
    if reproject:
        cmd += ["-t_srs", "EPSG:4326"]
    if csv:
        cmd += ["-oo", "X_POSSIBLE_NAMES=Longitude", "-oo", "Y_POSSIBLE_NAMES=Latitude",
                "-a_srs", "EPSG:4326"]
    return cmd


def run_ogr2ogr(cluster, db: str, path: str, reproject: bool, csv: bool) -> float:
    cmd = ogr2ogr_command(cluster, db, path, reproject, csv, (), "-nln", "bench_ogr",
                          "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST")
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def run_shp2pgsql(cluster, db: str, path: str, reproject: bool) -> float:
    srid = ["-s", "3857:4326"] if reproject else ["-s", "4326"]
    t = time.perf_counter()
    p1 = subprocess.Popen(["shp2pgsql", "-D", "-I", *srid, path, "bench_shp"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p2 = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", cluster.dsn(db)],
                        stdin=p1.stdout, capture_output=True)
    p1.wait()
    if p1.returncode or p2.returncode:
        raise RuntimeError(f"shp2pgsql | psql failed: {p2.stderr[-500:]!r}")
    return time.perf_counter() - t


def attribute_names(path: str, is_csv: bool,
                    lon_lat: tuple[str, str]) -> list[tuple[str, str]]:
    """The attribute columns samsyn puts in metadata, in file order, with their DBF type."""
    if is_csv:
        with open(path, encoding="utf-8") as f:
            head = f.readline().rstrip("\r\n").split(",")
        return [(h, "C") for h in head if h not in lon_lat]
    raw = Path(path).with_suffix(".dbf").read_bytes()[:65536]
    names, i = [], 32
    while raw[i] != 0x0D:
        names.append((raw[i:i + 11].split(b"\0")[0].decode("ascii"), chr(raw[i + 11])))
        i += 32
    return names


def json_value(name: str, kind: str) -> str:
    """SQLite-dialect expression of one metadata value as samsyn writes it: GDAL reads a DBF
    logical as the text 'T'/'F', samsyn writes JSON true/false (blank: null)."""
    if kind == "L":
        return (f"json(CASE WHEN \"{name}\" IN ('T', 't', 'Y', 'y') THEN 'true' "
                f"WHEN \"{name}\" IN ('F', 'f', 'N', 'n') THEN 'false' ELSE 'null' END)")
    return f'"{name}"'


def add_source(cluster, db: str) -> int:
    """The core_source row an operator creates before loading with a tool (not timed)."""
    with cluster.connect(db) as c:
        (pk,) = c.execute("INSERT INTO core_source (sid, name, description, source_type, "
                          "attributes) VALUES ('t', 't', '', '', '{}') RETURNING id").fetchone()
    return pk


def run_ogr2ogr_append(cluster, db: str, path: str, reproject: bool, csv: bool,
                       gtype: str, names: list[tuple[str, str]], source_pk: int) -> float:
    """ogr2ogr doing samsyn's job: append into core_geometry, metadata as a JSON object."""
    layer = Path(path).stem
    obj = ", ".join(f"'{n}', {json_value(n, k)}" for n, k in names)
    sql = (f"SELECT json_object({obj}) AS metadata, '{gtype}' AS geometry_type, "
           f"{source_pk} AS source_id, geometry FROM \"{layer}\"")
    cmd = ogr2ogr_command(cluster, db, path, reproject, csv, ("-append",), "-nln", "core_geometry",
                          "-dialect", "SQLite", "-sql", sql,
                          "-gt", "unlimited")     # one transaction, as samsyn's job
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(f"ogr2ogr -append failed: {out.stderr[-800:]}")
    return took


def run_shp2pgsql_append(cluster, db: str, path: str, reproject: bool, gtype: str,
                         source_pk: int) -> float:
    """shp2pgsql doing samsyn's job: staging table, INSERT ... SELECT into core_geometry, drop;
    -k keeps the DBF names' case (samsyn's metadata keys), -S simple geometries (LineString,
    not MultiLineString), one psql session."""
    srid = "3857:4326" if reproject else "4326"
    tail = ("INSERT INTO core_geometry (geom, metadata, geometry_type, source_id) "
            f"SELECT geom, to_jsonb(s) - 'gid' - 'geom', '{gtype}', {source_pk} "
            "FROM bench_stage s;\nDROP TABLE bench_stage;\n")
    script = (f"{{ shp2pgsql -D -k -S -s {srid} '{path}' bench_stage && cat; }} "
              f"| psql -X -q -v ON_ERROR_STOP=1 -d '{cluster.dsn(db)}'")
    t = time.perf_counter()
    out = subprocess.run(["bash", "-o", "pipefail", "-c", script], input=tail,
                         capture_output=True, text=True)
    took = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(f"shp2pgsql staging + INSERT failed: {out.stderr[-800:]}")
    return took


SAMPLE_SQL = ("SELECT count(*) OVER (), metadata, geometry_type, source_id, ST_SRID(geom), "
              "ST_AsBinary(geom) FROM core_geometry ORDER BY gid LIMIT 1")


def sample(cluster, db: str, ref: tuple | None, label: str) -> tuple:
    """Row count + first row of core_geometry; checked against samsyn's (`ref`)."""
    with cluster.connect(db) as c:
        row = c.execute(SAMPLE_SQL).fetchone()
        if ref is not None:
            n, meta, gtype, _, srid, wkb = ref
            far = c.execute("SELECT ST_HausdorffDistance(geom, ST_GeomFromWKB(%s, 4326)) "
                            "FROM core_geometry ORDER BY gid LIMIT 1", (wkb,)).fetchone()[0]
            got = (row[0], row[1], row[2], row[4])
            if got != (n, meta, gtype, srid) or far > 1e-7:
                raise RuntimeError(f"{label}: loaded {got[0]} rows, first row {got[1:]} "
                                   f"(distance {far}); samsyn: {n} rows, {(meta, gtype, srid)}")
    return row


READ_ENCODE_CHILD = r"""
import json, sys, time
from samsyn.imports import ImportOptions
from samsyn.imports import csv as csv_p, shapefile as shp_p
from samsyn.imports.copy import pgcopy_chunk
from samsyn.imports.options import ImportResult
o = ImportOptions(**json.loads(sys.argv[1]))
r = ImportResult(source_pk=1, sid="x", source_name="x", created_source=True)
mod = shp_p if o.format == "shapefile" else csv_p
t = time.perf_counter()
n = 0
for c in mod.chunks(o, r):
    if c is not None:
        n += pgcopy_chunk(c, 1)[1]
print(json.dumps({"seconds": time.perf_counter() - t, "rows": n}))
"""


def run_read_encode(opts: dict) -> float:
    """samsyn's own code alone: read + encode every chunk (one thread), the COPY sent nowhere."""
    out = subprocess.run([sys.executable, "-c", READ_ENCODE_CHILD, json.dumps(opts)],
                         check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def prebuilt_stream(opts: dict, source_pk: int) -> bytes:
    """The PGCOPY stream samsyn would send, built once outside the timing."""
    from samsyn.imports import csv as csv_p
    from samsyn.imports import shapefile as shp_p
    from samsyn.imports.copy import pgcopy_chunk
    from samsyn.imports.options import ImportOptions, ImportResult
    o = ImportOptions(**{**opts, "chunk_size": 2_000_000})  # one chunk: the whole file
    r = ImportResult(source_pk=source_pk, sid="x", source_name="x", created_source=True)
    mod = shp_p if o.format == "shapefile" else csv_p
    parts = [pgcopy_chunk(c, source_pk)[0] for c in mod.chunks(o, r) if c is not None]
    body = b"".join(p[19:-2].tobytes() for p in parts)
    return parts[0][:19].tobytes() + body + b"\xff\xff"


def run_ceiling(cluster, db: str, stream: bytes) -> float:
    import psycopg
    with psycopg.connect(cluster.dsn(db)) as conn:
        (pk,) = conn.execute("INSERT INTO core_source (sid, name, description, source_type, "
                             "attributes) VALUES ('c', 'c', '', '', '{}') RETURNING id").fetchone()
        conn.commit()
        assert pk == 1
        t = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY core_geometry (geom, metadata, geometry_type, "
                                            "source_id) FROM STDIN (FORMAT binary)") as cp:
            view = memoryview(stream)
            for i in range(0, len(view), 8 << 20):
                cp.write(view[i:i + (8 << 20)])
        conn.commit()
        return time.perf_counter() - t


def numpy_bytes(opts: dict) -> int:
    """Bytes of the whole file as samsyn_fast numpy buffers (coords/offsets + columns)."""
    from samsyn_fast import read_csv_points, read_shapefile
    if opts["format"] == "csv":
        p = read_csv_points(opts["path"])
        return p.coords.nbytes + p.row_numbers.nbytes + sum(c.nbytes for c in p.columns.values())
    s = read_shapefile(opts["path"])
    g = s.geometry
    n = sum(a.nbytes for a in (g.coords, g.geom_offsets, g.ring_offsets, g.polygon_offsets,
                               g.null) if a is not None)
    for name, col in s.columns.items():
        n += col.nbytes + s.nulls[name].nbytes
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("ANCHORS_DATA", "/tmp/anchors/data"))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", default="points,csv,lines,lines_simplify")
    ap.add_argument("--scale", type=float, default=1.0, help="passed to gen_data.py")
    args = ap.parse_args()
    data = Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    need = [f for f in ("points.shp", "lines.shp", "points.csv") if not (data / f).exists()]
    if need:
        subprocess.run([sys.executable, str(REPO / "bench/gen_data.py"), "a", "b", "d",
                        "--out", str(data), "--scale", str(args.scale)], check=True)
    make_3857(data / "lines.shp", data / "lines_3857")
    from samsyn.db.local import temporary_cluster
    from samsyn.db.migrate import upgrade_head

    sets = {
        "points": ({"format": "shapefile", "path": str(data / "points.shp"),
                    "sid": "b", "stats": False}, False, False),
        "csv": ({"format": "csv", "path": str(data / "points.csv"), "sid": "b"}, False, True),
        "lines": ({"format": "shapefile", "path": str(data / "lines_3857.shp"),
                   "sid": "b", "stats": False}, True, False),
        "lines_simplify": ({"format": "shapefile", "path": str(data / "lines_3857.shp"),
                            "sid": "b", "stats": False, "simplify": 1e-4}, True, False),
    }
    gtypes = {"points": "Point", "csv": "Point", "lines": "LineString",
              "lines_simplify": "LineString"}
    labels = {   # column key -> header; "same target" = core_geometry with its legacy indexes
        "samsyn": "samsyn",
        "ogr2ogr": "ogr2ogr -append", "shp2pgsql": "shp2pgsql + INSERT",
        "ceiling": "ceiling",
        "ogr2ogr_own": "ogr2ogr own table", "shp2pgsql_own": "shp2pgsql own table",
        "samsyn_lean": "samsyn lean", "ceiling_lean": "ceiling lean",
        "read_encode": "samsyn read+encode"}
    table = []
    ratios = []
    with temporary_cluster(for_tests=False, prefix="samsyn-bench-import-") as cluster:
        template = "bench_template"
        cluster.create_database(template)
        upgrade_head(cluster.url(template))

        def fresh(lean: bool = False) -> str:
            name = f"b_{uuid.uuid4().hex[:8]}"
            cluster.create_database(name, template=template)
            if lean:   # core_geometry with the indexes the tools build: pkey + one GiST
                with cluster.connect(name) as c:
                    c.execute("ALTER TABLE core_geometry DROP CONSTRAINT IF EXISTS "
                              "core_geometry_gid_source_id_c2e4e104_uniq")
                    for (idx,) in c.execute(
                            "SELECT indexname FROM pg_indexes WHERE tablename = 'core_geometry' "
                            "AND indexname NOT IN ('core_geometry_pkey', "
                            "'core_geometry_geom_c3f9f4aa_id')"
                            ).fetchall():
                        c.execute(f"DROP INDEX IF EXISTS {idx}")
            return name

        for key in args.only.split(","):
            opts, reproj, is_csv = sets[key]
            gtype = gtypes[key]
            names = attribute_names(opts["path"], is_csv, ("Longitude", "Latitude"))
            tools = not opts.get("simplify")   # the tools cannot simplify: samsyn only
            stream = prebuilt_stream(opts, 1) if tools else None
            times: dict[str, list[float]] = {k: [] for k in labels}
            rss, inner, base = [], [], []
            # Untimed warm-up: the first load into a new cluster also creates its WAL segments
            # (zero-filled, later ones are recycled) and reads the file from disk, which made
            # whoever ran first (samsyn) up to 2x slower.
            db = fresh()
            run_samsyn(cluster.dsn(db), opts)
            cluster.drop_database(db)
            for _ in range(args.rounds):
                db = fresh()
                wall, info = run_samsyn(cluster.dsn(db), opts)
                times["samsyn"].append(wall)
                rss.append(info["maxrss_kb"] * 1024)
                base.append(info["base_kb"] * 1024)
                inner.append(info["seconds"])
                ref = sample(cluster, db, None, "samsyn")
                cluster.drop_database(db)
                times["read_encode"].append(run_read_encode(opts))
                if not tools:
                    continue
                db = fresh()
                pk = add_source(cluster, db)
                times["ogr2ogr"].append(run_ogr2ogr_append(cluster, db, opts["path"], reproj,
                                                           is_csv, gtype, names, pk))
                sample(cluster, db, ref, "ogr2ogr -append")
                cluster.drop_database(db)
                db = fresh()
                times["ogr2ogr_own"].append(run_ogr2ogr(cluster, db, opts["path"], reproj,
                                                        is_csv))
                cluster.drop_database(db)
                if not is_csv:
                    db = fresh()
                    pk = add_source(cluster, db)
                    times["shp2pgsql"].append(run_shp2pgsql_append(cluster, db, opts["path"],
                                                                   reproj, gtype, pk))
                    sample(cluster, db, ref, "shp2pgsql + INSERT")
                    cluster.drop_database(db)
                    db = fresh()
                    times["shp2pgsql_own"].append(run_shp2pgsql(cluster, db, opts["path"],
                                                                reproj))
                    cluster.drop_database(db)
                for k, kw in (("ceiling", {}), ("ceiling_lean", {"lean": True})):
                    db = fresh(**kw)
                    times[k].append(run_ceiling(cluster, db, stream))
                    sample(cluster, db, ref, k)
                    cluster.drop_database(db)
                db = fresh(lean=True)
                times["samsyn_lean"].append(run_samsyn(cluster.dsn(db), opts)[0])
                cluster.drop_database(db)
            med = {k: statistics.median(v) for k, v in times.items() if v}
            nb = numpy_bytes(opts)
            table.append((key, med, max(rss), nb, statistics.median(inner), min(base)))

            def r(a: str, b: str) -> str:
                return f"{med[a] / med[b]:.2f}x"

            def pct(a: str, b: str) -> str:
                return f"{med[a] / med[b]:.0%}"
            if tools:
                same = [f"ogr2ogr/samsyn {r('ogr2ogr', 'samsyn')}"]
                own = [f"ogr2ogr/samsyn {r('ogr2ogr_own', 'samsyn')}"]
                lean = [f"ogr2ogr own/samsyn lean {r('ogr2ogr_own', 'samsyn_lean')}"]
                if "shp2pgsql" in med:
                    same.append(f"shp2pgsql/samsyn {r('shp2pgsql', 'samsyn')}")
                    own.append(f"shp2pgsql/samsyn {r('shp2pgsql_own', 'samsyn')}")
                    lean.append(f"shp2pgsql own/samsyn lean {r('shp2pgsql_own', 'samsyn_lean')}")
                same.append(f"ceiling/samsyn {pct('ceiling', 'samsyn')}")
                lean.append(f"ceiling/samsyn {pct('ceiling_lean', 'samsyn_lean')}")
                ratios.append(f"{key} same target: " + ", ".join(same))
                ratios.append(f"{key} own table (tools' own table vs samsyn into core_geometry): "
                              + ", ".join(own))
                ratios.append(f"{key} lean table: " + ", ".join(lean))
            ratios.append(f"{key}: read+encode/samsyn in-proc "
                          f"{med['read_encode'] / statistics.median(inner):.0%}")
            ratios.append(f"{key}: (peak - import-time RSS)/numpy buffers "
                          f"{(max(rss) - min(base)) / nb:.2f}x")
            del stream
            print(key, {k: round(v, 3) for k, v in med.items()},
                  f"rss {max(rss) / 2**20:.0f} MB", flush=True)
    cols = ["samsyn", "ogr2ogr", "shp2pgsql", "ceiling",
            "ogr2ogr_own", "shp2pgsql_own", "samsyn_lean", "ceiling_lean", "read_encode"]
    print("seconds (median of --rounds); samsyn = wall time of its process, (in-proc) = "
          "run_import alone")
    print("| dataset | " + " | ".join(labels[c] for c in cols)
          + " | samsyn (in-proc) | peak RSS MB | base MB | numpy MB |")
    print("|" + "---|" * (len(cols) + 5))
    for key, med, rs, nb, inner_s, b in table:
        cells = [(f"{med[c]:.1f}" if med[c] >= 1 else f"{med[c]:.2f}") if c in med else "–"
                 for c in cols]
        print(f"| {key} | " + " | ".join(cells)
              + f" | {inner_s:.1f} | {rs / 2**20:.0f} | {b / 2**20:.0f} | {nb / 2**20:.0f} |")
    print("ratios: " + "; ".join(ratios))

if __name__ == "__main__":
    main()
