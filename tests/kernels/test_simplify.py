"""samsyn_fast.simplify against shapely.simplify(preserve_topology=False) (GEOS DP)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.errors import KernelError
from samsyn_fast.simplify import simplify_buffers, simplify_lines, simplify_polygons

# Grid coordinates provoke ties, repeated points and collinear runs; floats the general case.
grid = st.integers(-4, 4).map(float)
real = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
# Wide and tiny magnitudes reach the guards around GEOS's r division (overflowing len2,
# underflowing num / len2).
wide = st.one_of(st.floats(-1e300, 1e300), st.floats(-1e-300, 1e-300), st.floats(-1e-150, 1e-150))
point = st.one_of(st.tuples(grid, grid), st.tuples(real, real), st.tuples(wide, wide))
tolerances = st.one_of(st.just(0.0), st.floats(0, 3), st.floats(0, 200))


@st.composite
def ragged_lines(draw):
    parts = draw(st.lists(st.lists(point, min_size=2, max_size=40), min_size=0, max_size=8))
    closed = draw(st.lists(st.booleans(), min_size=len(parts), max_size=len(parts)))
    parts = [p + [p[0]] if c else p for p, c in zip(parts, closed)]
    coords = np.array([xy for p in parts for xy in p], dtype=np.float64).reshape(-1, 2)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    return coords, offsets


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # GEOS overflow on huge coordinates
@settings(max_examples=400, deadline=None)
@given(lines=ragged_lines(), tolerance=tolerances)
def test_simplify_lines_matches_geos(lines, tolerance):
    # Given ragged lines (open and closed, with repeats) and a tolerance
    coords, offsets = lines
    before = coords.copy()
    # When
    out, out_offsets = simplify_lines(coords, offsets, tolerance)
    # Then every part equals GEOS's result bit for bit, and the input is untouched
    assert out_offsets.shape == offsets.shape
    for p in range(len(offsets) - 1):
        ref = shapely.simplify(
            shapely.linestrings(coords[offsets[p] : offsets[p + 1]]),
            tolerance,
            preserve_topology=False,
        )
        np.testing.assert_array_equal(
            out[out_offsets[p] : out_offsets[p + 1]], shapely.get_coordinates(ref)
        )
    assert np.array_equal(coords, before)


@st.composite
def star_ring(draw, cx, cy, rmax):
    # A star-shaped ring around (cx, cy): valid unless radii/angles degenerate.
    n = draw(st.integers(3, 25))
    angles = np.sort(
        np.array(
            draw(
                st.lists(
                    st.floats(0, 2 * np.pi, exclude_max=True), min_size=n, max_size=n, unique=True
                )
            )
        )
    )
    radii = np.array(draw(st.lists(st.floats(0.05 * rmax, rmax), min_size=n, max_size=n)))
    ring = np.column_stack((cx + radii * np.cos(angles), cy + radii * np.sin(angles)))
    if draw(st.booleans()):
        ring = np.round(ring, draw(st.integers(0, 3)))  # snapping: repeats, collinearity
    start = draw(st.integers(0, n - 1))
    ring = np.roll(ring, -start, axis=0)
    if draw(st.booleans()):
        ring = ring[::-1]
    return np.vstack((ring, ring[:1]))


@st.composite
def polygons(draw):
    cx, cy = draw(real), draw(real)
    size = draw(st.floats(1, 100))
    shell = draw(star_ring(cx, cy, size))
    holes = [draw(star_ring(cx, cy, 0.04 * size)) for _ in range(draw(st.integers(0, 2)))]
    return [shell] + holes


@st.composite
def polygon_batches(draw):
    geoms = draw(st.lists(st.lists(polygons(), min_size=1, max_size=3), min_size=1, max_size=6))
    rings = [r for g in geoms for poly in g for r in poly]
    coords = np.vstack(rings)
    ring_offsets = np.concatenate([[0], np.cumsum([len(r) for r in rings])]).astype(np.int64)
    polygon_offsets = np.concatenate(
        [[0], np.cumsum([len(poly) for g in geoms for poly in g])]
    ).astype(np.int64)
    geom_offsets = np.concatenate([[0], np.cumsum([len(g) for g in geoms])]).astype(np.int64)
    return coords, ring_offsets, polygon_offsets, geom_offsets


def _parts(coords, ring_offsets, polygon_offsets, geom_offsets, g):
    return [
        [
            coords[ring_offsets[r] : ring_offsets[r + 1]]
            for r in range(polygon_offsets[p], polygon_offsets[p + 1])
        ]
        for p in range(geom_offsets[g], geom_offsets[g + 1])
    ]


def _geos_parts(geom):
    # Polygons only: GEOS may return a collection with a collapsed shell's holes as lines.
    out = []
    for poly in _flatten(geom):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        rings = [poly.exterior] + list(poly.interiors)
        out.append([shapely.get_coordinates(r) for r in rings])
    return out


def _flatten(geom):
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for g in geom.geoms for p in _flatten(g)]
    return [geom]


def _assert_same(ours, geos):
    assert len(ours) == len(geos)
    for a, b in zip(ours, geos):
        assert len(a) == len(b)
        for ra, rb in zip(a, b):
            np.testing.assert_array_equal(ra, rb)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@settings(max_examples=250, deadline=None)
@given(batch=polygon_batches(), tolerance=tolerances, as_multi=st.booleans())
def test_simplify_polygons_matches_geos(batch, tolerance, as_multi):
    # Given polygons with holes (single, or grouped into multipolygons)
    coords, roff, poff, goff = batch
    if not as_multi:
        goff = np.arange(len(poff), dtype=np.int64)
    geoms = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, coords, (roff, poff, goff))
    if not as_multi:
        geoms = np.array([g.geoms[0] for g in geoms], dtype=object)
    # When
    out = simplify_polygons(coords, roff, poff, tolerance, geom_offsets=goff if as_multi else None)
    # Then each geometry has GEOS's polygons, rings and coordinates, in GEOS's order
    ref = shapely.simplify(geoms, tolerance, preserve_topology=False)
    assert len(out[3]) == len(geoms) + 1
    for g in range(len(geoms)):
        _assert_same(_parts(*out, g), _geos_parts(ref[g]))


def test_collapses_and_repairs_follow_geos():
    wkts = [
        (
            "POLYGON((1 0, 1 1.17549435e-38, 0.5403023058681398 0.8414709848078965, "
            "1 -2.0212862021207e-15, 1 0))"
        ),  # endpoint test: GEOS measures to seg(p[n-2], p[1])
        "POLYGON((0 0, 10 0, 10 0.01, 0 0))",  # shell collapses
        "POLYGON((0 0.5, 0 0, 10 0, 10 10, 0 10, 0 0.5))",  # start vertex goes
        "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0),(1 1, 1.01 1, 1.01 1.01, 1 1))",  # hole goes
        "POLYGON((0 0, 10 0, 0 10, 10 10, 0 0))",  # bow tie: buffer(0)
        "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0),(1 1, 9 1, 9 9, 1 9, 1 1))",
    ]
    geoms = shapely.from_wkt(wkts)
    _, coords, (roff, poff) = shapely.to_ragged_array(geoms)
    for tol in (0.0, 0.1, 20.0):
        out = simplify_polygons(coords, roff, poff, tol)
        ref = shapely.simplify(geoms, tol, preserve_topology=False)
        for g in range(len(geoms)):
            _assert_same(_parts(*out, g), _geos_parts(ref[g]))


def test_bad_offsets_and_tolerance():
    coords = np.zeros((4, 2))
    with pytest.raises(KernelError) as err:
        simplify_lines(coords, np.array([0, 3, 2, 4]), 1.0)
    assert err.value.code == 1
    with pytest.raises(KernelError):
        simplify_lines(coords, np.array([0, 5]), 1.0)
    with pytest.raises(ValueError):
        simplify_lines(coords, np.array([0, 4]), -1.0)
    with pytest.raises(ValueError):
        simplify_lines(coords, np.array([0, 4]), float("nan"))


def test_empty_batches():
    out, off = simplify_lines(np.zeros((0, 2)), np.array([0]), 1.0)
    assert out.shape == (0, 2) and off.tolist() == [0]
    c, _, _, g = simplify_polygons(np.zeros((0, 2)), np.array([0]), np.array([0]), 1.0)
    assert c.shape == (0, 2) and g.tolist() == [0]


def test_simplify_buffers_lines_and_points():
    rng = np.random.default_rng(5)
    coords = np.cumsum(rng.normal(size=(300, 2)), axis=0)
    buffers = GeometryBuffers(
        "MultiLineString",
        coords,
        None,
        np.array([0, 2, 3]),
        np.array([0, 100, 250, 300]),
        np.array([0]),
        np.zeros(2, bool),
    )
    out = simplify_buffers(buffers, 1.5)
    ref_c, ref_o = simplify_lines(coords, buffers.ring_offsets, 1.5)
    assert np.array_equal(out.coords, ref_c) and np.array_equal(out.ring_offsets, ref_o)
    assert out.geom_offsets is buffers.geom_offsets
    points = GeometryBuffers(
        "Point", coords, None, np.arange(301), np.array([0]), np.array([0]), np.zeros(300, bool)
    )
    assert simplify_buffers(points, 1.0) is points


def test_parallel_batch_matches_geos():
    # Enough parts for both threads and the dynamic schedule to matter.
    rng = np.random.default_rng(7)
    sizes = rng.integers(2, 300, 3000)
    coords = np.cumsum(rng.normal(scale=1e-3, size=(sizes.sum(), 2)), axis=0)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    out, out_off = simplify_lines(coords, offsets, 1e-3)
    ref = shapely.simplify(
        shapely.from_ragged_array(shapely.GeometryType.LINESTRING, coords, (offsets,)),
        1e-3,
        preserve_topology=False,
    )
    _, ref_coords, (ref_off,) = shapely.to_ragged_array(ref)
    assert np.array_equal(out, ref_coords) and np.array_equal(out_off, ref_off)


def test_works_in_a_forked_child():
    # The parent has used the thread pool; a forked worker must not wait on dead threads.
    import os

    rng = np.random.default_rng(3)
    coords = np.cumsum(rng.normal(size=(300_000, 2)), axis=0)
    offsets = np.arange(0, 300_001, 300)
    ref = simplify_lines(coords, offsets, 2.0)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            out = simplify_lines(coords, offsets, 2.0)
            same = np.array_equal(out[0], ref[0]) and np.array_equal(out[1], ref[1])
            os._exit(0 if same else 1)
        except BaseException:  # noqa: BLE001 - any failure is the exit code
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
