"""GCP geocoding: analytic swaths (truth everywhere), conventions, every GCP source, files
written here (a GCP GeoTIFF, overlay KMLs, an EOPF-shaped tree). The real files are geocoded in
tests/realdata/test_geocode.py."""

from __future__ import annotations

import pickle

import dask
import dask.array
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (the .rio accessor, to write and read GCPs as the reader does)
import xarray as xr
from conftest import (
    GCP_TIFF_SHAPE,
    OVERLAY_QUADS,
    overlay_kml,
    swath_lonlat,
    write_preview,
)
from dask.callbacks import Callback
from rasterio.control import GroundControlPoint
from scipy.interpolate import RegularGridInterpolator

import xstac_access  # noqa: F401  (registers the engine and .eo)
from xstac_access import errors
from xstac_access.eo.geocode import (
    GeocodeError,
    GeocodeWarning,
    NoGcpsError,
    TooFewGcpsError,
    geolocation,
)
from xstac_access.readers.image import pixel_lonlat

SHAPE = (300, 400)


def swath(line, pixel, shape=SHAPE, lon0=20.0):
    """A curved, SAR-like geolocation in degrees at image positions (GDAL's corner origin).

    The nadir track runs south and turns; the look goes right of it, and ground distance grows
    non-linearly across the columns, as slant-range sampling makes it.
    """
    t, r = np.asarray(line, float) / shape[0], np.asarray(pixel, float) / shape[1]
    lat1 = np.radians(60.0 - 2.0 * t - 0.2 * t**2)
    lon1 = np.radians(lon0 + 0.6 * t)
    bearing = np.radians(280.0 - 6.0 * t)
    d = np.radians(3.0 + 4.0 * (np.sqrt(1 + r) - 1))
    lat = np.arcsin(np.sin(lat1) * np.cos(d) + np.cos(lat1) * np.sin(d) * np.cos(bearing))
    y = np.sin(bearing) * np.sin(d) * np.cos(lat1)
    lon = lon1 + np.arctan2(y, np.cos(d) - np.sin(lat1) * np.sin(lat))
    return np.degrees(lat), (np.degrees(lon) + 180) % 360 - 180


def pixel_error(lat, lon, line, pixel, truth=swath):
    """|error| in pixels of (lat, lon) at (line, pixel), through the truth's local Jacobian."""

    def diff(a, b):  # (lat, lon) differences, longitudes across the antimeridian
        return a[0] - b[0], (a[1] - b[1] + 180) % 360 - 180

    d_lat, d_lon = diff((lat, lon), truth(line, pixel))
    lat_l, lon_l = diff(truth(line + 0.5, pixel), truth(line - 0.5, pixel))  # per pixel
    lat_p, lon_p = diff(truth(line, pixel + 0.5), truth(line, pixel - 0.5))
    det = lat_l * lon_p - lat_p * lon_l
    return np.hypot((lon_p * d_lat - lat_p * d_lon) / det, (lat_l * d_lon - lon_l * d_lat) / det)


def centres(shape=SHAPE):
    return np.meshgrid(np.arange(shape[0]) + 0.5, np.arange(shape[1]) + 0.5, indexing="ij")


def lattice(shape=SHAPE, count=(11, 11)):
    return np.meshgrid(
        np.linspace(0, shape[0], count[0]), np.linspace(0, shape[1], count[1]), indexing="ij"
    )


def ground_control_points(lines, pixels, truth=swath):
    lat, lon = truth(lines, pixels)
    return [
        GroundControlPoint(row=r, col=c, x=x, y=y)
        for r, c, x, y in zip(lines.ravel(), pixels.ravel(), lon.ravel(), lat.ravel(), strict=True)
    ]


def gcp_image(gcps, crs="EPSG:4326", shape=SHAPE) -> xr.Dataset:
    """A GCP-only image as the GeoTIFF reader returns one: GCPs on ``spatial_ref``."""
    data = np.zeros(shape, "uint8")
    return xr.Dataset({"band_data": (("y", "x"), data)}).rio.write_gcps(gcps, crs)


def computed(ds):
    return ds["latitude"].values, ds["longitude"].values


class NoCompute(Callback):
    """Fails any dask computation started while it is active."""

    def _start(self, dsk):
        raise AssertionError("something was computed")


def test_lattice_spline_is_within_a_hundredth_of_a_pixel_of_the_analytic_swath():
    lines, pixels = lattice()
    ds = gcp_image(ground_control_points(lines, pixels)).eo.geocode()
    lat, lon = computed(ds)
    assert lat.shape == SHAPE and lat.dtype == np.float64
    assert ds["latitude"].dims == ("y", "x") and ds["latitude"].attrs["units"] == "degrees_north"
    assert "bicubic spline" in ds["longitude"].attrs["geocoding"]
    assert pixel_error(lat, lon, *centres()).max() <= 0.01
    # the swath is curved enough for that to mean something: bilinear misses by far more
    truth = swath(lines, pixels)
    linear = [RegularGridInterpolator((lines[:, 0], pixels[0]), v) for v in truth]
    points = np.stack(centres(), axis=-1)
    assert pixel_error(linear[0](points), linear[1](points), *centres()).max() > 0.1


def test_pixel_centres_are_half_a_pixel_from_the_gcp_corner_origin():
    def plane(line, pixel):  # linear: any interpolation is exact, only positions matter
        return 45.0 - 0.01 * np.asarray(line, float), 7.0 + 0.01 * np.asarray(pixel, float)

    lines, pixels = lattice()
    ds = gcp_image(ground_control_points(lines, pixels, plane)).eo.geocode()
    lat, lon = computed(ds)
    rows, cols = centres()
    assert pixel_error(lat, lon, rows, cols, plane).max() < 1e-6
    assert lat[0, 0] == pytest.approx(45.0 - 0.005, abs=1e-12)  # element [0, 0]: (0.5, 0.5)
    np.testing.assert_allclose(pixel_error(lat, lon, rows - 0.5, cols - 0.5, plane), np.sqrt(0.5))


def test_across_the_antimeridian_longitudes_are_continuous_inside_and_wrapped_out():
    def across(line, pixel):
        return swath(line, pixel, lon0=-172.0)  # the swath lies west of nadir, over 180

    lines, pixels = lattice()
    gcps = ground_control_points(lines, pixels, across)
    assert min(g.x for g in gcps) < -179 and max(g.x for g in gcps) > 179
    lat, lon = computed(gcp_image(gcps).eo.geocode())
    assert pixel_error(lat, lon, *centres(), truth=across).max() <= 0.01
    assert lon.min() >= -180 and lon.max() < 180 and (lon > 0).any() and (lon < 0).any()


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_projected_gcps_in_a_geotiff_are_taken_to_lat_lon(tmp_path):
    from pyproj import Transformer

    lines, pixels = lattice()
    lat, lon = swath(lines, pixels, lon0=17.0)
    x, y = Transformer.from_crs(4326, 32633, always_xy=True).transform(lon, lat)
    gcps = [
        GroundControlPoint(row=r, col=c, x=e, y=n)
        for r, c, e, n in zip(lines.ravel(), pixels.ravel(), x.ravel(), y.ravel(), strict=True)
    ]
    path = tmp_path / "utm_gcps.tif"
    profile = dict(driver="GTiff", height=SHAPE[0], width=SHAPE[1], count=1, dtype="uint8")
    with rasterio.open(path, "w", **profile) as dst:
        dst.gcps = (gcps, rasterio.crs.CRS.from_epsg(32633))
    ds = xr.open_dataset(path, engine="stacasset").eo.geocode()
    lat, lon = computed(ds)
    assert pixel_error(lat, lon, *centres(), truth=lambda a, b: swath(a, b, lon0=17)).max() < 0.01
    assert "UTM zone 33N" in ds["latitude"].attrs["geocoding"]
    with pytest.raises(GeocodeError, match=r"not latitudes.*gcp_crs="):
        ds.eo.geocode(gcp_crs="EPSG:4326")  # UTM metres read as degrees


def test_irregular_gcps_get_a_thin_plate_spline():
    rng = np.random.default_rng(1)
    lines = np.r_[rng.uniform(0, SHAPE[0], 150), 0, 0, SHAPE[0], SHAPE[0]]
    pixels = np.r_[rng.uniform(0, SHAPE[1], 150), 0, SHAPE[1], 0, SHAPE[1]]
    ds = gcp_image(ground_control_points(lines, pixels)).eo.geocode()
    assert "thin-plate spline over a cubic trend" in ds["latitude"].attrs["geocoding"]
    errors_px = pixel_error(*computed(ds), *centres())
    assert errors_px.max() < 0.1 and np.sqrt(np.mean(errors_px**2)) < 0.01
    geo = geolocation(gcp_image(ground_control_points(lines, pixels)))
    lat, lon = geo(lines, pixels)  # exact at the GCPs
    np.testing.assert_allclose(np.c_[lat, lon], np.c_[swath(lines, pixels)], atol=1e-9)


def test_tps_on_a_lattice_when_asked():
    ds = gcp_image(ground_control_points(*lattice())).eo.geocode(method="tps")
    assert "thin-plate" in ds["latitude"].attrs["geocoding"]
    assert pixel_error(*computed(ds), *centres()).max() < 0.1


def test_four_corners_pin_the_outer_corners_and_pixel_centres_are_bilinear():
    corners = [(10.0, 40.0), (12.0, 40.5), (12.5, 42.0), (9.5, 41.6)]  # LL, LR, UR, UL
    image = xr.Dataset({"image": (("band", "y", "x"), np.zeros((3, *SHAPE), "uint8"))})
    ds = image.eo.geocode(gcps=corners)
    lat, lon = computed(ds)
    expected_lon, expected_lat = pixel_lonlat(tuple(corners), SHAPE)  # the picture reader's
    np.testing.assert_allclose(lat, expected_lat, atol=1e-12)
    np.testing.assert_allclose(lon, expected_lon, atol=1e-12)
    geo = geolocation(image, corners)
    height, width = SHAPE
    at = [(height, 0), (height, width), (0, width), (0, 0)]  # outer corners, spec order
    for (line, pixel), (c_lon, c_lat) in zip(at, corners, strict=True):
        lat_at, lon_at = geo(line, pixel)
        assert float(lat_at) == pytest.approx(c_lat, abs=1e-12)
        assert float(lon_at) == pytest.approx(c_lon, abs=1e-12)
    assert ds["latitude"].attrs["geocoding"].startswith("bilinear spline")
    assert "on a 2 x 2 GCP lattice" in ds["latitude"].attrs["geocoding"]


def test_a_quad_across_the_antimeridian():
    corners = [(179.0, -10.0), (-179.0, -10.0), (-179.0, -8.0), (179.0, -8.0)]
    lon = xr.Dataset({"v": (("y", "x"), np.zeros((20, 30)))}).eo.geocode(gcps=corners)
    lon = lon["longitude"].values
    assert lon.min() >= -180 and lon.max() < 180
    unwrapped = np.where(lon < 0, lon + 360, lon)
    np.testing.assert_allclose(np.diff(unwrapped, axis=1), 2.0 / 30)  # continuous over 180


@pytest.mark.parametrize("quad", OVERLAY_QUADS)
def test_overlay_kml_quads(quad, tmp_path):
    kml = tmp_path / "map-overlay.kml"
    kml.write_text(overlay_kml(OVERLAY_QUADS[quad]))
    footprint = xr.open_dataset(kml, engine="stacasset")
    image = xr.Dataset({"image": (("y", "x"), np.zeros((51, 52), "uint8"))})
    lat, lon = computed(image.eo.geocode(gcps=footprint))
    corners = tuple(zip(footprint["longitude"].values, footprint["latitude"].values, strict=True))
    assert sorted(corners) == sorted(OVERLAY_QUADS[quad])  # the reader's order, the same corners
    expected_lon, expected_lat = pixel_lonlat(corners, (51, 52))
    np.testing.assert_allclose(lat, expected_lat, atol=1e-9)
    np.testing.assert_allclose(lon, expected_lon, atol=1e-9)


def test_a_picture_georeferenced_from_kml_is_geocoded_from_its_own_quad(tmp_path):
    png, kml = write_preview(tmp_path / "preview", OVERLAY_QUADS["polar"])
    picture = xr.open_dataset(png, engine="stacasset", kml=str(kml))
    eager_lat, eager_lon = picture["latitude"].values, picture["longitude"].values
    lat, lon = computed(picture.eo.geocode())
    np.testing.assert_allclose(lat, eager_lat, atol=1e-9)
    np.testing.assert_allclose(lon, eager_lon, atol=1e-9)


def test_a_polygon_footprint_does_not_pin_corners(tmp_path):
    kml = tmp_path / "polygon.kml"
    kml.write_text(
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon><outerBoundaryIs>'
        "<LinearRing><coordinates>0,0 1,0 1,1 0,1 0,0</coordinates></LinearRing>"
        "</outerBoundaryIs></Polygon></Placemark></kml>"
    )
    image = xr.Dataset({"v": (("y", "x"), np.zeros((5, 5)))})
    with pytest.raises(GeocodeError, match="Polygon footprint"):
        image.eo.geocode(gcps=xr.open_dataset(kml, engine="stacasset"))


def test_nothing_is_computed_until_asked(gcp_geotiff):
    ds = xr.open_dataset(gcp_geotiff, engine="stacasset", chunks={})
    with NoCompute():
        out = ds.eo.geocode()
        assert dask.is_dask_collection(out["latitude"]) and dask.is_dask_collection(
            out["longitude"]
        )
        tiles = ((256, 256, 89), (256, 256, 256, 233))
        assert out["latitude"].chunks == ds["band_data"].chunks == tiles
        assert out["longitude"][:5, :5].shape == (5, 5)
    assert np.isfinite(out["latitude"][:5, :5].values).all()  # and it does compute, outside
    shipped = pickle.loads(pickle.dumps(out["longitude"][:5, :5].data))  # as to dask workers
    np.testing.assert_array_equal(shipped.compute(), out["longitude"][:5, :5].values)
    plain = xr.open_dataset(gcp_geotiff, engine="stacasset")  # not dask: nothing read, tile chunks
    out = plain.eo.geocode(chunks={"y": 100})
    assert not out["band_data"].variable._in_memory
    assert out["latitude"].chunks[0][:2] == (100, 100) and out["latitude"].chunks[1][0] == 256
    assert out["spatial_ref"].attrs["gcps"] == plain["spatial_ref"].attrs["gcps"]


def test_a_gcp_geotiff_geocodes_through_its_gcps_to_the_ground_they_sample(gcp_geotiff):
    ds = xr.open_dataset(gcp_geotiff, engine="stacasset")
    geo = geolocation(ds)
    rio = ds.rio.get_gcps()
    np.testing.assert_array_equal(geo.gcps.line, [g.row for g in rio])
    np.testing.assert_array_equal(geo.gcps.lon, [g.x for g in rio])
    lat, lon = geo(geo.gcps.line, geo.gcps.pixel)  # the surface passes through every GCP
    np.testing.assert_allclose(lat, geo.gcps.lat, atol=1e-9)
    np.testing.assert_allclose(lon, geo.gcps.lon, atol=1e-9)
    out = ds["band_data"].eo.geocode()  # a DataArray keeps its GCPs on spatial_ref too
    assert out["latitude"].shape == GCP_TIFF_SHAPE
    # the GCPs sample a quadratic ground: the bicubic lattice spline gives it back everywhere
    rows, cols = centres(GCP_TIFF_SHAPE)
    truth_lon, truth_lat = swath_lonlat(rows, cols, GCP_TIFF_SHAPE)
    np.testing.assert_allclose(out["latitude"].values, truth_lat, atol=1e-9)
    np.testing.assert_allclose(out["longitude"].values, truth_lon, atol=1e-9)


def test_overview_reads_geocode_like_the_full_image_scaled(gcp_geotiff):
    full = geolocation(xr.open_dataset(gcp_geotiff, engine="stacasset"))
    overview = xr.open_dataset(gcp_geotiff, engine="stacasset", overview_level=1)
    lat, lon = computed(overview.eo.geocode())
    assert lat.shape == (151, 251)  # GDAL rounds up: the scale is not quite the factor 4
    scale = (GCP_TIFF_SHAPE[0] / 151, GCP_TIFF_SHAPE[1] / 251)
    rows, cols = centres(lat.shape)
    expected_lat, expected_lon = full(rows * scale[0], cols * scale[1])
    np.testing.assert_allclose(lat, expected_lat, atol=1e-9)
    np.testing.assert_allclose(lon, expected_lon, atol=1e-9)


#: An EOPF Sentinel-1 GRD polarisation's layout: ``conditions/gcp`` holds 1-D GCP arrays along a
#: dimension also named ``azimuth_time`` (one entry per GCP, not per image line).
POL = "S01SIWGRD_20250101T000000_0025_A000_0000_000000_VV"


@pytest.fixture(scope="module")
def eopf_s1():
    """An EOPF S1 GRD-shaped polarisation node with analytic GCPs at sample indices."""
    shape = (1200, 1700)
    lines, pixels = (np.round(a) for a in lattice((shape[0] - 1, shape[1] - 1), (10, 21)))
    lat, lon = swath(lines, pixels, shape)  # at sample indices, as Sentinel-1 gives them
    dims = ("azimuth_time", "ground_range")
    gcp = {
        "line": lines.ravel().astype("uint32"),
        "pixel": pixels.ravel().astype("uint32"),
        "latitude": lat.ravel(),
        "longitude": lon.ravel(),
        "height": np.zeros(lat.size),
    }
    tree = xr.DataTree.from_dict(
        {
            f"{POL}/measurements": xr.Dataset(
                {"grd": (dims, dask.array.zeros(shape, "uint16", chunks=(400, shape[1])))}
            ),
            f"{POL}/conditions/gcp": xr.Dataset(
                {name: ("azimuth_time", values) for name, values in gcp.items()}
            ),
        }
    )
    return tree[POL], shape


def test_eopf_conditions_gcp_places_gcps_on_the_elements_they_name(eopf_s1):
    node, shape = eopf_s1
    measurements = node["measurements"].to_dataset()
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
    truth = swath(np.arange(line - 1, line + 2)[:, None], np.arange(pixel - 1, pixel + 2), shape)
    np.testing.assert_allclose(window["latitude"].values, truth[0], atol=1e-9)  # not shifted
    same = measurements.eo.geocode(gcps=node, chunks=small)  # conditions/gcp found below
    assert same["latitude"][line, pixel].values == window["latitude"].values[1, 1]


def test_eopf_gcp_arrays_on_azimuth_time_by_ground_range():
    lines, pixels = np.arange(0, 300, 30), np.arange(0, 400, 40)
    lat, lon = swath(lines[:, None] + 0.0, pixels[None, :] + 0.0)
    dims = ("azimuth_time", "ground_range")
    gcp = xr.Dataset(
        {"latitude": (dims, lat), "longitude": (dims, lon), "height": (dims, np.zeros_like(lat))},
        coords={"line": ("azimuth_time", lines), "pixel": ("ground_range", pixels)},
    )
    image = xr.Dataset({"grd": (dims, np.zeros(SHAPE, "uint16"))})
    out = image.eo.geocode(gcps=gcp)
    assert out["latitude"][30, 40].values == pytest.approx(lat[1, 1], abs=1e-12)
    assert out["longitude"][270, 360].values == pytest.approx(lon[-1, -1], abs=1e-12)


def test_no_gcps_says_where_it_looked():
    with pytest.raises(NoGcpsError, match=r"'gcps' attribute.*spatial_ref.*gcps=") as info:
        xr.Dataset({"v": (("y", "x"), np.zeros((4, 4)))}).eo.geocode()
    assert isinstance(info.value, errors.XStacError) and isinstance(info.value, ValueError)
    with pytest.raises(NoGcpsError, match="expected latitude, longitude, line and pixel"):
        xr.Dataset({"v": (("y", "x"), np.zeros((4, 4)))}).eo.geocode(
            gcps=xr.Dataset({"lat": ("n", [1.0])})
        )


def test_too_few_gcps():
    lines, pixels = lattice(count=(3, 3))
    with pytest.warns(GeocodeWarning, match=r"3 x 3 .*biquadratic"):
        ds = gcp_image(ground_control_points(lines, pixels)).eo.geocode()
    assert "biquadratic" in ds["latitude"].attrs["geocoding"]
    with pytest.warns(GeocodeWarning, match="bilinear"):
        gcp_image(ground_control_points(*lattice(count=(2, 2)))).eo.geocode()
    two = ground_control_points(np.array([0.0, 300.0]), np.array([0.0, 400.0]))
    with pytest.raises(TooFewGcpsError, match="2 distinct"):
        gcp_image(two).eo.geocode()
    on_a_line = ground_control_points(np.zeros(5), np.linspace(0, 400, 5))
    with pytest.raises(TooFewGcpsError, match="one line"):
        gcp_image(on_a_line).eo.geocode()
    with pytest.raises(GeocodeError, match="method="):
        gcp_image(ground_control_points(*lattice())).eo.geocode(method="cubic")


def test_a_geocoded_image_grids_with_eo_grid():
    rows, cols = centres()
    ds = gcp_image(ground_control_points(*lattice()))
    ds["band_data"] = (("y", "x"), swath(rows, cols)[0])  # each pixel holds its true latitude
    gridded = ds.eo.geocode().eo.grid(resolution=0.02)
    covered = gridded["coverage"].values
    cell_lat = np.broadcast_to(gridded["y"].values[:, None], covered.shape)
    assert covered.mean() > 0.3
    step = 2.0 / SHAPE[0]  # the swath's latitude change per line, about
    error = np.abs(gridded["band_data"].values[covered] - cell_lat[covered])
    assert error.max() < 0.02 * step
