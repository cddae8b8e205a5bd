"""samsyn_fast.reproject against pyproj Transformer(always_xy=True)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.errors import KernelError
from samsyn_fast.reproject import reproject, reproject_buffers


def _pyproj(coords: np.ndarray, src, dst) -> np.ndarray:
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    x, y = tr.transform(coords[:, 0].copy(), coords[:, 1].copy(), errcheck=False)
    return np.column_stack((x, y))


def _assert_close(out: np.ndarray, ref: np.ndarray, atol: float) -> None:
    both_inf = np.isinf(out) & np.isinf(ref)
    assert np.array_equal(np.isinf(out), np.isinf(ref))
    with np.errstate(invalid="ignore"):
        diff = np.where(both_inf, 0.0, np.abs(out - ref))
    assert diff.max(initial=0.0) <= atol, (diff.max(), np.argmax(diff.max(axis=1)))


# Longitudes past the dateline (PROJ wraps them) and past +-10 rad (PROJ rejects them);
# latitudes at and just past the poles (PROJ clamps 1e-12 rad of overshoot, rejects more).
lon = st.one_of(
    st.floats(-180, 180),
    st.floats(-600, 600),
    st.sampled_from([0.0, -0.0, 180.0, -180.0, 181.0, 540.0, -540.0, 572.9, 573.0, 1e10]),
)
lat = st.one_of(
    st.floats(-85, 85),
    st.floats(-90, 90),
    st.sampled_from(
        [
            90.0,
            -90.0,
            89.9999999,
            90 + 5e-11,
            -90 - 5e-11,
            90 + 1e-9,
            100.0,
            89.5,
            89.49999999,
            -89.5,
        ]
    ),
)
lonlat = st.lists(st.tuples(lon, lat), min_size=0, max_size=60).map(
    lambda pts: np.array(pts, dtype=np.float64).reshape(-1, 2)
)


@settings(max_examples=300, deadline=None)
@given(coords=lonlat, dst=st.sampled_from([3857, "EPSG:3857", 900913, 3785, pyproj.CRS(3857)]))
def test_4326_to_3857_matches_pyproj(coords, dst):
    # Given lon/lat anywhere (incl. wrap, clamp and rejection zones)
    before = coords.copy()
    # When
    out = reproject(coords, 4326, dst)
    # Then within 1 mm of pyproj, inf exactly where pyproj gives inf, input untouched
    _assert_close(out, _pyproj(coords, 4326, 3857), 1e-3)
    assert np.array_equal(coords, before)


xy = st.lists(
    st.tuples(
        st.one_of(st.floats(-2.1e7, 2.1e7), st.floats(-1e9, 1e9)),
        st.one_of(st.floats(-3e7, 3e7), st.floats(-1e10, 1e10)),
    ),
    min_size=0,
    max_size=60,
).map(lambda pts: np.array(pts, dtype=np.float64).reshape(-1, 2))


@settings(max_examples=300, deadline=None)
@given(coords=xy, src=st.sampled_from([3857, "EPSG:900913", 3785]))
def test_3857_to_4326_matches_pyproj(coords, src):
    out = reproject(coords, src, "EPSG:4326")
    _assert_close(out, _pyproj(coords, 3857, 4326), 1e-9)


def test_round_trip_large_batch_uses_both_paths_consistently():
    rng = np.random.default_rng(11)
    coords = np.column_stack((rng.uniform(-180, 180, 200_000), rng.uniform(-85, 85, 200_000)))
    merc = reproject(coords, 4326, 3857)
    _assert_close(merc, _pyproj(coords, 4326, 3857), 1e-3)
    back = reproject(merc, 3857, 4326)
    _assert_close(back, coords, 1e-9)


@pytest.mark.parametrize("n", [0, 1, 1000, 120_000])
def test_other_pairs_go_through_pyproj_exactly(n):
    rng = np.random.default_rng(n)
    coords = np.column_stack((rng.uniform(6, 24, n), rng.uniform(35, 70, n)))
    out = reproject(coords, "EPSG:4326", pyproj.CRS("EPSG:32633"))
    assert out.shape == (n, 2)
    assert np.array_equal(out, _pyproj(coords, 4326, 32633))
    assert np.array_equal(reproject(out, 32633, 4326), _pyproj(out, 32633, 4326))


def test_same_crs_returns_a_copy():
    coords = np.array([[1.0, 2.0]])
    out = reproject(coords, 4326, "EPSG:4326")
    assert np.array_equal(out, coords) and out is not coords


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dst", [3857, 32633])
def test_non_finite_input_raises_naming_the_row(bad, dst):
    coords = np.zeros((5, 2))
    coords[3, 1] = bad
    with pytest.raises(KernelError) as err:
        reproject(coords, 4326, dst)
    assert err.value.code == 7
    assert "3" in err.value.where


def test_bad_shape_raises():
    with pytest.raises(ValueError):
        reproject(np.zeros((3, 3)), 4326, 3857)


def test_reproject_buffers_replaces_coords_only():
    buffers = GeometryBuffers(
        "Point",
        np.array([[10.0, 50.0], [-70.0, -30.0]]),
        None,
        np.array([0, 1, 2]),
        np.array([0]),
        np.array([0]),
        np.array([False, False]),
    )
    out = reproject_buffers(buffers, 4326, 3857)
    _assert_close(out.coords, _pyproj(buffers.coords, 4326, 3857), 1e-3)
    assert dataclasses.replace(out, coords=buffers.coords) == dataclasses.replace(buffers)


def test_first_non_finite_row_is_named_in_big_batches():
    coords = np.zeros((300_000, 2))
    coords[250_000, 0] = np.nan
    coords[160_000, 1] = np.inf
    for dst in (3857, 32633):
        with pytest.raises(KernelError) as err:
            reproject(coords, 4326, dst)
        assert err.value.where == "coords[160000]"


def test_pyproj_path_works_in_a_forked_child():
    # The parent has started the thread pool; a forked worker must not wait on dead threads.
    import os

    coords = np.column_stack((np.linspace(6, 24, 100_000), np.linspace(35, 70, 100_000)))
    reproject(coords, 4326, 32633)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            out = reproject(coords, 4326, 32633)
            os._exit(0 if np.array_equal(out, _pyproj(coords, 4326, 32633)) else 1)
        except BaseException:  # noqa: BLE001 - any failure is the exit code
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
