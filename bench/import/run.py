"""bench/import: file on disk -> committed, indexed rows in PostGIS, same server, same run.

Candidates per dataset (each into a fresh database migrated by samsyn, so core_geometry has its
legacy indexes; the tools create their own table with a GiST index, as they would in use):
  samsyn    samsyn.imports.run_import in a subprocess (wall time + ru_maxrss of that process)
  ogr2ogr   ogr2ogr -f PostgreSQL --config PG_USE_COPY YES (-t_srs EPSG:4326 when reprojecting)
  shp2pgsql shp2pgsql -D -I [-s 3857:4326] | psql
  ceiling   psycopg 3 COPY (FORMAT binary) of a PGCOPY stream prebuilt before timing (EWKB +
            jsonb + geometry_type + source_id) into core_geometry: the bare COPY + index cost.
Datasets from bench/gen_data.py (a: points.shp, b: lines.shp, d: points.csv) plus lines_3857.shp
made here from lines.shp (coordinates rewritten to EPSG:3857 in place, numpy over the .shx).

Usage: python bench/import/run.py [--data DIR] [--rounds N] [--only points,csv,lines,lines_simplify]
Prints a table and a final `ratios:` line.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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
    pos = np.repeat(pstart, npts) + 16 * (np.arange(npts.sum()) - np.repeat(np.cumsum(npts) - npts, npts))
    idx = pos[:, None] + np.arange(16)
    xy = arr[idx].copy().view("<f8").reshape(-1, 2)
    out = reproject(xy, 4326, 3857)
    arr[idx] = np.ascontiguousarray(out).view(np.uint8).reshape(-1, 16)
    starts = np.cumsum(npts) - npts
    bb = np.column_stack([np.minimum.reduceat(out[:, 0], starts), np.minimum.reduceat(out[:, 1], starts),
                          np.maximum.reduceat(out[:, 0], starts), np.maximum.reduceat(out[:, 1], starts)])
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


def run_ogr2ogr(cluster, db: str, path: str, reproject: bool, csv: bool) -> float:
    pg = f"PG:host=127.0.0.1 port={cluster.port} user=postgres dbname={db}"
    cmd = ["ogr2ogr", "-f", "PostgreSQL", "--config", "PG_USE_COPY", "YES", pg, path,
           "-nln", "bench_ogr", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST"]
    if reproject:
        cmd += ["-t_srs", "EPSG:4326"]
    if csv:
        cmd += ["-oo", "X_POSSIBLE_NAMES=Longitude", "-oo", "Y_POSSIBLE_NAMES=Latitude",
                "-a_srs", "EPSG:4326"]
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
                            "AND indexname NOT IN ('core_geometry_pkey', 'geometry_geom_gist')"
                            ).fetchall():
                        c.execute(f"DROP INDEX IF EXISTS {idx}")
            return name

        for key in args.only.split(","):
            opts, reproj, is_csv = sets[key]
            stream = prebuilt_stream(opts, 1) if not opts.get("simplify") else None
            times: dict[str, list[float]] = {"samsyn": [], "ogr2ogr": [], "shp2pgsql": [],
                                             "ceiling": [], "samsyn_lean": [],
                                             "ceiling_lean": []}
            rss, inner, base = [], [], []
            for _ in range(args.rounds):
                db = fresh()
                wall, info = run_samsyn(cluster.dsn(db), opts)
                times["samsyn"].append(wall)
                rss.append(info["maxrss_kb"] * 1024)
                base.append(info["base_kb"] * 1024)
                inner.append(info["seconds"])
                cluster.drop_database(db)
                if not opts.get("simplify"):   # the tools cannot simplify: samsyn only
                    db = fresh()
                    times["ogr2ogr"].append(run_ogr2ogr(cluster, db, opts["path"], reproj, is_csv))
                    cluster.drop_database(db)
                    if not is_csv:
                        db = fresh()
                        times["shp2pgsql"].append(run_shp2pgsql(cluster, db, opts["path"],
                                                                reproj))
                        cluster.drop_database(db)
                    db = fresh()
                    times["ceiling"].append(run_ceiling(cluster, db, stream))
                    cluster.drop_database(db)
                    db = fresh(lean=True)
                    times["samsyn_lean"].append(run_samsyn(cluster.dsn(db), opts)[0])
                    cluster.drop_database(db)
                    db = fresh(lean=True)
                    times["ceiling_lean"].append(run_ceiling(cluster, db, stream))
                    cluster.drop_database(db)
            med = {k: statistics.median(v) for k, v in times.items() if v}
            nb = numpy_bytes(opts)
            table.append((key, med, max(rss), nb, statistics.median(inner), min(base)))
            s = med["samsyn"]
            if "ogr2ogr" in med:
                ratios.append(f"{key}: ogr2ogr/samsyn {med['ogr2ogr'] / s:.2f}x")
            if "shp2pgsql" in med:
                ratios.append(f"{key}: shp2pgsql/samsyn {med['shp2pgsql'] / s:.2f}x")
            if "ceiling" in med:
                ratios.append(f"{key}: ceiling/samsyn {med['ceiling'] / s:.0%}")
            if "samsyn_lean" in med:
                sl = med["samsyn_lean"]
                ratios.append(f"{key} lean table: ogr2ogr/samsyn {med['ogr2ogr'] / sl:.2f}x"
                              + (f", shp2pgsql/samsyn {med['shp2pgsql'] / sl:.2f}x"
                                 if "shp2pgsql" in med else "")
                              + f", ceiling/samsyn {med['ceiling_lean'] / sl:.0%}")
            ratios.append(f"{key}: (peak - import-time RSS)/numpy buffers "
                          f"{(max(rss) - min(base)) / nb:.2f}x")
            del stream
            print(key, {k: round(v, 3) for k, v in med.items()}, f"rss {max(rss) / 2**20:.0f} MB", flush=True)
    print(f"{'dataset':16} {'samsyn s':>9} {'(in-proc)':>10} {'ogr2ogr s':>10} {'shp2pgsql s':>12} "
          f"{'ceiling s':>10} {'lean s':>7} {'lean ceil':>9} {'peak RSS MB':>12} {'base MB':>8} {'numpy MB':>9}")
    for key, med, r, nb, inner_s, b in table:
        def f(k: str) -> str:
            return f"{med[k]:.2f}" if k in med else "-"
        print(f"{key:16} {f('samsyn'):>9} {inner_s:10.2f} {f('ogr2ogr'):>10} {f('shp2pgsql'):>12} "
              f"{f('ceiling'):>10} {f('samsyn_lean'):>7} {f('ceiling_lean'):>9} {r / 2**20:12.0f} {b / 2**20:8.0f} {nb / 2**20:9.0f}")
    print("ratios: " + "; ".join(ratios))


if __name__ == "__main__":
    main()
