"""Fuzz samsyn_fast.shapefile with mutated real files: only KernelError/ValueError may escape.

Hypothesis copies a real shapefile, flips, truncates, overwrites or plants extreme integers
in its .shp/.shx/.dbf, and reads it whole and streamed. Any other exception fails the test; a
crash kills the run; the 10 s deadline per example catches hangs (generous: the CI box is
shared). About 5-20 s in all.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samsyn_fast.errors import KernelError
from samsyn_fast.shapefile import iter_shapefile, read_shapefile

DATA = Path(__file__).resolve().parents[1] / "data" / "testdata"
SOURCES = [
    "pyshp-2.3.1/line.shp", "pyshp-2.3.1/polygon.shp", "pyshp-2.3.1/multipoint.shp",
    "pyshp-2.3.1/linez.shp", "pyshp-2.3.1/NullTest.shp", "pyshp-2.3.1/latin1.shp",
    "gdal-3.6.2-generated/deleted_records.shp", "r-cran-sf/nc.shp", "pyshp-2.3.1/balancing.shp",
    "r-cran-spdata/world.shp", "pyshp-2.3.1/multipatch.shp", "fiona-1.10.1/test_tin.shp",
]
EXTREMES = [0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**16, 255, 8, 100]


@st.composite
def mutations(draw, size: int):
    """A list of (kind, position, payload) edits for a file of `size` bytes."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "overwrite", "int32be", "int32le", "truncate"]))
        pos = draw(st.integers(0, max(size - 1, 0)))
        if draw(st.booleans()):   # headers hold most of the structure: aim there often
            pos = draw(st.integers(0, min(size, 140) - 1)) if size else 0
        if kind == "overwrite":
            payload = draw(st.binary(min_size=1, max_size=16))
        elif kind in ("int32be", "int32le"):
            payload = draw(st.sampled_from(EXTREMES))
        else:
            payload = draw(st.integers(0, 255))
        out.append((kind, pos, payload))
    return out


def apply(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for kind, pos, payload in edits:
        if not buf:
            break
        pos = min(pos, len(buf) - 1)
        if kind == "flip":
            buf[pos] ^= (payload or 1)
        elif kind == "overwrite":
            buf[pos:pos + len(payload)] = payload
        elif kind == "int32be":
            buf[pos:pos + 4] = payload.to_bytes(4, "big")
        elif kind == "int32le":
            buf[pos:pos + 4] = payload.to_bytes(4, "little")
        else:
            del buf[pos:]
    return bytes(buf)


@settings(max_examples=300, deadline=10_000,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), source=st.sampled_from(SOURCES),
       member=st.sampled_from([".shp", ".shx", ".dbf"]))
def test_mutated_files_raise_only_kernel_or_value_errors(tmp_path_factory, data, source, member):
    # Given a copy of a real shapefile with one member mutated
    tmp = tmp_path_factory.mktemp("fuzz")
    stem = DATA / os.path.splitext(source)[0]
    for sibling in stem.parent.glob(stem.name + ".*"):
        shutil.copy(sibling, tmp)
    target = tmp / (stem.name + member)
    if not target.exists():
        return
    original = target.read_bytes()
    edits = data.draw(mutations(len(original)), label="edits")
    target.write_bytes(apply(original, edits))
    if member != ".shx" and data.draw(st.booleans(), label="drop .shx"):
        for shx in tmp.glob("*.shx"):     # exercise the sequential walk of the .shp as well
            shx.unlink()
    shp = tmp / (stem.name + ".shp")
    # When it is read whole and streamed, Then it parses or fails with a clear error
    for read in (lambda: read_shapefile(shp),
                 lambda: sum(len(c) for c in iter_shapefile(shp, chunk_records=7))):
        try:
            read()
        except KernelError as exc:
            assert exc.where, exc              # names the file (and the record when known)
        except ValueError:
            pass


def test_fuzz_harness_sees_errors(tmp_path):
    # The harness itself: a flipped .shp magic number must come out as KernelError.
    for sibling in (DATA / "pyshp-2.3.1").glob("line.*"):
        shutil.copy(sibling, tmp_path)
    shp = tmp_path / "line.shp"
    shp.write_bytes(apply(shp.read_bytes(), [("int32be", 0, 1)]))
    with pytest.raises(KernelError, match="line.shp: wrong magic number"):
        read_shapefile(shp)
