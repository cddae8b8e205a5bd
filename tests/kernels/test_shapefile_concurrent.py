"""Readers against files that change while they are read (issue 13, item 2).

An upload still being written, or a shared folder, changes the .shp/.shx/.dbf (or the CSV)
under a reader: the reader must return a valid result or raise KernelError/ValueError/OSError
(the documented errors), never read or write outside its buffers (heap overflow, SIGSEGV) nor
die of SIGBUS on a truncated mapping.
The reader runs in a subprocess so that a crash fails the test instead of killing pytest; a
second process rewrites and truncates the files in a loop meanwhile.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import shapefile as pyshp

# Rewrites the files in place (same inode: a reader's open descriptor sees every change),
# alternating the valid bytes and a variant of the same length whose counts claim far more
# than the records hold (and, with truncate, cuts at random sizes); until the stop file appears.
WRITER = textwrap.dedent("""
    import os, random, sys
    stop, truncate, pairs = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
    rng = random.Random(7)
    files = [(pairs[i], open(pairs[i], "rb").read(), open(pairs[i + 1], "rb").read())
             for i in range(0, len(pairs), 2)]
    fds = [os.open(p, os.O_RDWR) for p, _, _ in files]
    while not os.path.exists(stop):
        for fd, (_, good, bad) in zip(fds, files):
            r = rng.random()
            if r < 0.4:
                os.pwrite(fd, bad, 0)
            elif r < 0.6 and truncate:
                os.ftruncate(fd, rng.randrange(len(good)))
            else:
                os.pwrite(fd, good, 0)
                if truncate:
                    os.ftruncate(fd, len(good))
    for fd, (_, good, _) in zip(fds, files):
        os.pwrite(fd, good, 0)
        os.ftruncate(fd, len(good))
""")

READER = textwrap.dedent("""
    import json, sys, time
    from samsyn_fast.errors import KernelError
    from samsyn_fast.shapefile import iter_shapefile, read_dbf, read_shapefile
    from samsyn_fast.csv_points import read_csv_points
    shp, noshx, csv, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    readers = [
        lambda: read_shapefile(shp),
        lambda: list(iter_shapefile(shp, chunk_records=300)),
        lambda: read_shapefile(noshx),
        lambda: list(iter_shapefile(noshx, chunk_records=300)),
        lambda: read_dbf(shp[:-4] + ".dbf"),
        lambda: read_csv_points(csv),
    ]
    counts = {"ok": 0, "error": 0}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for read in readers:
            try:
                read()
                counts["ok"] += 1
            except (KernelError, ValueError, OSError):   # a cut CSV header: ValueError
                counts["error"] += 1
    print(json.dumps(counts))
""")


def _fixture(tmp_path: Path) -> tuple[list[str], str, str, str]:
    """Files to read and (path, corrupt variant path) pairs for the writer."""
    base = str(tmp_path / "pts")
    with pyshp.Writer(base, shapeType=pyshp.MULTIPOINT) as w:
        w.field("NAME", "C", 20)
        w.field("NUM", "N", 10)
        for i in range(2000):
            w.multipoint([[i, i], [i + 1, i], [i, i + 1], [i + 1, i + 1]])
            w.record(f"name {i}", i)
    noshx = str(tmp_path / "noshx")
    with pyshp.Writer(noshx, shapeType=pyshp.POLYGON) as w:
        w.field("NAME", "C", 20)
        for i in range(2000):
            w.poly([[[i, 0], [i, 1], [i + 1, 1], [i + 1, 0], [i, 0]]])
            w.record(f"poly {i}")
    Path(noshx + ".shx").unlink()
    pairs = []
    for path, parts_field in ((base + ".shp", None), (noshx + ".shp", 36)):
        data = bytearray(Path(path).read_bytes())
        pos = 100
        while pos + 8 <= len(data):
            length = int.from_bytes(data[pos + 4:pos + 8], "big") * 2
            at = pos + 8 + (40 if parts_field else 36)          # numPoints
            data[at:at + 4] = (1_000_000).to_bytes(4, "little")
            pos += 8 + length
        bad = path + ".bad"
        Path(bad).write_bytes(bytes(data))
        pairs += [path, bad]
    dbf = base + ".dbf"
    data = bytearray(Path(dbf).read_bytes())
    data[4:8] = (10**6).to_bytes(4, "little")                     # record count
    Path(dbf + ".bad").write_bytes(bytes(data))
    shx = base + ".shx"
    data = bytearray(Path(shx).read_bytes())
    for i in range(100, len(data), 8):
        data[i + 4:i + 8] = (10**6).to_bytes(4, "big")            # content lengths
    Path(shx + ".bad").write_bytes(bytes(data))
    csv = str(tmp_path / "pts.csv")
    rows = "".join(f"{i},{i % 90}.5,name {i}\n" for i in range(20000))
    Path(csv).write_text("Longitude,Latitude,Name\n" + rows)
    Path(csv + ".bad").write_text("Longitude,Latitude,Name\n" + rows.replace(",name", ',"ame'))
    pairs += [dbf, dbf + ".bad", shx, shx + ".bad", csv, csv + ".bad"]
    return pairs, base + ".shp", noshx + ".shp", csv


@pytest.mark.parametrize("truncate", [False, True], ids=["rewritten", "rewritten-and-truncated"])
def test_files_changing_while_read_never_crash_the_reader(tmp_path, truncate):
    pairs, shp, noshx, csv = _fixture(tmp_path)
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(stop), str(int(truncate)),
                               *pairs])
    try:
        reader = subprocess.run([sys.executable, "-c", READER, shp, noshx, csv, "6"],
                                capture_output=True, text=True, timeout=120)
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert reader.returncode == 0, (reader.returncode, reader.stdout[-500:],
                                    reader.stderr[-3000:])
    counts = json.loads(reader.stdout)
    assert counts["error"] > 0, counts                    # the files did change under it
    assert counts["ok"] + counts["error"] > 20, counts
