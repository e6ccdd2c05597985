"""Swath gridding (``xstac_access.eo.grid``): values, geometry, dtypes, gaps, dask, errors.

Correctness only, on small synthetic swaths with analytic fields; timings live in
``benchmarks/b5_grid.py``.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pyproj
import pytest
import shapely
import xarray as xr
from scipy.ndimage import map_coordinates

import xstac_access.eo.accessor  # noqa: F401  (registers .eo)
from xstac_access.eo import grid as grid_module
from xstac_access.eo.grid import (
    GeolocationNotFoundError,
    GridError,
    GridTooLargeError,
    SwathLookup,
    build_lookup,
    grid,
)
from xstac_access.errors import XStacError

DIMS = ("rows", "columns")
RES = 0.05  # about the swath's along-track pixel spacing (across track: ~0.09)


def curved_swath(nrows: int = 120, ncols: int = 90, lon0: float = 10.0):
    """A bent swath of about 6 x 8 degrees whose pixels grow towards the edges."""
    t = np.linspace(0.0, 1.0, nrows)[:, None]
    s = np.linspace(-1.0, 1.0, ncols)[None, :]
    s = s + 0.15 * s**3
    lat = 40.0 + 6.0 * t + 0.8 * s + 0.5 * s**2
    lon = lon0 + 1.5 * np.sin(np.pi * t) + 3.0 * s / np.cos(np.radians(lat))
    return lat, lon


def field(lat, lon):
    """Smooth, and periodic in longitude (so it is the same on both sides of the antimeridian)."""
    return np.sin(np.radians(lat) * 40.0) * np.cos(np.radians(lon) * 30.0)


def swath_dataset(lat, lon, **variables) -> xr.Dataset:
    variables.setdefault("v", (DIMS, field(lat, lon)))
    return xr.Dataset(variables, coords={"latitude": (DIMS, lat), "longitude": (DIMS, lon)})


def centres(out):
    return np.meshgrid(out.x.values, out.y.values)


def outline(x, y) -> shapely.Polygon:
    """The swath boundary through its outer pixel centres: the outer edges of its triangles."""
    ring = np.concatenate(
        [
            np.stack([x[0, :], y[0, :]], 1),
            np.stack([x[1:, -1], y[1:, -1]], 1),
            np.stack([x[-1, -2::-1], y[-1, -2::-1]], 1),
            np.stack([x[-2:0:-1, 0], y[-2:0:-1, 0]], 1),
        ]
    )
    return shapely.Polygon(ring)


def source_position(lat, lon, **kwargs):
    """Grid images of the row and column index: per cell, the fractional source position."""
    rows, cols = np.indices(lat.shape, dtype=float)
    out = grid(swath_dataset(lat, lon, v=(DIMS, rows), c=(DIMS, cols)), **kwargs)
    return out, out["v"].values, out["c"].values


def test_linear_matches_the_analytic_field_and_fills_exactly_the_swath():
    lat, lon = curved_swath()
    out = swath_dataset(lat, lon).eo.grid(resolution=RES)
    xs, ys = centres(out)
    covered = out.coverage.values
    assert covered.sum() > 0.4 * covered.size
    err = np.abs(out["v"].values - field(ys, xs))[covered]
    assert np.isfinite(err).all()
    assert err.max() < 3e-3, err.max()  # linear interpolation error of this field at ~0.1 deg
    assert np.isnan(out["v"].values[~covered]).all()
    # Coverage is the union of the swath's triangles: the polygon through its outer pixels.
    shape = outline(lon, lat)
    assert not (covered & ~shapely.contains_xy(shape.buffer(1e-9), xs, ys)).any()
    assert covered[shapely.contains_xy(shape.buffer(-1e-9), xs, ys)].all()  # no cracks


def test_quads_are_split_along_their_shorter_diagonal():
    def wave(lat, lon):
        return np.sin(np.radians(lon) * 300) * np.cos(np.radians(lat) * 200)

    rmse = []
    for shear in (0.045, -0.045):  # mirror images: the short diagonal runs one way, then the other
        i, j = np.indices((80, 80), dtype=float)
        lat, lon = 40 + 0.05 * i, 10 + 0.05 * j + shear * i
        out = grid(swath_dataset(lat, lon, v=(DIMS, wave(lat, lon))), resolution=0.02)
        xs, ys = centres(out)
        err = (out["v"].values - wave(ys, xs))[out.coverage.values]
        assert np.abs(err).max() < 0.015  # the long diagonal's slivers reach 0.03
        rmse.append(np.sqrt(np.mean(err**2)))
    assert rmse[0] == pytest.approx(rmse[1], rel=0.05)


def test_index_images_map_back_to_the_cell_centres():
    lat, lon = curved_swath()
    out, r, c = source_position(lat, lon, resolution=RES)
    covered = out.coverage.values
    assert np.isfinite(r[covered]).all() and np.isfinite(c[covered]).all()
    xs, ys = centres(out)
    lat_back = map_coordinates(lat, [r[covered], c[covered]], order=1)
    lon_back = map_coordinates(lon, [r[covered], c[covered]], order=1)
    # Linear on the triangles vs bilinear on the quads: apart only by the quads' own bending.
    assert np.abs(lat_back - ys[covered]).max() < 1e-3
    assert np.abs(lon_back - xs[covered]).max() < 1e-3


def test_grid_coordinates_crs_and_transform():
    lat, lon = curved_swath()
    out = swath_dataset(lat, lon)["v"].eo.grid(resolution=(0.1, 0.05))
    assert isinstance(out, xr.DataArray) and out.dims == ("y", "x")
    assert out.rio.crs == pyproj.CRS.from_epsg(4326)
    t = out.rio.transform()
    assert (t.a, t.e) == pytest.approx((0.1, -0.05))
    assert np.all(np.diff(out.y) < 0) and np.all(np.diff(out.x) > 0)
    assert out.x[0] == pytest.approx(t.c + 0.05) and out.y[0] == pytest.approx(t.f - 0.025)
    # Default extent: the swath's, snapped outwards to the resolution.
    assert t.c / 0.1 == pytest.approx(round(t.c / 0.1))
    assert t.c <= np.nanmin(lon) < t.c + 0.1 and t.f - 0.05 < np.nanmax(lat) <= t.f
    assert out.coverage.dtype == bool and out.coverage.dims == ("y", "x")


def test_antimeridian_crossing_grids_on_one_continuous_longitude_range():
    lat, lon = curved_swath(lon0=180.0)  # 174 ... 186 continuous
    wrapped = (lon + 180.0) % 360.0 - 180.0
    assert wrapped.min() < -170 and wrapped.max() > 170
    out = swath_dataset(lat, wrapped).eo.grid(resolution=RES)
    twin = swath_dataset(lat, lon).eo.grid(resolution=RES)  # same swath, never wrapped
    assert out.x.min() < 180 < out.x.max() and out.x.max() < 190
    np.testing.assert_allclose(out.x, twin.x)
    np.testing.assert_array_equal(out.coverage, twin.coverage)
    np.testing.assert_allclose(out["v"], twin["v"], atol=1e-9)
    xs, ys = centres(out)
    covered = out.coverage.values
    assert covered.sum() < 0.8 * covered.size  # no triangles spanning the globe
    assert np.abs(out["v"].values - field(ys, xs))[covered].max() < 3e-3
    # A bbox west of the antimeridian gets the same data in that convention.
    west = swath_dataset(lat, wrapped).eo.grid(resolution=RES, bbox=(-186, 40, -174, 47))
    assert west.x.min() > -186 and west.x.max() < -174 and west.coverage.sum() > 1000
    xs, ys = centres(west)
    assert np.abs(west["v"].values - field(ys, xs))[west.coverage.values].max() < 3e-3


def test_polar_swath_in_polar_stereographic():
    to_geo = pyproj.Transformer.from_crs(3413, 4326, always_xy=True)
    t = np.linspace(-1.0, 1.0, 100)[:, None]
    s = np.linspace(-1.0, 1.0, 80)[None, :]
    sx, sy = 500e3 * s + 150e3 * t**2, 900e3 * t + 50e3 * s**2  # over the pole, bent
    lon, lat = to_geo.transform(sx, sy)

    def polar_field(lat, lon):
        px, py = (
            np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
            np.cos(np.radians(lat)) * np.sin(np.radians(lon)),
        )
        return np.sin(20 * px) * np.cos(15 * py)

    ds = swath_dataset(lat, lon, v=(DIMS, polar_field(lat, lon)))
    out = ds.eo.grid(resolution=10e3, crs="EPSG:3413")
    assert out.rio.crs == pyproj.CRS.from_epsg(3413)
    xs, ys = centres(out)
    covered = out.coverage.values
    clon, clat = to_geo.transform(xs, ys)
    err = np.abs(out["v"].values - polar_field(clat, clon))[covered]
    assert err.max() < 3e-3, err.max()
    pole = (np.abs(out.y.values).argmin(), np.abs(out.x.values).argmin())
    assert covered[pole]
    assert not (covered & ~shapely.contains_xy(outline(sx, sy).buffer(1.0), xs, ys)).any()
    assert covered[shapely.contains_xy(outline(sx, sy).buffer(-1.0), xs, ys)].all()


def test_integers_booleans_and_flags_are_never_interpolated():
    lat, lon = curved_swath()
    rows = np.indices(lat.shape)[0]
    ds = swath_dataset(
        lat,
        lon,
        flags=(DIMS, (1 << (rows % 3)).astype("u1"), {"flag_masks": [1, 2, 4]}),
        counts=(DIMS, (rows * 10).astype("i2"), {"_FillValue": -999, "units": "1"}),
        land=(DIMS, rows % 2 == 0),
        klass=(DIMS, (rows % 4).astype("f4"), {"flag_values": [0, 1, 2, 3]}),
        time=(DIMS, np.datetime64("2025-06-04T19:39") + rows.astype("timedelta64[s]")),
    )
    out = ds.eo.grid(resolution=RES)
    covered = out.coverage.values
    flags, counts = out["flags"], out["counts"]
    assert flags.dtype == np.uint8 and counts.dtype == np.int16 and out["land"].dtype == bool
    assert set(np.unique(flags.values[covered])) == {1, 2, 4}
    assert (flags.values[~covered] == 255).all() and flags.attrs["_FillValue"] == 255
    assert flags.attrs["flag_masks"] == [1, 2, 4]
    assert set(np.unique(counts.values[covered])) <= set(range(0, 1200, 10))
    assert (counts.values[~covered] == -999).all() and counts.attrs["units"] == "1"
    assert out["land"].values[covered].any() and not out["land"].values[~covered].any()
    assert out["klass"].dtype == np.float32
    assert set(np.unique(out["klass"].values[covered])) == {0, 1, 2, 3}
    assert np.isnan(out["klass"].values[~covered]).all()
    assert out["time"].dtype == ds["time"].dtype and np.isnat(out["time"].values[~covered]).all()
    assert np.isin(out["time"].values[covered], ds["time"].values).all()


def test_nearest_takes_source_values_only():
    lat, lon = curved_swath()
    ds = swath_dataset(lat, lon)
    out = ds.eo.grid(resolution=RES, method="nearest")
    covered = out.coverage.values
    assert np.isin(out["v"].values[covered], ds["v"].values).all()
    xs, ys = centres(out)
    assert np.abs(out["v"].values - field(ys, xs))[covered].max() < 0.1  # within a pixel's change
    # The vertex taken is the one with the largest weight (at least 1/3): within 2/3 of a pixel
    # of the linear source position in both rows and columns.
    _, r, c = source_position(lat, lon, resolution=RES)
    _, r_near, c_near = source_position(lat, lon, resolution=RES, method="nearest")
    assert np.array_equal(r_near[covered], np.round(r_near[covered]))
    assert np.abs(r_near - r)[covered].max() <= 2 / 3 + 1e-6
    assert np.abs(c_near - c)[covered].max() <= 2 / 3 + 1e-6


def test_nan_geolocation_drops_only_the_triangles_touching_it():
    lat, lon = curved_swath()
    clean, r, c = source_position(lat, lon, resolution=RES)
    lat_nan, lon_nan = lat.copy(), lon.copy()
    lat_nan[60, 45] = lon_nan[60, 45] = np.nan
    holed = grid(swath_dataset(lat_nan, lon_nan), resolution=RES)
    lost = clean.coverage.values & ~holed.coverage.values
    assert lost.any() and not (holed.coverage.values & ~clean.coverage.values).any()
    near = (np.abs(r - 60) < 1) & (np.abs(c - 45) < 1)
    assert not (lost & ~near).any()  # only around the missing pixel...
    assert (holed.coverage.values & near).sum() >= lost.sum() / 2  # ...which keeps a triangle
    ref = grid(swath_dataset(lat, lon), resolution=RES)["v"].values
    np.testing.assert_array_equal(holed["v"].values[~near], ref[~near])


def test_nan_data_reaches_its_cells_but_they_stay_covered():
    lat, lon = curved_swath()
    clean, r, c = source_position(lat, lon, resolution=RES)
    values = field(lat, lon)
    values[60, 45] = np.nan
    out = grid(swath_dataset(lat, lon, v=(DIMS, values)), resolution=RES)
    np.testing.assert_array_equal(out.coverage, clean.coverage)
    missing = np.isnan(out["v"].values) & out.coverage.values
    assert missing.any()
    assert not (missing & ~((np.abs(r - 60) < 1) & (np.abs(c - 45) < 1))).any()
    ref = grid(swath_dataset(lat, lon), resolution=RES)["v"].values
    np.testing.assert_array_equal(out["v"].values[~missing], ref[~missing])


def test_max_distance_keeps_gaps_between_bursts_open():
    lat, lon = curved_swath()
    lat = lat + np.where(np.arange(lat.shape[0]) >= 60, 0.5, 0.0)[:, None]  # a 10-pixel gap
    closed, r, _ = source_position(lat, lon, resolution=RES)
    gap = closed.coverage.values & (r > 59) & (r < 60)
    assert gap.sum() > 100
    out = grid(swath_dataset(lat, lon), resolution=RES, max_distance=0.3)
    np.testing.assert_array_equal(out.coverage.values, closed.coverage.values & ~gap)
    with pytest.raises(GridError, match="max_distance must be positive"):
        grid(swath_dataset(lat, lon), resolution=RES, max_distance=0)


def test_mean_averages_the_pixels_whose_centres_fall_in_each_cell():
    lat, lon = curved_swath()
    values = field(lat, lon)
    values[10, 10] = np.nan
    ds = swath_dataset(
        lat,
        lon,
        v=(DIMS, values),
        flags=(DIMS, (np.indices(lat.shape)[0] % 3).astype("u1"), {"flag_values": [0, 1, 2]}),
    )
    res = 0.25
    out = ds.eo.grid(resolution=res, method="mean")
    t = out.rio.transform()
    col = np.floor((lon - t.c) / res).astype(int)
    row = np.floor((t.f - lat) / res).astype(int)
    total, count, pixels = (np.zeros(out.coverage.shape) for _ in range(3))
    ok = np.isfinite(values)
    np.add.at(total, (row[ok], col[ok]), values[ok])
    np.add.at(count, (row[ok], col[ok]), 1)
    np.add.at(pixels, (row, col), 1)
    np.testing.assert_array_equal(out.coverage.values, pixels > 0)
    expected = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    np.testing.assert_allclose(out["v"].values, expected, rtol=1e-12, equal_nan=True)
    assert (pixels > 3).sum() > 0.5 * (pixels > 0).sum()  # really averaging
    assert out["flags"].dtype == np.uint8
    assert set(np.unique(out["flags"].values[out.coverage.values])) == {0, 1, 2}
    with pytest.raises(GridError, match="max_distance"):
        ds.eo.grid(resolution=res, method="mean", max_distance=1.0)


def test_other_dimensions_attributes_and_swath_coordinates():
    lat, lon = curved_swath()
    v = field(lat, lon)
    ds = xr.Dataset(
        {
            "radiance": (("band", *DIMS), np.stack([v, 2 * v, 3 * v]), {"units": "W m-2"}),
            "row_time": (("rows",), np.arange(lat.shape[0])),
            "gain": ((), 2.0),
        },
        coords={
            "nav_lat": (DIMS, lat, {"standard_name": "latitude"}),
            "nav_lon": (DIMS, lon, {"standard_name": "longitude"}),
            "detector": (DIMS, np.zeros(lat.shape, int)),
            "band": ("band", ["b1", "b2", "b3"]),
        },
        attrs={"title": "swath"},
    ).transpose("columns", "band", "rows")
    out = ds.eo.grid(resolution=RES)
    assert out["radiance"].dims == ("band", "y", "x")
    assert list(out.band.values) == ["b1", "b2", "b3"]
    assert out["radiance"].attrs["units"] == "W m-2" and out.attrs == {"title": "swath"}
    assert "row_time" not in out and float(out["gain"]) == 2.0
    assert not {"nav_lat", "nav_lon", "detector"} & set(out.variables)
    single = grid(ds["radiance"].sel(band="b2"), resolution=RES)
    np.testing.assert_array_equal(out["radiance"].sel(band="b2"), single)


def counting(values, chunks):
    """A dask array over ``values`` and the list its blocks append to when computed."""
    loaded = []

    def load(block, block_info=None):
        loaded.append(block_info[None]["chunk-location"])
        return block

    return da.map_blocks(load, da.from_array(values, chunks=chunks), dtype=values.dtype), loaded


def refuse(*args, **kwargs):
    raise AssertionError("something was computed")


def test_dask_variables_stay_lazy_and_each_tile_reads_its_window():
    lat, lon = curved_swath(240, 90)
    lazy, loaded = counting(field(lat, lon), (30, 30))
    bands = da.stack([lazy, 2 * lazy, 3 * lazy]).rechunk((2, 30, 30))
    ds = swath_dataset(lat, lon, v=(DIMS, lazy), bands=(("band", *DIMS), bands))
    with dask.config.set(scheduler=refuse):
        out = ds.eo.grid(resolution=RES, chunks=32)
    assert isinstance(out["v"].data, da.Array) and loaded == []
    assert out["v"].data.chunksize == (32, 32) and out["bands"].data.chunks[0] == (2, 1)
    eager, r, c = source_position(lat, lon, resolution=RES)
    ty, tx = (n // 2 for n in out["v"].data.numblocks)  # a tile in the middle of the swath
    tile = np.s_[ty * 32 : (ty + 1) * 32, tx * 32 : (tx + 1) * 32]
    middle = out["v"].data.blocks[ty, tx].compute()
    # The source blocks read are those under the tile's triangles, known from the index images.
    rows, cols = r[tile][eager.coverage.values[tile]], c[tile][eager.coverage.values[tile]]
    needed = {
        (i, j)
        for i in range(int(rows.min()) // 30, int(rows.max() + 1) // 30 + 1)
        for j in range(int(cols.min()) // 30, int(cols.max() + 1) // 30 + 1)
    }
    assert set(loaded) == needed and len(needed) < lazy.npartitions / 3
    expected = grid(swath_dataset(lat, lon), resolution=RES)["v"].values
    np.testing.assert_array_equal(middle, expected[tile])
    np.testing.assert_array_equal(out["v"].values, expected)
    np.testing.assert_allclose(out["bands"].values, [expected, 2 * expected, 3 * expected], 1e-12)


def test_dask_geolocation_is_the_only_thing_computed():
    lat, lon = curved_swath()
    lat_d, lat_loaded = counting(lat, 40)
    lon_d, _ = counting(lon, 40)
    data, data_loaded = counting(field(lat, lon), 40)
    out = swath_dataset(lat_d, lon_d, v=(DIMS, data)).eo.grid(resolution=RES, method="mean")
    assert lat_loaded and data_loaded == []
    assert isinstance(out["v"].data, da.Array)
    eager = swath_dataset(lat, lon).eo.grid(resolution=RES, method="mean")
    np.testing.assert_array_equal(out["v"].values, eager["v"].values)


def test_a_lookup_table_is_computed_once_and_reused(monkeypatch):
    calls = []
    kernel = grid_module._parallel.rasterise_triangles
    monkeypatch.setattr(
        grid_module._parallel, "rasterise_triangles", lambda *a: calls.append(1) or kernel(*a)
    )
    lat, lon = curved_swath()
    rows = np.indices(lat.shape)[0]
    ds = swath_dataset(lat, lon, w=(DIMS, 2 * field(lat, lon)), f=(DIMS, rows.astype("u1")))
    direct = ds.eo.grid(resolution=RES)
    assert len(calls) == 1  # three variables, one geometry pass
    table = build_lookup(ds.latitude, ds.longitude, RES)
    assert isinstance(table, SwathLookup) and len(calls) == 2
    for _ in range(2):
        reused = ds.eo.grid(lookup=table)
        xr.testing.assert_identical(reused, direct)
    assert len(calls) == 2
    with pytest.raises(GridError, match="lookup"):
        ds.eo.grid(lookup=table, resolution=RES)
    with pytest.raises(GridError, match="built for a swath"):
        ds.isel(rows=slice(1, None)).eo.grid(lookup=table)
    with pytest.raises(GridError, match="method='mean'"):
        ds.eo.grid(lookup=table, method="mean")


def test_errors_say_what_is_wrong():
    lat, lon = curved_swath()
    no_geo = xr.Dataset({"v": (DIMS, lat)}, coords={"lat": ("rows", lat[:, 0])})
    with pytest.raises(GeolocationNotFoundError) as info:
        no_geo.eo.grid(resolution=RES)
    message = str(info.value)
    assert "latitude/lat" in message and "longitude/lon" in message and "lat('rows',)" in message
    assert "v('rows', 'columns')" in message
    assert isinstance(info.value, XStacError) and isinstance(info.value, ValueError)
    ds = swath_dataset(lat, lon)
    for bad in (None, 0, -0.1, (0.1, 0), float("nan")):
        with pytest.raises(GridError, match="resolution"):
            ds.eo.grid(resolution=bad)
    with pytest.raises(GridTooLargeError, match=r"cells.*coarser resolution, e\.g\. 0\.0"):
        ds.eo.grid(resolution=1e-5)
    with pytest.raises(GridError, match="method must be one of"):
        ds.eo.grid(resolution=RES, method="cubic")
    with pytest.raises(GridError, match="bbox"):
        ds.eo.grid(resolution=RES, bbox=(10, 40, 5, 45))
    with pytest.raises(GridError, match="dtype"):
        swath_dataset(lat, lon, z=(DIMS, lat.astype(complex))).eo.grid(resolution=RES)
