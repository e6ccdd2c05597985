"""Swaths gridded next to odc-stac: ``.eo.grid(geobox=...)``, ``.eo.grid(like=...)`` and the
footprint as an odc-geo Geometry.

The cubes are real: a small COG written with rasterio on the GeoBox's grid, described by a STAC
item with the projection extension, loaded by ``xstac_access.load`` (odc-stac) from the disk.
"""

from __future__ import annotations

import datetime

import numpy as np
import pyproj
import pystac
import pytest
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.geom import Geometry

import xstac_access
from xstac_access.eo.grid import GridError, build_lookup

DIMS = ("rows", "columns")
BOUNDS = (8.5, 41.0, 13.0, 45.0)  # lon/lat box around the swath and beyond it
TARGETS = {
    "utm": ("EPSG:32632", 2000.0, ("y", "x")),
    "lonlat": ("EPSG:4326", 0.02, ("latitude", "longitude")),
}


def swath_lonlat(rows: int = 50, cols: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A bent, tilted swath of about 3 x 3 degrees inside BOUNDS."""
    r, c = np.meshgrid(np.arange(rows, dtype=float), np.arange(cols, dtype=float), indexing="ij")
    lon = 9.5 + 0.06 * c + 0.015 * r + 0.0004 * (c - 20.0) ** 2
    lat = 44.0 - 0.05 * r + 0.012 * c
    return lon, lat


def linear(x, y):
    """A field linear in target CRS coordinates (kilometre-sized numbers in UTM): gridded
    linearly on the swath's triangles, it is exact at every covered cell centre."""
    scale = 1000.0 if abs(np.nanmax(x)) > 360 else 1.0
    return 3.0 * x / scale - 2.0 * y / scale


def swath_for(crs: str) -> xr.Dataset:
    lon, lat = swath_lonlat()
    to_target = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    values = linear(*to_target.transform(lon, lat))
    coords = {"latitude": (DIMS, lat), "longitude": (DIMS, lon)}
    return xr.Dataset({"v": (DIMS, values)}, coords=coords)


def geobox_for(crs: str, resolution: float) -> GeoBox:
    bounds = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform_bounds(*BOUNDS)
    return GeoBox.from_bbox(bounds, crs, resolution=resolution)


def cube_on(geobox: GeoBox, directory) -> xr.Dataset:
    """An odc-stac cube on ``geobox``, loaded from a COG on that very grid."""
    ny, nx = geobox.shape
    path = directory / "band.tif"
    profile = {"driver": "COG", "width": nx, "height": ny, "count": 1, "dtype": "float32"}
    with rasterio.open(path, "w", crs=geobox.crs.epsg, transform=geobox.transform, **profile) as f:
        f.write(np.arange(ny * nx, dtype="float32").reshape(1, ny, nx))
    item = pystac.Item("cog", None, list(BOUNDS), datetime.datetime(2024, 5, 1), {})
    item.ext.add("proj")
    item.add_asset("band", pystac.Asset(str(path), media_type=pystac.MediaType.COG))
    proj = item.assets["band"].ext.proj
    proj.epsg, proj.shape, proj.transform = geobox.crs.epsg, [ny, nx], list(geobox.transform)[:6]
    return xstac_access.load([item], geobox=geobox)


@pytest.mark.parametrize("target", TARGETS)
def test_a_geobox_grid_aligns_exactly_with_the_odc_stac_cube(target, tmp_path):
    crs, resolution, dims = TARGETS[target]
    geobox = geobox_for(crs, resolution)
    cube = cube_on(geobox, tmp_path)
    out = swath_for(crs).eo.grid(geobox=geobox)

    assert out["v"].dims == cube["band"].dims[1:] == dims
    assert out["v"].shape == tuple(geobox.shape)
    for name in dims:  # bit for bit, names and attributes as odc-stac writes them
        assert out[name].values.tobytes() == cube[name].values.tobytes()
        assert out[name].attrs == cube[name].attrs
    assert out["spatial_ref"].identical(cube["spatial_ref"])
    assert out["v"].encoding["grid_mapping"] == "spatial_ref"
    assert out.odc.geobox == geobox
    assert out.rio.crs == pyproj.CRS(crs) and out.rio.transform() == geobox.transform
    gridded, loaded = xr.align(out, cube, join="exact")
    assert gridded.sizes == out.sizes and loaded.sizes == cube.sizes
    both = xr.merge([out, cube], join="exact", compat="no_conflicts")
    assert set(both.data_vars) == {"v", "band"} and both["spatial_ref"].identical(
        cube["spatial_ref"]
    )

    covered = out["coverage"].values
    assert 0.2 < covered.mean() < 0.8  # the GeoBox reaches beyond the swath on every side
    x, y = np.meshgrid(out[dims[1]].values, out[dims[0]].values)
    np.testing.assert_allclose(out["v"].values[covered], linear(x, y)[covered], atol=1e-6)
    assert np.isnan(out["v"].values[~covered]).all()


def test_like_takes_the_grid_of_a_cube_or_of_a_rioxarray_grid(tmp_path):
    crs, resolution, _ = TARGETS["utm"]
    geobox = geobox_for(crs, resolution)
    cube = cube_on(geobox, tmp_path)
    ds = swath_for(crs)
    expected = ds.eo.grid(geobox=geobox)
    xr.testing.assert_identical(ds.eo.grid(like=cube), expected)
    xr.testing.assert_identical(ds["v"].eo.grid(like=cube["band"]), expected["v"])

    # A grid rioxarray wrote (this package's own default, y/x even in EPSG:4326): like= keeps its
    # names, its coordinates bit for bit and its spatial_ref, which odc-geo's would not match.
    lonlat = swath_for("EPSG:4326")
    own = lonlat.eo.grid(resolution=0.05)
    assert own["v"].dims == ("y", "x")
    again = lonlat.eo.grid(like=own)
    assert again["v"].dims == ("y", "x")
    xr.align(again, own, join="exact")
    xr.testing.assert_identical(again, own)


def test_a_geobox_lookup_is_reused_and_dask_data_grid_the_same(tmp_path):
    crs, resolution, dims = TARGETS["lonlat"]
    geobox = geobox_for(crs, resolution)
    ds = swath_for(crs)
    expected = ds.eo.grid(geobox=geobox)
    table = build_lookup(ds["latitude"], ds["longitude"], geobox=geobox)
    xr.testing.assert_identical(ds.eo.grid(lookup=table), expected)
    lazy = ds.chunk({"rows": 20, "columns": 20}).eo.grid(geobox=geobox, chunks=64)
    assert lazy["v"].chunks is not None and lazy["v"].dims == dims
    xr.testing.assert_identical(lazy.compute(), expected)


@pytest.mark.parametrize("west", [170.0, -190.0])
def test_a_geographic_geobox_across_the_antimeridian_grids_the_swath_in_one_piece(west):
    lon, lat = swath_lonlat()
    lon = (lon + 169.0 + 180.0) % 360.0 - 180.0  # 178.5 ... 182.x, wrapped to [-180, 180)
    ds = xr.Dataset({"v": (DIMS, lat)}, coords={"latitude": (DIMS, lat), "longitude": (DIMS, lon)})
    bbox = (west, 41.0, west + 20.0, 45.0)
    out = ds.eo.grid(geobox=GeoBox.from_bbox(bbox, "EPSG:4326", resolution=0.05))
    covered = out["coverage"].values
    east_of_180 = out["longitude"].values > west + 10.0
    assert covered[:, east_of_180].any() and covered[:, ~east_of_180].any()
    by_bbox = ds.eo.grid(resolution=0.05, bbox=bbox)
    np.testing.assert_array_equal(covered, by_bbox["coverage"].values)
    np.testing.assert_array_equal(out["v"].values, by_bbox["v"].values)


def test_the_footprint_as_an_odc_geo_geometry():
    ds = swath_for("EPSG:4326")
    shape = ds.eo.footprint()
    geometry = ds.eo.footprint(as_odc=True)
    assert isinstance(geometry, Geometry) and not isinstance(shape, Geometry)
    assert geometry.crs == "EPSG:4326"
    assert geometry.geom.equals(shape)
    lon, lat = swath_lonlat()
    corners = {(lon[i, j], lat[i, j]) for i in (0, -1) for j in (0, -1)}
    assert corners <= set(geometry.exterior.points)
    utm = geometry.to_crs("EPSG:32632")  # it carries its CRS, so odc-geo reprojects it
    assert utm.crs == "EPSG:32632" and geobox_for("EPSG:32632", 2000.0).extent.contains(utm)


def test_geobox_and_like_errors_say_what_to_drop():
    ds = swath_for("EPSG:4326")
    geobox = geobox_for("EPSG:4326", 0.02)
    for extra in ({"resolution": 0.02}, {"crs": "EPSG:4326"}, {"bbox": BOUNDS}):
        with pytest.raises(GridError, match=r"drop resolution=, crs= and bbox=") as info:
            ds.eo.grid(geobox=geobox, **extra)
        assert isinstance(info.value, ValueError)
    with pytest.raises(GridError, match="not both"):
        ds.eo.grid(geobox=geobox, like=ds.eo.grid(geobox=geobox))
    with pytest.raises(GridError, match="rotated or sheared"):
        ds.eo.grid(geobox=geobox.rotate(10))
    with pytest.raises(GridError, match=r"flipy"):
        ds.eo.grid(geobox=geobox.flipy())
    with pytest.raises(GridError, match="like=that_object"):
        ds.eo.grid(geobox=(0, 0, 1, 1))
    with pytest.raises(GridError, match="no regular grid odc-geo can read"):
        ds.eo.grid(like=xr.Dataset({"w": (("a", "b"), np.zeros((2, 2)))}))
    with pytest.raises(GridError, match="pass geobox="):
        ds.eo.grid(like=geobox)
    table = build_lookup(ds["latitude"], ds["longitude"], geobox=geobox)
    with pytest.raises(GridError, match="come from lookup="):
        ds.eo.grid(lookup=table, geobox=geobox)
