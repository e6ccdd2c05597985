"""Geolocation of the real files: the GCP GeoTIFFs, the Sentinel-1 KML quads and quick-look,
and the real EOPF Sentinel-1 GRD hierarchy (its ``conditions/gcp`` filled with known values)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
import xarray as xr
from conftest import swath_lonlat
from shapely.geometry import MultiPoint

import xstac_access  # noqa: F401  (registers the engine and .eo)
from xstac_access.eo.geocode import geolocation
from xstac_access.readers.image import pixel_lonlat

from ._realdata import REAL_DATA, real_groupspec, real_kmls, real_path, write_groupspec

TIFFS = sorted((REAL_DATA / "tiff").glob("*.tif*"))
GRD = "riotiler_cog_gcps_s1_grd.tif"


def computed(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    return ds["latitude"].values, ds["longitude"].values


def test_the_real_files_are_there():
    assert len(TIFFS) == 4 and len(real_kmls()) == 3


@pytest.mark.parametrize("path", TIFFS, ids=lambda p: p.name[:30])
def test_real_gcp_geotiffs(path):
    ds = xr.open_dataset(path, engine="stacasset")
    geo = geolocation(ds)
    rio = ds.rio.get_gcps()
    assert len(rio) == 210
    np.testing.assert_array_equal(geo.gcps.line, [g.row for g in rio])
    np.testing.assert_array_equal(geo.gcps.lon, [g.x for g in rio])
    lat, lon = geo(geo.gcps.line, geo.gcps.pixel)  # the surface passes through every GCP
    np.testing.assert_allclose(lat, geo.gcps.lat, atol=1e-9)
    np.testing.assert_allclose(lon, geo.gcps.lon, atol=1e-9)
    # pixel centres within the GCPs' extent (S1's last GCP is half a pixel short of the edge)
    rows = np.linspace(0, ds.sizes["y"] - 1, 40).round() + 0.5
    cols = np.linspace(0, ds.sizes["x"] - 1, 40).round() + 0.5
    inside_rows = rows[(rows >= geo.gcps.line.min()) & (rows <= geo.gcps.line.max())]
    inside_cols = cols[(cols >= geo.gcps.pixel.min()) & (cols <= geo.gcps.pixel.max())]
    lat, lon = geo(inside_rows, inside_cols, grid=True)
    for values, gcp in ((lat, geo.gcps.lat), (lon, geo.gcps.lon)):
        assert gcp.min() - 1e-6 <= values.min() and values.max() <= gcp.max() + 1e-6
    out = ds["band_data"].eo.geocode()  # a DataArray keeps its GCPs on spatial_ref too
    corner = out["latitude"][-3:, -3:].values
    np.testing.assert_allclose(
        corner, geo(rows[-1:] - [2, 1, 0], cols[-1:] - [2, 1, 0], grid=True)[0]
    )


def test_overview_reads_geocode_like_the_full_image_scaled():
    path = real_path("tiff", GRD)
    full = geolocation(xr.open_dataset(path, engine="stacasset"))
    overview = xr.open_dataset(path, engine="stacasset", overview_level=1)
    lat, lon = computed(overview.eo.geocode())
    assert lat.shape == (210, 320)
    scale = (837 / 210, 1280 / 320)
    rows, cols = np.meshgrid(np.arange(210) + 0.5, np.arange(320) + 0.5, indexing="ij")
    expected_lat, expected_lon = full(rows * scale[0], cols * scale[1])
    np.testing.assert_allclose(lat, expected_lat, atol=1e-9)
    np.testing.assert_allclose(lon, expected_lon, atol=1e-9)


def test_footprint_of_the_grd_walks_its_border_gcps():
    path = real_path("tiff", GRD)
    with rasterio.open(path) as src:
        gcps, _ = src.gcps
        height, width = src.height, src.width
    rows, cols = {g.row for g in gcps}, {g.col for g in gcps}
    border = [g for g in gcps if g.row in (min(rows), max(rows)) or g.col in (min(cols), max(cols))]
    fp = xr.open_dataset(path, engine="stacasset").eo.footprint()
    assert fp.geom_type == "Polygon" and fp.exterior.is_ccw
    assert set(fp.exterior.coords) == {(g.x, g.y) for g in border}
    inner = [g for g in gcps if g not in border]
    assert inner and fp.contains(MultiPoint([(g.x, g.y) for g in inner]))
    assert max(rows) >= height - 1 and max(cols) >= width - 1  # the GCPs reach the image edges


@pytest.mark.parametrize("kml", real_kmls(), ids=lambda p: p.parent.parent.name[:20])
def test_real_kml_quads(kml):
    footprint = xr.open_dataset(kml, engine="stacasset")
    image = xr.Dataset({"image": (("y", "x"), np.zeros((51, 52), "uint8"))})
    lat, lon = computed(image.eo.geocode(gcps=footprint))
    corners = tuple(zip(footprint["longitude"].values, footprint["latitude"].values, strict=True))
    expected_lon, expected_lat = pixel_lonlat(corners, (51, 52))
    np.testing.assert_allclose(lat, expected_lat, atol=1e-9)
    np.testing.assert_allclose(lon, expected_lon, atol=1e-9)


def test_the_real_quicklook_is_geocoded_from_its_own_quad():
    (kml,) = [k for k in real_kmls() if (k.parent / "quick-look.png").is_file()]
    picture = xr.open_dataset(kml.parent / "quick-look.png", engine="stacasset", kml=str(kml))
    eager_lat, eager_lon = picture["latitude"].values, picture["longitude"].values
    lat, lon = computed(picture.eo.geocode())
    np.testing.assert_allclose(lat, eager_lat, atol=1e-9)
    np.testing.assert_allclose(lon, eager_lon, atol=1e-9)


@pytest.fixture(scope="module")
def eopf_s1(tmp_path_factory):
    """The real EOPF S1 GRD hierarchy (metadata, written below tmp) with known GCP values in
    ``conditions/gcp``: :func:`conftest.swath_lonlat` at a lattice of sample indices."""
    import zarr

    spec = real_groupspec("s1_examples")
    store = tmp_path_factory.mktemp("eopf") / "S1C_IW_GRDH.zarr"
    write_groupspec(spec, store)
    (pol,) = [m for m in spec["members"] if m.endswith("_VV")]
    shape = tuple(spec["members"][pol]["members"]["measurements"]["members"]["grd"]["shape"])
    group = zarr.open_group(str(store / pol / "conditions" / "gcp"), mode="r+")
    count = group["line"].shape[0]
    assert count == 210  # 10 lines of 21 GCPs, as Sentinel-1 annotations give them
    lines, pixels = np.meshgrid(
        np.linspace(0, shape[0] - 1, 10).round(), np.linspace(0, shape[1] - 1, 21).round(),
        indexing="ij",
    )  # fmt: skip
    lon, lat = swath_lonlat(lines, pixels, shape)  # at sample indices, as Sentinel-1 gives them
    for name, values in {"line": lines, "pixel": pixels, "latitude": lat, "longitude": lon}.items():
        group[name][:] = values.ravel().astype(group[name].dtype)
    zarr.consolidate_metadata(str(store))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = xr.open_datatree(str(store), engine="stacasset")
    return tree[pol], shape


def test_eopf_conditions_gcp_places_gcps_on_the_elements_they_name(eopf_s1):
    node, shape = eopf_s1
    measurements = node["measurements"].to_dataset()
    assert measurements["grd"].dims == ("azimuth_time", "ground_range")
    small = {"azimuth_time": 256, "ground_range": 256}  # the data's chunks are 70 M pixels
    out = measurements.eo.geocode(gcps=node["conditions/gcp"], chunks=small)
    assert out["latitude"].dims == ("azimuth_time", "ground_range")
    assert out["latitude"].shape == shape
    gcp = node["conditions/gcp"].to_dataset()
    line, pixel = int(gcp["line"][25]), int(gcp["pixel"][25])  # a GCP inside the image
    assert 0 < line < shape[0] - 1 and 0 < pixel < shape[1] - 1
    window = out[["latitude", "longitude"]].isel(
        azimuth_time=slice(line - 1, line + 2), ground_range=slice(pixel - 1, pixel + 2)
    )
    assert window["latitude"].values[1, 1] == pytest.approx(float(gcp["latitude"][25]), abs=1e-9)
    assert window["longitude"].values[1, 1] == pytest.approx(float(gcp["longitude"][25]), abs=1e-9)
    truth = swath_lonlat(
        np.arange(line - 1, line + 2)[:, None], np.arange(pixel - 1, pixel + 2), shape
    )
    np.testing.assert_allclose(window["latitude"].values, truth[1], atol=1e-9)  # not shifted
    same = measurements.eo.geocode(gcps=node, chunks=small)  # conditions/gcp found below
    assert same["latitude"][line, pixel].values == window["latitude"].values[1, 1]
