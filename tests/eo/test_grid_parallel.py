"""Gridding on every core (``eo/_parallel.py``) gives the one-thread result, bit for bit.

Each thread owns bands of target rows; these tests grid a swath whose triangles straddle many
band edges, that folds back over itself (where the later triangle must win, as on one thread),
has holes in its geolocation, a gap between two bursts, and NaNs in its data, once on one thread
and again on several threads with band layouts of odd sizes, and compare every byte.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
import pytest
import xarray as xr

import xstac_access.eo.accessor  # noqa: F401  (registers .eo)
from xstac_access.eo import _parallel

DIMS = ("rows", "columns")


def awkward_swath() -> xr.Dataset:
    """A curved 240 x 150 swath with a fold, a burst gap, NaN holes and NaN data."""
    t = np.linspace(0.0, 1.0, 240)[:, None]
    s = np.linspace(-1.0, 1.0, 150)[None, :]
    lat = 40.0 + 6.0 * t + 0.8 * s + 0.5 * s**2
    lat[120:] -= 0.15  # the second burst starts back over the end of the first: a fold
    lat[180:] += 0.4  # and the third leaves a gap after the second
    lon = 10.0 + 1.5 * np.sin(np.pi * t) + 3.0 * s / np.cos(np.radians(lat))
    lat[50:53, 40:45] = np.nan
    lon[200, 100] = np.nan
    values = np.sin(np.radians(lat) * 40.0) * np.cos(np.radians(lon) * 30.0)
    values[90:95, 60:70] = np.nan
    rows = np.indices(lat.shape)[0]
    return xr.Dataset(
        {
            "v": (DIMS, values),
            "flags": (DIMS, (rows % 7).astype("uint8"), {"flag_values": list(range(7))}),
            "count": (DIMS, (rows * 3 - 200).astype("int16")),
        },
        coords={"latitude": (DIMS, lat), "longitude": (DIMS, lon)},
    )


def assert_bitwise_equal(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.data_vars:
        va, vb = a[name].values, b[name].values
        assert va.tobytes() == vb.tobytes(), name


@pytest.mark.parametrize(
    ("method", "max_distance"),
    [("linear", None), ("linear", 0.3), ("nearest", None), ("mean", None)],
)
def test_every_thread_count_and_band_layout_grids_the_same_bytes(monkeypatch, method, max_distance):
    ds = awkward_swath()
    kwargs = {"resolution": 0.04, "method": method, "max_distance": max_distance}
    names: set[str] = set()
    run = _parallel._run

    def watched(task, n, nthreads, per_thread=1):
        return run(
            lambda lo, hi: names.add(threading.current_thread().name) or task(lo, hi),
            n,
            nthreads,
            per_thread,
        )

    monkeypatch.setattr(_parallel, "_run", watched)
    monkeypatch.setattr(_parallel, "threads", lambda cells: 1)
    one = ds.eo.grid(**kwargs)
    assert names == {threading.current_thread().name}  # one thread: the caller's
    assert int(one["coverage"].sum()) > 10_000 and np.isnan(one["v"].values).any()
    for n in (2, 3, 13):  # band edges fall elsewhere each time; 13 threads take 52 bands
        names.clear()
        monkeypatch.setattr(_parallel, "threads", lambda cells, n=n: n)
        assert_bitwise_equal(one, ds.eo.grid(**kwargs))
        assert len(names) >= 2  # the calling thread and a helper took bands


def test_small_grids_stay_on_the_calling_thread_and_large_ones_use_numbas_count():
    assert _parallel.threads(_parallel._MIN_CELLS - 1) == 1
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert _parallel.threads(_parallel._MIN_CELLS) == 1
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        assert _parallel.threads(10**8) == numba.config.NUMBA_NUM_THREADS
    finally:
        numba.set_num_threads(before)


def test_bands_cover_every_row_once():
    for n, nbands in [(1, 8), (7, 3), (100, 8), (5, 5)]:
        bands = _parallel._bands(n, nbands)
        rows = [r for lo, hi in bands for r in range(lo, hi + 1)]
        assert rows == list(range(n)) and len(bands) == min(n, nbands)
